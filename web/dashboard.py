"""The admins' part of the knowledge-base tab: use per base as plots (questions per day, share declined, questions
declined most, documents cited most, feedback per document) and the audit log with its CSV export."""

import tempfile
from datetime import date
from pathlib import Path

import gradio as gr
import pandas as pd

from assistant.access import AccessDenied
from assistant.audit import EVENT_KEYS, events_csv
from assistant.gate import Actor, Gate

AUDIT_ROWS = 200
AUDIT_COLUMNS = ("时间", "用户", "来源", "知识库", "操作", "结果", "问题或对象", "文件")


def bar(x: str, y: str, title: str, x_title: str, y_title: str, elem_id: str, top=None, color=None) -> gr.BarPlot:
    """One bar plot of the dashboard, its y axis from 0 (to `top` when given)."""
    return gr.BarPlot(x=x, y=y, color=color, title=title, x_title=x_title, y_title=y_title, y_lim=[0, top], elem_id=elem_id)


def build_audit_panel() -> dict:
    """The dashboard and audit log components, hidden until an admin opens the page."""
    with gr.Column(visible=False, elem_id="dashboard") as box:
        gr.Markdown("### 使用统计")
        base = gr.Dropdown(label="知识库", choices=[], elem_id="dashboard-kb")
        summary = gr.Markdown(elem_id="dashboard-summary")
        with gr.Row():
            per_day = bar("day", "questions", "每日提问数", "日期", "问题数", "dashboard-per-day")
            declined = bar("day", "declined_share", "未找到依据的比例", "日期", "比例", "dashboard-declined", top=1)
        with gr.Row():
            cited = bar("title", "times", "被引用最多的文件", "文件", "次数", "dashboard-cited")
            feedback = bar("title", "count", "各文件的反馈", "文件", "条数", "dashboard-feedback", color="rating")
        declined_questions = gr.Dataframe(headers=["未找到依据的问题", "次数"], interactive=False, wrap=True, elem_id="dashboard-declined-questions")
        gr.Markdown("### 审计日志（最近 200 条）")
        audit_table = gr.Dataframe(headers=list(AUDIT_COLUMNS), interactive=False, wrap=True, elem_id="audit-table")
        export = gr.Button("导出全部审计日志（CSV）", elem_id="audit-export")
        audit_csv = gr.File(label="审计日志 CSV", interactive=False, elem_id="audit-csv")
    return {
        "box": box, "base": base, "summary": summary, "per_day": per_day, "declined": declined, "cited": cited,
        "feedback": feedback, "declined_questions": declined_questions, "audit_table": audit_table, "export": export,
        "audit_csv": audit_csv,
    }


def page_actor(gate: Gate, request) -> Actor | None:
    """The logged-in user of a page request as an Actor, or None when nobody (or no known user) is logged in."""
    name = getattr(request, "username", None) if request is not None else None
    principal = gate.users.named(name) if name else None
    client = request.client.host if request is not None and request.client else "page"
    return Actor(principal, client) if principal is not None else None


def figures(gate: Gate, actor: Actor, kb: str) -> tuple:
    """The dashboard's values for one base."""
    stats = gate.dashboard(actor, kb)
    days = pd.DataFrame(stats.days or [], columns=["day", "questions", "declined", "declined_share"])
    cited = pd.DataFrame(stats.cited_documents or [], columns=["doc_id", "title", "times"])
    rated = pd.DataFrame(
        [{"title": r["title"], "rating": name, "count": r[key]} for r in stats.feedback for key, name in (("up", "👍"), ("down", "👎"))],
        columns=["title", "rating", "count"],
    )
    summary = f"**{kb}**：共 {stats.questions} 个问题，未找到依据 {stats.declined_share:.0%}"
    declined = [[q["question"], q["times"]] for q in stats.declined_questions]
    return summary, days, days, cited, rated, declined


def audit_rows(gate: Gate, actor: Actor) -> list[list]:
    """The latest audit events as table rows, newest first."""
    events = gate.audit_events(actor, limit=AUDIT_ROWS)
    return [[*(e[k] for k in EVENT_KEYS[:-1]), ",".join(e["doc_ids"])] for e in reversed(events)]


def audit_file(gate: Gate, actor: Actor) -> str:
    """The whole audit log as a CSV file for download (UTF-8 with BOM, which Excel reads)."""
    path = Path(tempfile.mkdtemp(prefix="policyqa-audit-")) / f"审计日志-{date.today().isoformat()}.csv"
    path.write_text(events_csv(gate.audit_events(actor)), encoding="utf-8-sig")
    return str(path)


def wire_audit_panel(gate: Gate, kb: str, panel: dict, demo: gr.Blocks) -> None:
    """Show the panel to admins when the page opens; every handler checks the role again."""
    plots = [panel["summary"], panel["per_day"], panel["declined"], panel["cited"], panel["feedback"], panel["declined_questions"]]

    def on_open(request: gr.Request):
        actor = page_actor(gate, request)
        if actor is None or not actor.principal.may_manage:
            return gr.Column(visible=False), *[gr.skip()] * 8
        choices = gate.bases.names()
        return (gr.Column(visible=True), gr.Dropdown(choices=choices, value=kb), *figures(gate, actor, kb), audit_rows(gate, actor))

    def on_base(chosen, request: gr.Request):
        actor = page_actor(gate, request)
        try:
            return figures(gate, actor, chosen) if actor and chosen else tuple(gr.skip() for _ in plots)
        except AccessDenied:
            return tuple(gr.skip() for _ in plots)

    def on_export(request: gr.Request):
        actor = page_actor(gate, request)
        try:
            return audit_file(gate, actor) if actor else None
        except AccessDenied:
            return None

    demo.load(on_open, None, [panel["box"], panel["base"], *plots, panel["audit_table"]], api_visibility="private")
    panel["base"].change(on_base, [panel["base"]], plots, api_visibility="private")
    panel["export"].click(on_export, None, [panel["audit_csv"]], api_visibility="private")
