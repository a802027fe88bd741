"""The Gradio web chat: layout and events, each handler a call into the assistant service."""

import html
from collections.abc import Iterator

import gradio as gr

from assistant import Answer, AssistantService, QuestionError
from web.render import render_answer

EXAMPLE_QUESTIONS = (
    "先行先试中出现的失误能否免责？",
    "对受处理处分影响期满的干部如何使用？",
    "不担当不作为的干部会怎样被调整？",
    "表现突出的乡镇党政正职可以直接提任什么职务？",
)
PAGE_CSS = """
.gradio-container { max-width: 1100px !important; margin: auto; }
.message mark { background: #fff3b0; padding: 0 2px; }
.message details { margin: 6px 0; border-left: 3px solid #c0392b; padding-left: 8px; }
.message blockquote { margin: 4px 0; }
"""


def message_text(message: dict) -> str:
    """The plain text of a chat message, whether its content is a string or a list of parts."""
    content = message.get("content", "")
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if isinstance(part, dict))


def answer_messages(service: AssistantService, question: str, earlier: list[dict]) -> Iterator[str]:
    """The assistant's chat message for one question as it grows: a model's raw text, then the checked answer."""
    turns = [{"role": m.get("role"), "content": message_text(m)} for m in earlier]
    try:
        for piece in service.ask_stream(question, history=turns):
            yield render_answer(piece) if isinstance(piece, Answer) else html.escape(piece).replace("\n", "<br>") + " ▌"
    except QuestionError as error:
        yield f"⚠️ {error}"


def respond(service: AssistantService, question: str, history: list[dict]) -> Iterator[tuple[str, list[dict]]]:
    """Append the question and its streamed, then cited, answer to the chat; earlier turns inform follow-ups."""
    earlier = list(history or [])
    if not (question or "").strip():
        yield "", earlier
        return
    for reply in answer_messages(service, question, earlier):
        yield "", earlier + [{"role": "user", "content": question}, {"role": "assistant", "content": reply}]


def build_layout() -> dict:
    """The page's components (inside an open gr.Blocks)."""
    gr.Markdown("## PolicyQA 政策问答助手\n依据知识库中的政策文件作答，逐句标注出处；文件中没有的内容会如实说明。")
    chatbot = gr.Chatbot(
        label="对话",
        height=680,
        placeholder="请输入关于政策文件的问题，例如：先行先试中出现的失误能否免责？",
        examples=[{"text": q} for q in EXAMPLE_QUESTIONS],
        sanitize_html=True,
        elem_id="chat",
    )
    with gr.Row():
        question = gr.Textbox(
            placeholder="输入问题，按回车发送", show_label=False, scale=8, elem_id="question", max_lines=4
        )
        send = gr.Button("发送", variant="primary", scale=1, elem_id="send")
        clear = gr.Button("清空对话", scale=1, elem_id="clear")
    return {"chatbot": chatbot, "question": question, "send": send, "clear": clear}


def wire_events(service: AssistantService, parts: dict) -> None:
    """Connect the page's events to the service."""
    chatbot, question = parts["chatbot"], parts["question"]

    def on_submit(text, history):
        yield from respond(service, text, history)

    def on_example(history, event: gr.SelectData):
        yield from respond(service, event.value["text"], history)

    question.submit(on_submit, [question, chatbot], [question, chatbot], api_name="ask")
    parts["send"].click(on_submit, [question, chatbot], [question, chatbot], api_visibility="private")
    chatbot.example_select(on_example, [chatbot], [question, chatbot], api_visibility="private")
    parts["clear"].click(lambda: ("", []), None, [question, chatbot], api_visibility="private")


def build_demo(service: AssistantService, settings=None) -> gr.Blocks:
    """The whole web chat over one assistant service (`settings` for the admin tab and limits, when given)."""
    with gr.Blocks(title="PolicyQA 政策问答助手") as demo:
        wire_events(service, build_layout())
    return demo


def launch_options() -> dict:
    """Options for `demo.launch` that belong to the page's look."""
    return {"css": PAGE_CSS, "theme": gr.themes.Soft(), "footer_links": ["api"]}
