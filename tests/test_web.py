"""The web chat served on loopback, called over HTTP through its public API; its rendering, exports and feedback store."""

import csv
import io
import re

import pytest
from conftest import make_settings
from gradio_client import Client
from llm_standin import StandInChatServer
from serving import served

from assistant.answer import Answer, Citation
from assistant.feedback import FeedbackStore
from web.render import conversation_markdown, render_answer, surrounding_text
from web.server import create_server
from web.ui import message_text

PLANTED = "<script>alert(1)</script><img src=x onerror=alert(2)>"


@pytest.fixture(scope="module")
def served_chat(sample_service, tmp_path_factory):
    settings = make_settings(tmp_path_factory.mktemp("web-unused"), admin_password="管理员口令")
    with served(create_server(sample_service, settings)) as url:
        yield url + "/"


def hubei_id(service) -> str:
    return next(d["doc_id"] for d in service.documents() if d["title"].startswith("中共湖北省委关于"))


def test_chat_answers_with_the_quote_and_citations_its_markers_link_to(served_chat):
    client = Client(served_chat, verbose=False)
    cleared, history = client.predict("先行先试中出现的失误能否免责？", [], api_name="/ask")
    assert cleared == ""
    assert [m["role"] for m in history] == ["user", "assistant"]
    reply = message_text(history[-1])
    assert "因缺乏经验、先行先试出现的失误" in reply
    assert 'href="#cite-0-1"' in reply and '<details id="cite-0-1"' in reply
    assert "健全完善容错免责机制" in reply and "<mark>" in reply
    assert "阅读原文上下文" in reply and "严肃整治干部不担当不作为" in reply  # the document around the passage


def test_a_lone_surrogate_typed_into_the_chat_is_dropped_and_the_question_answered(served_chat):
    import json

    import httpx

    # sent as a browser sends it: JSON with the surrogate escaped (gradio_client cannot encode one at all)
    body = '{"data": ["\\ud800先行先试中出现的失误能否免责？", [], [], null]}'.encode()
    started = httpx.post(served_chat + "gradio_api/call/ask", content=body, headers={"Content-Type": "application/json"})
    assert started.status_code == 200, started.text
    events = httpx.get(served_chat + f"gradio_api/call/ask/{started.json()['event_id']}", timeout=120).text
    assert "event: error" not in events, events[-500:]
    history = json.loads([line for line in events.splitlines() if line.startswith("data: ")][-1][len("data: "):])[1]
    assert "因缺乏经验、先行先试出现的失误" in message_text(history[-1])


def test_a_ten_megabyte_question_from_the_page_is_refused_before_it_is_read(served_chat):
    import httpx

    body = ('{"data": ["' + "问" * ((10 << 20) // 3) + '", [], [], null]}').encode()
    refused = httpx.post(served_chat + "gradio_api/call/ask", content=body, headers={"Content-Type": "application/json"})
    assert refused.status_code == 413 and "请求体过大：上限 2 MB" in refused.json()["detail"]


def test_a_question_over_the_length_limit_is_refused_in_the_chat_without_echoing_it(served_chat):
    client = Client(served_chat, verbose=False)
    long = "先行先试中出现的失误能否免责？" * 200
    _, history = client.predict(long, [], api_name="/ask")
    assert "问题过长（3000 字）" in message_text(history[-1]) and "2000 字以内" in message_text(history[-1])
    assert len(message_text(history[0])) < 300 and "共 3000 字" in message_text(history[0])


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
    assert 'href="#cite-1-1"' in message_text(history[-1])  # the second turn's citations have ids of their own


def test_the_document_filter_limits_the_search_to_the_chosen_documents(served_chat, sample_service):
    client = Client(served_chat, verbose=False)
    others = [d["doc_id"] for d in sample_service.documents() if d["doc_id"] != hubei_id(sample_service)]
    _, everywhere = client.predict("先行先试中出现的失误能否免责？", [], [], api_name="/ask")
    _, elsewhere = client.predict("先行先试中出现的失误能否免责？", [], others, api_name="/ask")
    assert "引用出处" in message_text(everywhere[-1])
    assert "因缺乏经验、先行先试出现的失误" not in message_text(elsewhere[-1])


def test_knowledge_base_actions_are_not_reachable_through_the_api(served_chat):
    endpoints = Client(served_chat, verbose=False).view_api(print_info=False, return_format="dict")
    assert set(endpoints["named_endpoints"]) == {"/ask", "/course"}, "asking and course material only: no admin action"
    assert endpoints["unnamed_endpoints"] == {}


def test_a_model_answer_streams_into_the_chat_then_ends_checked_and_cited(tmp_path):
    from assistant import create_service

    standin = StandInChatServer().start()
    standin.replies.append("可以。依据规定，「因缺乏经验、先行先试出现的失误」[1]可以不予追责，「所有失误一律免于处分」[1]。")
    settings = make_settings(tmp_path / "store", llm_base_url=standin.base_url, llm_model="qwen-standin", llm_timeout=5)
    service = create_service(settings)
    service.ensure_sample()
    try:
        with served(create_server(service, settings)) as url:
            job = Client(url + "/", verbose=False).submit("先行先试中出现的失误能否免责？", [], api_name="/ask")
            job.result()
            replies = [message_text(history[-1]) for _, history in job.outputs() if len(history) == 2]
    finally:
        standin.stop()
    growing, final = replies[:-1], replies[-1]
    assert len(growing) >= 3 and all(r.endswith("▌") for r in growing)
    assert "所有失误一律免于处分" in growing[-1], "the model's raw text is shown as it arrives"
    body, _, rest = final.partition("<br><small>⚠️")
    assert "所有失误一律免于处分" not in body and 'href="#cite-0-1"' in body, "then the checked, cited answer"
    assert rest.startswith(" 已删除") and "所有失误一律免于处分" in rest, "the removed quote is named under it"


def test_document_and_question_text_are_rendered_escaped():
    citation = Citation(
        n=1, passage_id="p", doc_id="d", title=PLANTED, section=PLANTED, text=PLANTED, start=0, end=len(PLANTED),
        source="x.txt", quotes=(PLANTED,),
    )
    page = render_answer(Answer(question=PLANTED, text=f"「{PLANTED}」[1]", refused=False, citations=(citation,)),
                         texts={"d": f"前文{PLANTED}后文"})
    assert "<script>" not in page and "<img" not in page
    assert "&#60;script&#62;" in page and "前文" in page


def test_the_surrounding_text_marks_the_passage_where_its_offsets_point():
    document = "第一条 总则。\n第二条 对先行先试出现的失误，可以免责。\n第三条 附则。"
    start = document.index("第二条")
    end = document.index("第三条") - 1
    citation = Citation(n=1, passage_id="p", doc_id="d", title="t", section="", text=document[start:end],
                        start=start, end=end, source="x.txt")
    assert surrounding_text(document, citation, radius=5) == "…… 总则。<br><mark>第二条 对先行先试出现的失误，可以免责。</mark><br>第三条 ……"


def test_the_markdown_export_holds_each_question_answer_and_citation(sample_service):
    answer = sample_service.ask("先行先试中出现的失误能否免责？")
    text = conversation_markdown([("先行先试中出现的失误能否免责？", answer), ("？", "⚠️ 问题不能为空")])
    assert "## 问题 1：先行先试中出现的失误能否免责？" in text
    assert answer.text in text
    assert "[1] 《中共湖北省委关于进一步激励干部" in text and "健全完善容错免责机制" in text
    assert "> 建立重点领域免责减责事项清单" in text
    assert "## 问题 2：？" in text and "⚠️ 问题不能为空" in text


def test_markdown_in_a_document_is_exported_as_text_not_as_an_image_or_link():
    planted = "每日记录两次![图](http://127.0.0.1:1/x.png)，[点我](javascript:alert(1))，**粗体**"
    citation = Citation(n=1, passage_id="p", doc_id="d", title="档案通知", section="", text=planted, start=0,
                        end=len(planted), source="x.txt", quotes=(planted,))
    answer = Answer(question="几次？", text=f"「{planted}」[1]", refused=False, citations=(citation,))
    exported = conversation_markdown([("几次？", answer)])
    assert not re.search(r"(?<!\\)\]\(", exported), "no unescaped ]( starts a link or an image"
    assert not re.search(r"(?<!\\)\*\*粗体", exported), "no unescaped ** makes bold"
    assert r"!\[图\](http://127.0.0.1:1/x.png)" in exported and "[1]" in exported


def test_feedback_is_stored_with_its_reason_and_exported_as_csv(fresh_service):
    store = fresh_service.feedback()
    liked = store.add("up", "问题一", "回答一")
    disliked = store.add("down", "先行先试中出现的失误能否免责？", "可以。", citations="[1] 某文件", user="张三")
    store.set_reason(disliked, "引用不对；补充")
    entries = FeedbackStore(store.path).list()
    assert [(e["id"], e["rating"], e["reason"], e["user"]) for e in entries] == [
        (disliked, "down", "引用不对；补充", "张三"), (liked, "up", "", "")
    ]
    rows = list(csv.DictReader(io.StringIO(store.export_csv())))
    assert [r["question"] for r in rows] == ["问题一", "先行先试中出现的失误能否免责？"]
    assert rows[1]["reason"] == "引用不对；补充" and rows[1]["citations"] == "[1] 某文件"
    with pytest.raises(ValueError):
        store.add("meh", "q", "a")
