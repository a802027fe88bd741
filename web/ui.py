"""The Gradio web chat: layout and events, each handler a call into the assistant service."""

import hmac
import html
import logging
import tempfile
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import gradio as gr

from assistant import Answer, AssistantService, QuestionError, Reply
from assistant.questions import MAX_QUESTION_CHARS, printable
from ingest import IngestError
from ingest.lifecycle import STATUSES
from ingest.loaders import DOCUMENT_SUFFIXES
from ingest.ocr import reporting_pages
from vectorstore.chroma import StoreError
from web.course_tab import add_course_tab
from web.dashboard import build_audit_panel, wire_audit_panel
from web.faq_form import build_faq_form, faq_listing, wire_faq_form
from web.guard import FailedAttempts
from web.history import build_history, build_suggestions, conversation_turns, saved_turn, wire_history
from web.history import cited_texts_of as cited_texts
from web.page_links import PageLinks
from web.render import conversation_markdown, escaped_lines, render_answer, render_evidence

log = logging.getLogger(__name__)

# Files uploaded through the page and never ingested are deleted after an hour (checked every ten minutes).
UPLOAD_CACHE = (600, 3600)
EXAMPLE_QUESTIONS = (
    "先行先试中出现的失误能否免责？",
    "对受处理处分影响期满的干部如何使用？",
    "不担当不作为的干部会怎样被调整？",
    "表现突出的乡镇党政正职可以直接提任什么职务？",
)
FEEDBACK_REASONS = ("引用不对", "答非所问", "内容不完整", "政策已过时", "其他")
DOCUMENT_COLUMNS = ("标题", "文档 ID", "段落数", "效力", "发文机关", "日期", "施行日期", "有效期至", "文号", "来源文件")
LIFECYCLE_INPUTS = ("effective_date", "expiry_date", "status", "repeals", "amends")
FEEDBACK_COLUMNS = ("时间", "用户", "评价", "原因", "问题", "回答")
PAGE_CSS = """
.gradio-container { max-width: 1280px !important; margin: auto; }
#chat mark, .evidence mark { background: #fff3b0; padding: 0 2px; }
#chat details.citation { margin: 6px 0; border-left: 3px solid #c0392b; padding-left: 8px; }
#chat details.citation.cite-focus { outline: 2px solid #e67e22; outline-offset: 2px; }
#chat details details { margin: 4px 0 4px 8px; }
#chat blockquote { margin: 4px 0; }
#chat a.cite-ref { text-decoration: none; font-weight: 600; cursor: pointer; }
.evidence { font-size: 0.85em; max-height: 560px; overflow-y: auto; }
.evidence-item { border-bottom: 1px solid #e5e7eb; padding: 6px 2px; }
@media (max-width: 640px) {
  .gradio-container { padding: 4px !important; }
  #chat { height: 70vh !important; }
}
"""
# Chat messages are sanitized HTML without scripts of their own: one listener on the page opens the
# citation a [n] link points to (Gradio would otherwise open the link in a new tab).
CITATION_SCRIPT = """
<script>
document.addEventListener("click", (event) => {
  const link = event.target.closest && event.target.closest("a.cite-ref, a[href^='#cite-']");
  if (!link) return;
  const target = document.getElementById(link.getAttribute("href").slice(1));
  if (!target) return;
  event.preventDefault();
  event.stopPropagation();
  target.open = true;
  target.classList.add("cite-focus");
  target.scrollIntoView({block: "center"});
  setTimeout(() => target.classList.remove("cite-focus"), 2500);
}, true);
</script>
"""


def message_text(message: dict) -> str:
    """The plain text of a chat message, whether its content is a string or a list of parts."""
    content = message.get("content", "")
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if isinstance(part, dict))


def answer_of(outcome: Reply | str) -> Answer | str:
    """What a turn's outcome says: the Answer of a Reply, else the notice shown instead."""
    return outcome.answer if isinstance(outcome, Reply) else outcome


def chosen_day(value) -> date | None:
    """The day picked on the page (None: today); QuestionError when it is not a date."""
    if value is None or not str(value).strip():
        return None
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise QuestionError(f"日期应写成 YYYY-MM-DD，如 2021-05-01（收到：{value}）") from None


def answer_messages(
    service: AssistantService, question: str, turns: list, doc_ids: list[str] | None = None, as_of=None
) -> Iterator[tuple[str, Reply | str]]:
    """The assistant's message as it grows (a model's raw text, then the checked answer), with what it stands for."""
    turn, links = len(turns), PageLinks.of(service.settings.data_dir)
    try:
        day = chosen_day(as_of)
        for piece in service.ask_stream(question, doc_ids=doc_ids or None, history=conversation_turns(turns), as_of=day):
            if isinstance(piece, Reply):
                yield render_answer(piece.answer, turn, cited_texts(service, piece.answer), links.url), piece
            else:
                yield escaped_lines(piece) + " ▌", piece
    except QuestionError as error:
        yield f"⚠️ {html.escape(str(error))}", f"⚠️ {error}"


def echoed(question: str) -> str:
    """The question as the chat shows it: escaped, and only its start when it is over the length the service takes."""
    if len(question) <= MAX_QUESTION_CHARS:
        return html.escape(question)
    return html.escape(question[:200]) + f"……（共 {len(question)} 字）"


def respond(
    service: AssistantService, question: str, history: list[dict], doc_ids: list[str] | None = None, turns=None, as_of=None
) -> Iterator[tuple[str, list[dict], list]]:
    """Append the question and its streamed, then cited, answer to the chat; earlier turns inform follow-ups.

    Yields the cleared input box, the chat messages, and the conversation's (question, Reply) turns: the
    last value of a turn holds its answer and the passages retrieved for it, so nothing is retrieved again.
    """
    earlier = list(history or [])
    turns = list(turns or [])[: len(earlier) // 2]
    if not (question or "").strip():
        yield "", earlier, turns
        return
    question = printable(question)
    asked = {"role": "user", "content": echoed(question)}
    for reply, outcome in answer_messages(service, question, turns, doc_ids, as_of):
        yield "", earlier + [asked, {"role": "assistant", "content": reply}], turns + [(question, outcome)]


def document_choices(service: AssistantService) -> list[tuple[str, str]]:
    """The stored documents as (label, doc id) choices for the document filter."""
    return [(f"{d['title']}（{d['passages']} 段）", d["doc_id"]) for d in service.documents()]


def conversation_file(turns: list) -> str | None:
    """The conversation with its citations written to a Markdown file to download; None when it is empty."""
    if not turns:
        return None
    folder = Path(tempfile.mkdtemp(prefix="policyqa-export-"))
    path = folder / f"政策问答记录-{datetime.now():%Y%m%d-%H%M%S}.md"
    path.write_text(conversation_markdown([(question, answer_of(outcome)) for question, outcome in turns]), encoding="utf-8")
    return str(path)


def evidence_panel(turns: list) -> str:
    """The passages retrieved for the latest answer, with their scores (kept with the answer, not retrieved again)."""
    outcome = turns[-1][1] if turns else None
    return render_evidence(list(outcome.passages) if isinstance(outcome, Reply) else [])


def rated_turn(turns: list, index: int) -> tuple[str, str, str]:
    """The question, answer text and cited passages of the assistant message at `index`."""
    if not 0 <= index // 2 < len(turns):
        return "", "", ""
    question, outcome = turns[index // 2]
    said = answer_of(outcome)
    if isinstance(said, Answer):
        cited = "; ".join(f"[{c.n}] {c.title} {c.section}".strip() for c in said.citations)
        return question, said.text, cited
    return question, str(said), ""


def build_chat(service: AssistantService, compact: bool = False) -> dict:
    """The chat's components (inside an open gr.Blocks or gr.Tab): chat, filter, feedback, details, export."""
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=300):
            chatbot = gr.Chatbot(
                label="对话",
                show_label=False,
                height=480 if compact else 640,
                placeholder="请输入关于政策文件的问题，例如：先行先试中出现的失误能否免责？",
                examples=[{"text": q} for q in EXAMPLE_QUESTIONS],
                sanitize_html=True,
                feedback_options=("Like", "Dislike"),
                buttons=["copy"],
                elem_id="chat",
            )
            with gr.Row():
                # Closed until the page has opened the browser's saved conversation (web.history): a
                # question sent before that would have its answer wiped when the conversation arrives.
                question = gr.Textbox(
                    placeholder="输入问题，按回车发送", show_label=False, scale=8, min_width=160,
                    elem_id="question", max_lines=4, max_length=MAX_QUESTION_CHARS, interactive=False,
                )
                send = gr.Button("发送", variant="primary", scale=1, min_width=70, elem_id="send", interactive=False)
            suggestions = build_suggestions()
            with gr.Row():
                clear = gr.Button("清空对话", size="sm", min_width=100, elem_id="clear")
                export = gr.DownloadButton("导出对话（Markdown）", size="sm", min_width=140, elem_id="export")
            with gr.Group(visible=False) as reason_box:
                reason = gr.Radio(list(FEEDBACK_REASONS), label="哪里不满意？（可选）", elem_id="feedback-reason")
                note = gr.Textbox(label="补充说明（可选）", max_lines=3, elem_id="feedback-note")
                submit_reason = gr.Button("提交反馈原因", size="sm", elem_id="feedback-submit")
            feedback_status = gr.Markdown(elem_id="feedback-status")
        with gr.Column(scale=2, min_width=260):
            history = build_history(service)
            doc_filter = gr.Dropdown(
                choices=document_choices(service), value=[], multiselect=True,
                label="检索范围（不选即检索全部文件）", elem_id="doc-filter",
            )
            as_of = gr.DateTime(
                value="", include_time=False, type="string", label="按此日有效的文件作答（不选即今天）", elem_id="as-of",
            )
            with gr.Accordion("检索详情", open=not compact, elem_id="evidence-panel"):
                evidence = gr.HTML(render_evidence([]), elem_id="evidence")
    return {
        "chatbot": chatbot, "question": question, "send": send, "clear": clear, "export": export,
        "reason_box": reason_box, "reason": reason, "note": note, "submit_reason": submit_reason,
        "feedback_status": feedback_status, "doc_filter": doc_filter, "as_of": as_of, "evidence": evidence,
        "turns": gr.State([]), "feedback_id": gr.State(None), "suggestions": suggestions, **history,
    }


def recorded(steps: Iterator, done, request, record) -> Iterator:
    """Pass a turn's steps on; once it is over, record the question asked in the audit log (when there is a log)."""
    last = None
    for last in steps:
        yield last
    if record is None or last is None or len(last[2]) <= len(done or []):
        return
    question, outcome = last[2][-1]
    answer = answer_of(outcome)
    if isinstance(answer, Answer):
        cited = list(dict.fromkeys(c.doc_id for c in answer.citations))
        record(request, "ask", "refused" if answer.refused else "answered", question, cited)
    else:
        record(request, "ask", f"error: {answer}"[:200], question)


def wire_chat(service: AssistantService, parts: dict, record=None) -> None:
    """Connect the chat's events to the service; `record(request, action, outcome, question, doc_ids)` logs each ask."""
    chatbot, question, turns, doc_filter = parts["chatbot"], parts["question"], parts["turns"], parts["doc_filter"]

    def on_submit(text, history, doc_ids, done, day, request: gr.Request):
        yield from recorded(respond(service, text, history, doc_ids, done, day), done, request, record)

    def on_example(history, doc_ids, done, day, event: gr.SelectData, request: gr.Request):
        yield from recorded(respond(service, event.value["text"], history, doc_ids, done, day), done, request, record)

    def on_suggestion(suggested, history, doc_ids, done, day, request: gr.Request):
        yield from recorded(respond(service, suggested, history, doc_ids, done, day), done, request, record)

    def saved(done, kept, doc_ids, day, request: gr.Request):
        try:
            picked = chosen_day(day)
        except QuestionError:
            picked = None
        return saved_turn(service, done, kept, doc_ids, picked, request)

    def after_answer(event):
        event.then(
            lambda done: (evidence_panel(done), conversation_file(done)),
            [turns], [parts["evidence"], parts["export"]], api_visibility="private",
        ).then(
            saved, [turns, parts["kept"], doc_filter, parts["as_of"]], [parts["kept"], parts["history"], *parts["suggestions"]],
            api_visibility="private",
        )

    asking = [question, chatbot, doc_filter, turns, parts["as_of"]]
    after_answer(question.submit(on_submit, asking, [question, chatbot, turns], api_name="ask"))
    after_answer(parts["send"].click(on_submit, asking, [question, chatbot, turns], api_visibility="private"))
    after_answer(chatbot.example_select(on_example, asking[1:], [question, chatbot, turns], api_visibility="private"))
    for button in parts["suggestions"]:
        after_answer(button.click(on_suggestion, [button, *asking[1:]], [question, chatbot, turns], api_visibility="private"))
    parts["clear"].click(
        lambda: ("", [], [], render_evidence([]), None, gr.Group(visible=False), "", None),
        None,
        [question, chatbot, turns, parts["evidence"], parts["export"], parts["reason_box"], parts["feedback_status"],
         parts["feedback_id"]],
        api_visibility="private",
    )
    wire_feedback(service, parts)


def wire_feedback(service: AssistantService, parts: dict) -> None:
    """👍/👎 on an answer is stored at once; a 👎 then asks for an optional reason."""

    def on_like(done, event: gr.LikeData, request: gr.Request):
        index = event.index if isinstance(event.index, int) else event.index[0]
        if event.liked not in (True, False):
            return None, gr.Group(visible=False), ""
        question, answer, cited = rated_turn(done, index)
        user = getattr(request, "username", None) or ""
        entry = service.feedback().add("up" if event.liked else "down", question, answer, citations=cited, user=user)
        if event.liked:
            return entry, gr.Group(visible=False), "已记录 👍，感谢反馈。"
        return entry, gr.Group(visible=True), "已记录 👎，可选择原因后提交。"

    def on_reason(entry, reason, note):
        if entry is None:
            return gr.Group(visible=False), "请先点击回答下方的 👎。", None, ""
        service.feedback().set_reason(entry, "；".join(v for v in (reason, (note or "").strip()) if v))
        return gr.Group(visible=False), "已记录反馈原因，感谢帮助改进知识库。", None, ""

    parts["chatbot"].like(
        on_like, [parts["turns"]],
        [parts["feedback_id"], parts["reason_box"], parts["feedback_status"]], api_visibility="private",
    )
    parts["submit_reason"].click(
        on_reason, [parts["feedback_id"], parts["reason"], parts["note"]],
        [parts["reason_box"], parts["feedback_status"], parts["reason"], parts["note"]], api_visibility="private",
    )


def document_rows(service: AssistantService) -> list[list]:
    """The stored documents as rows of the knowledge-base table."""
    return [
        [d["title"], d["doc_id"], d["passages"], d["status_label"], d.get("issuer", ""), d.get("date", ""),
         d.get("effective_date", ""), d.get("expiry_date", ""), d.get("doc_number", ""), Path(str(d.get("source", ""))).name]
        for d in service.documents()
    ]


def feedback_rows(service: AssistantService, limit: int = 50) -> list[list]:
    """The latest feedback entries as rows of the feedback table."""
    return [
        [e["created_at"], e["user"], "👍" if e["rating"] == "up" else "👎", e["reason"], e["question"], e["answer"][:80]]
        for e in service.feedback().list(limit)
    ]


def feedback_file(service: AssistantService) -> str:
    """All feedback written to a CSV file to download (with a BOM, so Excel reads the Chinese)."""
    path = Path(tempfile.mkdtemp(prefix="policyqa-feedback-")) / f"反馈-{datetime.now():%Y%m%d-%H%M%S}.csv"
    path.write_text(service.feedback().export_csv(), encoding="utf-8-sig")
    return str(path)


def lifecycle_fields(prefix: str) -> list:
    """The inputs for a document's lifecycle (effective and expiry dates, status, repealed documents), in LIFECYCLE_INPUTS order."""
    return [
        gr.Textbox(label="施行日期", placeholder="2024-03-01", min_width=120, elem_id=f"{prefix}-effective"),
        gr.Textbox(label="有效期至", placeholder="2026-12-31", min_width=120, elem_id=f"{prefix}-expiry"),
        gr.Dropdown(
            label="效力状态", choices=[("按日期与关联计算", ""), *[(label, key) for key, label in STATUSES.items()]],
            value="", min_width=140, elem_id=f"{prefix}-status",
        ),
        gr.Textbox(label="废止的文件（文号或标题，用；分隔）", min_width=200, elem_id=f"{prefix}-repeals"),
        gr.Textbox(label="修订的文件（文号或标题，用；分隔）", min_width=200, elem_id=f"{prefix}-amends"),
    ]


def given_lifecycle_fields(values) -> dict:
    """The lifecycle inputs' values by field name (LIFECYCLE_INPUTS, then the issue date where given), blank ones left out."""
    return {name: value for name, value in zip((*LIFECYCLE_INPUTS, "date"), values) if value}


def build_admin() -> dict:
    """The knowledge-base tab's components: a password lock, then upload, document list, removal, feedback."""
    with gr.Column() as lock_box:
        password = gr.Textbox(label="管理员密码", type="password", elem_id="admin-password")
        unlock = gr.Button("解锁", elem_id="admin-unlock")
        lock_status = gr.Markdown(elem_id="admin-lock-status")
    with gr.Column(visible=False) as admin_box:
        gr.Markdown("### 上传政策文件\n支持 .txt .md .docx .pdf .html；同名文件再次上传会替换旧版本。")
        files = gr.File(
            label="选择文件", file_count="multiple", file_types=sorted(DOCUMENT_SUFFIXES),
            elem_id="admin-files",
        )
        with gr.Accordion("文件信息（可选，覆盖从正文识别的结果）", open=False), gr.Row():
            title = gr.Textbox(label="标题（仅单个文件时使用）", min_width=160)
            issuer = gr.Textbox(label="发文机关", min_width=160)
            date = gr.Textbox(label="日期", placeholder="2025-03-01", min_width=120)
            doc_number = gr.Textbox(label="文号", min_width=160)
            lifecycle = lifecycle_fields("admin-upload")
        ingest = gr.Button("导入知识库", variant="primary", elem_id="admin-ingest")
        ingest_status = gr.Markdown(elem_id="admin-ingest-status")
        gr.Markdown("### 已收录文件")
        table = gr.Dataframe(headers=list(DOCUMENT_COLUMNS), interactive=False, wrap=True, elem_id="admin-docs")
        with gr.Row():
            doomed = gr.Dropdown(label="选择文件", choices=[], scale=4, min_width=200, elem_id="admin-remove-choice")
            remove = gr.Button("删除所选文件", variant="stop", scale=1, min_width=100, elem_id="admin-remove")
        remove_status = gr.Markdown(elem_id="admin-remove-status")
        with gr.Accordion("更正所选文件的效力信息（重新导入后仍保留；留空的项不变）", open=False), gr.Row():
            issued = gr.Textbox(label="成文日期", placeholder="2024-02-01", min_width=120, elem_id="admin-correct-date")
            corrections = [*lifecycle_fields("admin-correct"), issued]
            correct = gr.Button("保存更正", min_width=100, elem_id="admin-correct")
        correct_status = gr.Markdown(elem_id="admin-correct-status")
        faq = build_faq_form()
        gr.Markdown("### 读者反馈")
        feedback_table = gr.Dataframe(headers=list(FEEDBACK_COLUMNS), interactive=False, wrap=True, elem_id="admin-feedback")
        export_feedback = gr.Button("导出全部反馈（CSV）", elem_id="admin-export-feedback")
        feedback_csv = gr.File(label="反馈 CSV", interactive=False, elem_id="admin-feedback-csv")
    return {
        "lock_box": lock_box, "password": password, "unlock": unlock, "lock_status": lock_status,
        "admin_box": admin_box, "files": files, "metadata": [title, issuer, date, doc_number, *lifecycle], "ingest": ingest,
        "corrections": corrections, "correct": correct, "correct_status": correct_status,
        "ingest_status": ingest_status, "table": table, "doomed": doomed, "remove": remove,
        "remove_status": remove_status, "feedback_table": feedback_table, "export_feedback": export_feedback,
        "feedback_csv": feedback_csv, "unlocked": gr.State(False), **faq,
    }


def ingest_uploads(service: AssistantService, paths: list[str], metadata: dict, max_mb: int, progress) -> str:
    """Ingest uploaded files one by one with progress; a Markdown summary of what happened to each."""
    lines = []
    for path in progress.tqdm(paths, desc="正在导入"):
        try:
            with reporting_pages(lambda name, done, total: progress((done, total), desc=f"{name}：文字识别第 {done}/{total} 页")):
                lines.append(ingest_one_upload(service, Path(path), metadata, max_mb))
        finally:
            Path(path).unlink(missing_ok=True)  # Gradio's copy: the store keeps its own under uploads/
    return "\n".join(lines) or "请先选择要上传的文件。"


def ingest_one_upload(service: AssistantService, path: Path, metadata: dict, max_mb: int) -> str:
    """Ingest one uploaded file; a Markdown line saying what happened to it."""
    name = path.name
    if not path.is_file():
        return f"- ❌ {name}：上传的临时文件已导入或已清理，请重新选择文件"
    size_mb = path.stat().st_size / 1024 / 1024
    if size_mb > max_mb:
        return f"- ❌ {name}：文件过大（{size_mb:.1f} MB，上限 {max_mb} MB）"
    try:
        report = service.ingest_upload(name, path.read_bytes(), metadata=metadata)
    except (IngestError, StoreError) as error:
        return f"- ❌ {name}：{error}"
    except OSError as error:
        return f"- ❌ {name}：无法保存文件（{error.strerror or error}），请检查数据目录的磁盘空间和写权限"
    outcome = f"新增 {report.passages_added} 段" if report.passages_added else "内容未变，未重复导入"
    if report.pages:
        outcome += f"，读取 {report.pages} 页（{report.pages_per_second:.2f} 页/秒）"
    return f"- ✅ {name}：{outcome}" + "".join(f"；⚠️ {e}" for e in report.errors)


def wire_admin(service: AssistantService, settings, admin: dict, chat: dict, roles: dict | None = None) -> None:
    """Connect the knowledge-base tab; every action checks the session was unlocked with the admin password, or by
    the logged-in user's role (`roles`: `demo`, `tab`, `may_manage(request)` and `record`, when users are set up)."""
    unlocked = admin["unlocked"]
    record = (roles or {}).get("record") or (lambda *_: None)
    listings = [admin["table"], admin["doomed"], chat["doc_filter"], admin["feedback_table"]]

    def refreshed(removed: bool = False):
        removable = [(f"{d['title']}（{d['doc_id']}）", d["doc_id"]) for d in service.documents()]
        chosen = {"value": []} if removed else {}  # a removed document must not stay chosen in the filter
        return (
            document_rows(service), gr.Dropdown(choices=removable, value=None),
            gr.Dropdown(choices=document_choices(service), **chosen), feedback_rows(service),
        )

    attempts = FailedAttempts()

    def on_unlock(password, request: gr.Request):
        caller = request.client.host if request and request.client else "unknown"
        locked = (False, gr.Column(visible=True), gr.Column(visible=False))
        wait = attempts.wait_for(caller)
        if wait:
            log.warning("知识库管理解锁被拒：%s 尝试过多，%d 秒后可再试", caller, wait)
            return (*locked, f"❌ 密码错误次数过多，请 {int(wait) + 1} 秒后再试", *[gr.skip()] * 4)
        if not hmac.compare_digest((password or "").encode(), settings.admin_password.encode()):
            left = attempts.failed(caller)
            log.warning("知识库管理解锁失败：来自 %s 的密码不正确（还可尝试 %d 次）", caller, left)
            return (*locked, f"❌ 密码不正确（还可尝试 {left} 次）", *[gr.skip()] * 4)
        attempts.succeeded(caller)
        return (True, gr.Column(visible=False), gr.Column(visible=True), "", *refreshed())

    def on_ingest(is_admin, paths, title, issuer, date, doc_number, request: gr.Request, *lifecycle, progress=gr.Progress()):  # noqa: B008 - how Gradio passes a progress bar
        if not is_admin:
            return ("请先解锁。", *[gr.skip()] * 5)
        metadata = {"title": title, "issuer": issuer, "date": date, "doc_number": doc_number, **given_lifecycle_fields(lifecycle)}
        before = service.store.doc_ids()
        summary = ingest_uploads(service, list(paths or []), metadata, settings.max_upload_mb, progress)
        added = sorted(service.store.doc_ids() - before)
        if paths:
            outcome = "ok" if "❌" not in summary else "error: " + summary[:200]
            record(request, "upload", outcome, " ".join(Path(p).name for p in paths)[:200], added)
        return (summary, None, *refreshed())  # the uploaded copies are gone: the file box is emptied

    def on_remove(is_admin, doc_id, request: gr.Request):
        if not is_admin or not doc_id:
            return ("请先解锁并选择文件。" if not is_admin else "请先选择要删除的文件。", *[gr.skip()] * 4)
        try:
            removed = service.remove(doc_id)
        except KeyError:
            record(request, "remove", "error: 没有该文档", doc_id, [doc_id])
            return (f"知识库中没有 {doc_id}。", *refreshed())
        record(request, "remove", "ok", doc_id, [doc_id])
        return (f"已删除 {doc_id}（{removed} 段）。", *refreshed(removed=True))

    if roles is not None:
        def on_open(request: gr.Request):
            if roles["may_manage"](request):
                return (gr.Tab(visible=True), True, gr.Column(visible=False), gr.Column(visible=True), "", *refreshed())
            return (gr.Tab(visible=bool(settings.admin_password)), False, *[gr.skip()] * 7)

        roles["demo"].load(
            on_open, None, [roles["tab"], unlocked, admin["lock_box"], admin["admin_box"], admin["lock_status"], *listings],
            api_visibility="private",
        ).then(
            lambda is_admin: faq_listing(service) if is_admin else (gr.skip(), gr.skip()), [unlocked],
            [admin["faq_table"], admin["faq_doomed"]], api_visibility="private",
        )

    gr.on(
        [admin["unlock"].click, admin["password"].submit], on_unlock, [admin["password"]],
        [unlocked, admin["lock_box"], admin["admin_box"], admin["lock_status"], *listings], api_visibility="private",
    ).then(
        lambda is_admin: faq_listing(service) if is_admin else (gr.skip(), gr.skip()), [unlocked],
        [admin["faq_table"], admin["faq_doomed"]], api_visibility="private",
    )
    wire_faq_form(service, admin)
    admin["ingest"].click(
        on_ingest, [unlocked, admin["files"], *admin["metadata"]], [admin["ingest_status"], admin["files"], *listings],
        api_visibility="private",
    )
    def on_correct(is_admin, doc_id, *lifecycle):
        if not is_admin or not doc_id:
            return ("请先解锁并选择文件。" if not is_admin else "请先在上面选择文件。", *[gr.skip()] * 4)
        fields = given_lifecycle_fields(lifecycle)
        if not fields:
            return ("没有要更正的项。", *[gr.skip()] * 4)
        try:
            listed = service.correct_lifecycle(doc_id, fields)
        except (KeyError, ValueError) as error:
            return (f"❌ 未能更正：{html.escape(str(error))}", *[gr.skip()] * 4)
        return (f"已更正《{html.escape(listed['title'])}》：现为{listed['status_label']}。", *refreshed())

    admin["correct"].click(
        on_correct, [unlocked, admin["doomed"], *admin["corrections"]], [admin["correct_status"], *listings],
        api_visibility="private",
    )
    admin["remove"].click(on_remove, [unlocked, admin["doomed"]], [admin["remove_status"], *listings], api_visibility="private")
    admin["export_feedback"].click(
        lambda is_admin: feedback_file(service) if is_admin else None, [unlocked], [admin["feedback_csv"]],
        api_visibility="private",
    )


def model_notice(service: AssistantService) -> str:
    """A warning for the page when the embedding model cannot be used or the store awaits re-embedding."""
    if service.embedding_error:
        return f"⚠️ 语义检索不可用，目前只按关键词检索作答：{html.escape(str(service.embedding_error))}"
    if service.reindex_pending:
        return f"⚠️ 知识库尚未用 {html.escape(service.reindex_pending)} 重建，暂用旧模型作答：请管理员运行 python app.py reindex。"
    return ""


def build_demo(service: AssistantService, settings=None, roles: dict | None = None, title: str = "") -> gr.Blocks:
    """The whole web page over one assistant service: the chat, 备课, and the knowledge-base tab when an admin password is
    set or users are (`roles`: `may_manage(request)` opens the tab to an editor or admin, `record` logs what is done,
    `gate` and `kb` give admins the dashboard and audit log there)."""
    with_admin = settings is not None and (bool(settings.admin_password) or roles is not None)
    with gr.Blocks(title="PolicyQA 政策问答助手", delete_cache=UPLOAD_CACHE) as demo:
        heading = f"## PolicyQA 政策问答助手 · {html.escape(title)}" if title else "## PolicyQA 政策问答助手"
        gr.Markdown(heading + "\n依据知识库中的政策文件作答，逐句标注出处；点击 [n] 查看原文。文件中没有的内容会如实说明。", elem_id="page-heading")
        notice = model_notice(service)
        if notice:
            gr.Markdown(notice, elem_id="model-notice")
        with gr.Tabs():
            with gr.Tab("问答", id="chat"):
                chat = build_chat(service)
            with gr.Tab("备课", id="course"):
                add_course_tab(service, settings)
            if with_admin:
                with gr.Tab("知识库管理", id="admin", visible=bool(settings.admin_password)) as admin_tab:
                    admin = build_admin()
                    audit_panel = build_audit_panel() if roles is not None else None
        wire_chat(service, chat, (roles or {}).get("record"))
        wire_history(service, chat, demo)
        if with_admin:
            wire_admin(service, settings, admin, chat, roles and {**roles, "demo": demo, "tab": admin_tab})
        if with_admin and audit_panel is not None:
            wire_audit_panel(roles["gate"], roles["kb"], audit_panel, demo)
        demo.load(lambda: gr.Dropdown(choices=document_choices(service)), None, [chat["doc_filter"]], api_visibility="private")
    return demo


def build_embed(service: AssistantService, settings=None, record=None) -> gr.Blocks:
    """The chat alone, compact, for an intranet portal's iframe: no header, no knowledge-base tab; `record` logs each ask."""
    with gr.Blocks(title="PolicyQA 政策问答助手", fill_width=True, delete_cache=UPLOAD_CACHE) as demo:
        chat = build_chat(service, compact=True)
        wire_chat(service, chat, record)
        wire_history(service, chat, demo)
        demo.load(lambda: gr.Dropdown(choices=document_choices(service)), None, [chat["doc_filter"]], api_visibility="private")
    return demo


def launch_options(settings=None) -> dict:
    """Options for `demo.launch` (or `gr.mount_gradio_app`) that belong to the page's look and behaviour.

    With `settings`, uploads through the page are also refused above `POLICYQA_MAX_UPLOAD_MB`.
    """
    options = {"css": PAGE_CSS, "head": CITATION_SCRIPT, "theme": gr.themes.Soft(), "footer_links": ["api"]}
    if settings is not None:
        options["max_file_size"] = f"{settings.max_upload_mb}mb"
    return options
