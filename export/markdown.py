"""Course material as Markdown, document text escaped so that it reads as written."""

import re

from assistant.course import Course
from export.text import (
    PARTS,
    answer_line,
    course_title,
    document_facts,
    mark,
    marks,
    option_lines,
    question_line,
    quiz_groups,
    source_line,
    why_line,
    summary_line,
)

SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|~])")
# Our own citation markers are left as they are: "[1]" with no "(" after it is not a link.
MARKER = re.compile(r"\\\[(\d+)\\\](?!\()")
LINE_START = re.compile(r"^(\s*)([-+>]|\d+[.)])", re.MULTILINE)


def escape(text: str) -> str:
    """Text with Markdown's special characters escaped, so that document words never become markup."""
    return LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), SPECIAL.sub(r"\\\1", text))


def own(text: str) -> str:
    """Text we wrote (answers, sources) escaped, its [n] markers kept readable."""
    return MARKER.sub(r"[\1]", escape(text))


def outline_lines(course: Course) -> list[str]:
    """The study outline as a nested list, each heading with the provisions under it."""
    return [
        "  " * (e.level - 1) + f"- {escape(e.heading)}" + (f" {marks(e.provisions)}" if e.provisions else "")
        for e in course.outline
    ]


def provision_lines(course: Course) -> list[str]:
    """The provisions, document by document and section by section, each with its marker."""
    lines = []
    for document in course.documents:
        lines += [f"### 《{escape(document.title)}》", ""]
        facts = document_facts(document)
        lines += [escape(facts), ""] if facts else []
        for group in document.sections:
            lines += [f"#### {escape(group.section)}", ""] if group.section else []
            for p in group.provisions:
                lines += [f"> {escape(p.text)} {mark(p.n)}", ">", f"> *{own(why_line(course, p.n))}*\n"]
    return lines


def quiz_lines(course: Course) -> list[str]:
    """The questions, options indented under their question."""
    lines = []
    for place, numbered in quiz_groups(course.questions):
        lines += [f"**{escape(place)}**", ""]
        for number, question in numbered:
            lines.append(f"{number}. {escape(question_line(question))}")
            lines += [f"    - {escape(option)}" for option in option_lines(question)]
        lines.append("")
    return lines


def course_markdown(course: Course) -> str:
    """The whole material: title, outline, provisions, quiz, answer key and sources."""
    lines = [f"# {escape(course_title(course))}", "", own(summary_line(course)), ""]
    lines += [f"## {PARTS[0]}", ""] + outline_lines(course) + [""]
    lines += [f"## {PARTS[1]}", ""] + provision_lines(course)
    lines += [f"## {PARTS[2]}", ""] + quiz_lines(course)
    lines += [f"## {PARTS[3]}", ""] + [f"{n}. {own(answer_line(q))}" for n, q in enumerate(course.questions, start=1)]
    lines.append("")
    lines += [f"## {PARTS[4]}", ""] + [own(source_line(p)) + "\n" for p in course.provisions]
    return "\n".join(lines).rstrip() + "\n"
