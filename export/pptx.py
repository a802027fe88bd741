"""Course material as slides (.pptx): title, outline, one slide per provision with its source, the quiz and the answer key.

East Asian fonts are set on every run (`a:ea`, with `lang="zh-CN"`), so that WPS, PowerPoint and
LibreOffice draw the Chinese in a CJK font instead of falling back glyph by glyph.
"""

from io import BytesIO
from pathlib import Path

from pptx import Presentation
from pptx.oxml.ns import qn
from pptx.util import Emu, Pt

from assistant.course import Course
from export.text import PARTS, answer_line, course_title, option_lines, question_line, quiz_groups, source_line, summary_line, why_line

# 黑体 for headings and 宋体 for text by their English names, which PowerPoint and WPS know and LibreOffice
# maps to Noto Sans/Serif CJK (see export.docx).
HEADING_FONT, BODY_FONT = "SimHei", "SimSun"
LATIN_FONT = "Arial"
WIDE = (Emu(12192000), Emu(6858000))  # 16:9
TITLE_LAYOUT, CONTENT_LAYOUT = 0, 1
BODY_PT, SMALL_PT = 20, 14
# Lines per slide before a long list (outline, quiz, answers) goes on to another slide.
LINES_PER_SLIDE = 11
CHARS_PER_LINE = 46


def set_run_font(run, east_asian: str, size: int | None = None) -> None:
    """Give a run a Latin and an East Asian font, marked as Chinese text."""
    run.font.name = LATIN_FONT
    if size:
        run.font.size = Pt(size)
    rpr = run._r.get_or_add_rPr()
    rpr.set("lang", "zh-CN")
    rpr.set("altLang", "en-US")
    for tag in ("a:ea", "a:cs"):
        element = rpr.find(qn(tag))
        if element is None:
            element = rpr.makeelement(qn(tag), {})
            rpr.append(element)
        element.set("typeface", east_asian)


def fill(frame, lines: list[str], size: int, font: str = BODY_FONT) -> None:
    """Replace a text frame's text with these lines, one paragraph each, fonts set."""
    frame.clear()
    frame.word_wrap = True
    for index, line in enumerate(lines):
        paragraph = frame.paragraphs[0] if index == 0 else frame.add_paragraph()
        run = paragraph.add_run()
        run.text = line
        set_run_font(run, font, size)


def add_slide(deck, title: str, lines: list[str], size: int = BODY_PT) -> None:
    """A title-and-content slide."""
    slide = deck.slides.add_slide(deck.slide_layouts[CONTENT_LAYOUT])
    fill(slide.shapes.title.text_frame, [title], 28, HEADING_FONT)
    body = slide.placeholders[1]
    body.left, body.top, body.width, body.height = Emu(457200), Emu(1371600), WIDE[0] - Emu(914400), WIDE[1] - Emu(1600200)
    fill(body.text_frame, lines, size)


def pages(blocks: list[list[str]]) -> list[list[str]]:
    """Blocks of lines (a question with its options) put on slides of about LINES_PER_SLIDE printed lines, never split."""
    result: list[list[str]] = [[]]
    used = 0
    for block in blocks:
        height = sum(1 + len(line) // CHARS_PER_LINE for line in block)
        if result[-1] and used + height > LINES_PER_SLIDE:
            result.append([])
            used = 0
        result[-1] += block
        used += height
    return result


def add_pages(deck, title: str, blocks: list[list[str]], size: int = BODY_PT) -> None:
    """As many slides as the blocks need, the title marked (续) after the first."""
    for number, page in enumerate(pages(blocks)):
        add_slide(deck, title if number == 0 else f"{title}（续）", page, size)


def question_blocks(course: Course) -> list[list[str]]:
    """The quiz in blocks: each section's line naming its document once, then each question with its options."""
    blocks = []
    for place, numbered in quiz_groups(course.questions):
        blocks.append([f"【{place}】"])
        blocks += [[f"{number}. {question_line(q)}", *(f"    {o}" for o in option_lines(q))] for number, q in numbered]
    return blocks


def course_pptx(course: Course) -> bytes:
    """The whole material as the bytes of a .pptx file."""
    deck = Presentation()
    deck.slide_width, deck.slide_height = WIDE
    deck.core_properties.title = course_title(course)
    deck.core_properties.language = "zh-CN"
    cover = deck.slides.add_slide(deck.slide_layouts[TITLE_LAYOUT])
    fill(cover.shapes.title.text_frame, [course_title(course)], 40, HEADING_FONT)
    fill(cover.placeholders[1].text_frame, [summary_line(course)], 18)
    add_pages(deck, PARTS[0], [["  " * (e.level - 1) + e.heading] for e in course.outline])
    for provision in course.provisions:
        lines = [provision.text, "", f"出处：{source_line(provision)}", why_line(course, provision.n)]
        add_slide(deck, f"规定 [{provision.n}]", [line for line in lines if line], BODY_PT)
    add_pages(deck, PARTS[2], question_blocks(course), SMALL_PT + 2)
    add_pages(deck, PARTS[3], [[f"{n}. {answer_line(q)}"] for n, q in enumerate(course.questions, start=1)], SMALL_PT)
    buffer = BytesIO()
    deck.save(buffer)
    return buffer.getvalue()


def write_course_pptx(course: Course, path: Path) -> Path:
    """Write the slides to a .pptx file and return its path."""
    path = Path(path)
    path.write_bytes(course_pptx(course))
    return path
