"""The knowledge-base tab's form for curated answers (标准问答): add one, see which need review, remove one."""

import html

import gradio as gr

from assistant import AssistantService

FAQ_COLUMNS = ("编号", "标准问题", "标准答案", "引用", "状态")


def faq_rows(service: AssistantService) -> list[list]:
    """The curated answers as table rows, those needing review marked with why."""
    return [
        [e["id"], e["question"], e["answer"], "；".join(f"《{c['title']}》" for c in e["citations"]) or "（无引用）",
         f"待复核：{e['review_reason']}" if e["needs_review"] else "使用中"]
        for e in service.curated.entries()
    ]


def faq_choices(service: AssistantService) -> list[tuple[str, int]]:
    """The curated answers as (label, id) choices for removal."""
    return [(f"{e['id']}：{e['question']}", e["id"]) for e in service.curated.entries()]


def build_faq_form() -> dict:
    """The form's components (inside the unlocked admin column)."""
    gr.Markdown("### 标准问答\n意思相同的提问将直接给出这里的标准答案；「」内的文字须逐字摘自已收录的文件，并作为引用链接到原文。")
    with gr.Row():
        question = gr.Textbox(label="标准问题", min_width=200, elem_id="faq-question")
        answer = gr.Textbox(label="标准答案", lines=3, min_width=300, elem_id="faq-answer")
    save = gr.Button("保存标准问答", elem_id="faq-save")
    status = gr.Markdown(elem_id="faq-status")
    table = gr.Dataframe(headers=list(FAQ_COLUMNS), interactive=False, wrap=True, elem_id="faq-table")
    with gr.Row():
        doomed = gr.Dropdown(label="选择标准问答", choices=[], scale=4, min_width=200, elem_id="faq-remove-choice")
        remove = gr.Button("删除所选", variant="stop", scale=1, min_width=100, elem_id="faq-remove")
    return {"faq_question": question, "faq_answer": answer, "faq_save": save, "faq_status": status, "faq_table": table,
            "faq_doomed": doomed, "faq_remove": remove}


def faq_listing(service: AssistantService) -> tuple:
    """The table and the removal choices, as they stand."""
    return faq_rows(service), gr.Dropdown(choices=faq_choices(service), value=None)


def wire_faq_form(service: AssistantService, admin: dict) -> None:
    """Save and remove curated answers; each action checks the tab was unlocked."""
    unlocked = admin["unlocked"]

    def on_save(is_admin, question, answer):
        if not is_admin:
            return "请先解锁。", gr.skip(), gr.skip()
        try:
            entry = service.curated.add(question, answer)
        except ValueError as error:
            return f"❌ {html.escape(str(error))}", gr.skip(), gr.skip()
        cited = len(entry["citations"])
        return f"✅ 已保存标准问答 {entry['id']}（{cited} 处引用）" + ("" if cited else "；未引用原文，回答时会注明"), *faq_listing(service)

    def on_remove(is_admin, entry_id):
        if not is_admin or entry_id is None:
            return "请先解锁并选择一条标准问答。", gr.skip(), gr.skip()
        try:
            service.curated.remove(int(entry_id))
        except KeyError:
            return "该标准问答已不存在。", *faq_listing(service)
        return f"已删除标准问答 {entry_id}", *faq_listing(service)

    outputs = [admin["faq_status"], admin["faq_table"], admin["faq_doomed"]]
    admin["faq_save"].click(on_save, [unlocked, admin["faq_question"], admin["faq_answer"]], outputs, api_visibility="private")
    admin["faq_remove"].click(on_remove, [unlocked, admin["faq_doomed"]], outputs, api_visibility="private")
