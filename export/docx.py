"""Course material as a Word document: real heading styles, Chinese fonts set, a numbered source list."""

from io import BytesIO
from pathlib import Path

from docx import Document
from docx.enum.text import WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt, RGBColor

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

# 宋体 and 黑体 by their English names: Word finds them under either, and LibreOffice maps these two
# (not the Chinese names) to the CJK fonts it has, Noto Serif/Sans CJK with Debian's fonts-noto-cjk.
BODY_FONT = ("Times New Roman", "SimSun")
HEADING_FONT = ("Arial", "SimHei")
STYLE_FONTS = {"Normal": BODY_FONT, "Title": HEADING_FONT, "Heading 1": HEADING_FONT, "Heading 2": HEADING_FONT, "Heading 3": HEADING_FONT}
THEME_ATTRIBUTES = ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme")
OUTLINE_INDENT_PT = 14
BODY_SIZE_PT = 12


def set_fonts(style, latin: str, east_asian: str) -> None:
    """Give a style explicit Latin and East Asian fonts (theme fonts removed, which would override them)."""
    style.font.name = latin
    fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
    for attribute in THEME_ATTRIBUTES:
        fonts.attrib.pop(qn(attribute), None)
    fonts.set(qn("w:eastAsia"), east_asian)


def set_language(style, language: str = "zh-CN") -> None:
    """Mark a style's text as Chinese, so that word processors pick East Asian fonts and line breaking."""
    rpr = style.element.get_or_add_rPr()
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:eastAsia"), language)


def prepare_styles(document) -> None:
    """Chinese fonts and language on the body and heading styles; headings in black."""
    for name, (latin, east_asian) in STYLE_FONTS.items():
        style = document.styles[name]
        set_fonts(style, latin, east_asian)
        set_language(style)
        if name != "Normal":
            style.font.color.rgb = RGBColor(0, 0, 0)
    document.styles["Normal"].font.size = Pt(BODY_SIZE_PT)


def add_outline(document, course: Course) -> None:
    """The study outline: one indented line per document and heading, with the provisions under it."""
    document.add_heading(PARTS[0], level=1)
    for entry in course.outline:
        text = entry.heading + (f" {marks(entry.provisions)}" if entry.provisions else "")
        paragraph = document.add_paragraph(text)
        paragraph.paragraph_format.left_indent = Pt(OUTLINE_INDENT_PT * (entry.level - 1))
        paragraph.paragraph_format.space_after = Pt(2)
        if entry.level == 1:
            paragraph.runs[0].bold = True


def add_provisions(document, course: Course) -> None:
    """The provisions: a level-2 heading per document, level-3 per section, each provision with its marker."""
    document.add_heading(PARTS[1], level=1)
    for group in course.documents:
        document.add_heading(f"《{group.title}》", level=2)
        facts = document_facts(group)
        if facts:
            document.add_paragraph(facts).runs[0].italic = True
        for section in group.sections:
            if section.section:
                document.add_heading(section.section, level=3)
            for provision in section.provisions:
                paragraph = document.add_paragraph(provision.text + " ")
                paragraph.add_run(mark(provision.n)).font.superscript = True
                reason = why_line(course, provision.n)
                if reason:
                    note = document.add_paragraph()
                    note.add_run(reason).italic = True


def add_quiz(document, course: Course) -> None:
    """The questions, numbered, options under their question."""
    document.add_heading(PARTS[2], level=1)
    for place, numbered in quiz_groups(course.questions):
        document.add_paragraph().add_run(place).bold = True
        for number, question in numbered:
            add_question(document, number, question)


def add_question(document, number: int, question) -> None:
    """One numbered question, its options under it."""
    paragraph = document.add_paragraph(f"{number}. {question_line(question)}")
    for option in option_lines(question):
        paragraph.add_run().add_break(WD_BREAK.LINE)
        paragraph.add_run(f"    {option}")


def add_answers(document, course: Course) -> None:
    """The answer key, each answer with the provision's words and its source marker."""
    document.add_heading(PARTS[3], level=1)
    for number, question in enumerate(course.questions, start=1):
        document.add_paragraph(f"{number}. {answer_line(question)}")


def add_sources(document, course: Course) -> None:
    """The numbered source list the [n] markers point to."""
    document.add_heading(PARTS[4], level=1)
    for provision in course.provisions:
        document.add_paragraph(source_line(provision))


def course_docx(course: Course) -> bytes:
    """The whole material as the bytes of a .docx file."""
    document = Document()
    prepare_styles(document)
    document.core_properties.title = course_title(course)
    document.core_properties.language = "zh-CN"
    document.add_heading(course_title(course), level=0)
    document.add_paragraph(summary_line(course))
    for add_part in (add_outline, add_provisions, add_quiz, add_answers, add_sources):
        add_part(document, course)
    buffer = BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def write_course_docx(course: Course, path: Path) -> Path:
    """Write the material to a .docx file and return its path."""
    path = Path(path)
    path.write_bytes(course_docx(course))
    return path
