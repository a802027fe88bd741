"""The web chat served on loopback, called over HTTP through its public API, and its escaping."""

import pytest
from gradio_client import Client

from assistant.answer import Answer, Citation
from conftest import free_port
from web.render import render_answer
from web.ui import build_demo, launch_options, message_text


@pytest.fixture(scope="module")
def served_chat(sample_service):
    demo = build_demo(sample_service)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **launch_options())
    yield f"http://127.0.0.1:{port}/"
    demo.close()


def test_chat_answers_with_the_quote_and_expandable_citations(served_chat):
    client = Client(served_chat, verbose=False)
    cleared, history = client.predict("先行先试中出现的失误能否免责？", [], api_name="/ask")
    assert cleared == ""
    assert [m["role"] for m in history] == ["user", "assistant"]
    reply = message_text(history[-1])
    assert "因缺乏经验、先行先试出现的失误" in reply
    assert "<details" in reply and "健全完善容错免责机制" in reply
    assert "<mark>" in reply


def test_chat_declines_plainly_and_marks_nearest_passages_as_only_possibly_related(served_chat):
    client = Client(served_chat, verbose=False)
    _, history = client.predict("公务员的基本工资标准是多少？", [], api_name="/ask")
    reply = message_text(history[-1])
    assert reply.startswith("所提供的政策文件中未找到相关规定")
    assert "可能相关" in reply and "引用出处" not in reply


def test_a_follow_up_in_the_chat_uses_the_conversation(served_chat):
    client = Client(served_chat, verbose=False)
    _, history = client.predict("先行先试中出现的失误能否免责？", [], api_name="/ask")
    _, history = client.predict("那受处分影响期满的干部呢？", history, api_name="/ask")
    assert len(history) == 4
    assert "受处理处分影响期满的干部" in message_text(history[-1])


def test_document_and_question_text_are_rendered_escaped():
    planted = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    citation = Citation(
        n=1, passage_id="p", doc_id="d", title=planted, section=planted, text=planted, start=0, end=len(planted),
        source="x.txt", quotes=(planted,),
    )
    html = render_answer(Answer(question=planted, text=f"「{planted}」[1]", refused=False, citations=(citation,)))
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html
