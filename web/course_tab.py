"""The 备课 tab: course material on a topic shown on the page (escaped HTML) and offered as Word and Markdown."""

import html
import re
import tempfile
from pathlib import Path

import gradio as gr

from assistant.course import Course, TopicNotCovered
from export import course_docx, course_markdown
from export.text import (
    PARTS,
    answer_line,
    course_title,
    document_facts,
    marks,
    option_lines,
    question_line,
    quiz_groups,
    source_line,
    why_line,
    summary_line,
)

UNSAFE_FILE_CHARS = re.compile(r'[\\/:*?"<>|\s]+')
EXAMPLE_TOPICS = ("容错免责", "不担当不作为的处理", "干部选拔")


def escaped(text: str) -> str:
    """Text safe to place in HTML (document text is data, never markup)."""
    return html.escape(text, quote=True)


def outline_html(course: Course) -> str:
    """The study outline as indented lines."""
    return "".join(
        f'<div style="margin-left:{(e.level - 1) * 1.5}em">{escaped(e.heading)} {escaped(marks(e.provisions))}</div>'
        for e in course.outline
    )


def provisions_html(course: Course) -> str:
    """The provisions by document and section, each with its marker."""
    parts = []
    for document in course.documents:
        parts.append(f"<h3>《{escaped(document.title)}》</h3><p><i>{escaped(document_facts(document))}</i></p>")
        for group in document.sections:
            parts.append(f"<h4>{escaped(group.section)}</h4>" if group.section else "")
            parts += [
                f"<blockquote>{escaped(p.text)} <sup>[{p.n}]</sup><br><small><i>{escaped(why_line(course, p.n))}</i></small></blockquote>"
                for p in group.provisions
            ]
    return "".join(parts)


def quiz_html(course: Course) -> str:
    """The questions, then the answer key folded under a summary."""
    questions = "".join(
        f"<p><b>{escaped(place)}</b></p><ol start=\"{numbered[0][0]}\">"
        + "".join(f"<li>{escaped(question_line(q))}" + "".join(f"<br>{escaped(o)}" for o in option_lines(q)) + "</li>" for _, q in numbered)
        + "</ol>"
        for place, numbered in quiz_groups(course.questions)
    )
    answers = "".join(f"<li>{escaped(answer_line(q))}</li>" for q in course.questions)
    return f"{questions}<details><summary>{PARTS[3]}</summary><ol>{answers}</ol></details>"


def course_html(course: Course) -> str:
    """The whole material as escaped HTML for the page."""
    sources = "".join(f"<div>{escaped(source_line(p))}</div>" for p in course.provisions)
    return (
        f'<div class="course"><h2>{escaped(course_title(course))}</h2><p>{escaped(summary_line(course))}</p>'
        f"<h3>{PARTS[0]}</h3>{outline_html(course)}<h3>{PARTS[1]}</h3>{provisions_html(course)}"
        f"<h3>{PARTS[2]}</h3>{quiz_html(course)}<h3>{PARTS[4]}</h3>{sources}</div>"
    )


def course_files(course: Course) -> tuple[str, str]:
    """The material written as .docx and .md files to download; their paths."""
    folder = Path(tempfile.mkdtemp(prefix="policyqa-course-"))
    stem = "备课-" + (UNSAFE_FILE_CHARS.sub("_", course.topic)[:40] or "材料")
    docx_path, md_path = folder / f"{stem}.docx", folder / f"{stem}.md"
    docx_path.write_bytes(course_docx(course))
    md_path.write_text(course_markdown(course), encoding="utf-8")
    return str(docx_path), str(md_path)


def prepare_course(service, topic: str) -> tuple[str, str | None, str | None]:
    """The page's HTML and the two download paths for a topic; a message and no files when nothing is found."""
    try:
        course = service.course(topic)
    except (TopicNotCovered, ValueError) as error:
        return f'<p class="course-message">{escaped(str(error))}</p>', None, None
    notes = "".join(f"<p><i>{escaped(w)}</i></p>" for w in course.warnings)
    return notes + course_html(course), *course_files(course)


def build_course_layout() -> dict:
    """The tab's components: topic, button, result and the two download buttons (hidden until there is a file)."""
    with gr.Row():
        topic = gr.Textbox(label="备课主题", placeholder="如：容错免责", scale=4, elem_id="course-topic")
        make = gr.Button("生成备课材料", variant="primary", scale=1, elem_id="course-make")
    gr.Examples(list(EXAMPLE_TOPICS), inputs=topic, label="示例主题")
    with gr.Row():
        docx_file = gr.DownloadButton("下载 Word（.docx）", visible=False, elem_id="course-docx")
        md_file = gr.DownloadButton("下载 Markdown（.md）", visible=False, elem_id="course-md")
    result = gr.HTML(elem_id="course-result")
    return {"topic": topic, "make": make, "result": result, "docx": docx_file, "md": md_file}


def wire_course(service, parts: dict) -> None:
    """Make the button (and Enter in the topic box) build the material."""

    def on_make(topic):
        page, docx_path, md_path = prepare_course(service, topic)
        shown = docx_path is not None
        return page, gr.DownloadButton(value=docx_path, visible=shown), gr.DownloadButton(value=md_path, visible=shown)

    outputs = [parts["result"], parts["docx"], parts["md"]]
    parts["make"].click(on_make, inputs=parts["topic"], outputs=outputs, api_name="course")
    parts["topic"].submit(on_make, inputs=parts["topic"], outputs=outputs, api_visibility="private")


def add_course_tab(service, settings) -> None:
    """Build the 备课 tab's content inside the caller's `with gr.Tab("备课"):` block."""
    gr.Markdown("输入主题，汇编文件中关于该主题的全部规定（逐条注明出处）、学习提纲和练习题，可下载 Word 或 Markdown。")
    wire_course(service, build_course_layout())
