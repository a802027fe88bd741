"""Reading policy files from disk into text: plain text in any common Chinese encoding, Word (.docx, and .doc/.wps through
LibreOffice), PDF (scanned pages by OCR), OFD, HTML, spreadsheets, photos of a page."""

import re
from pathlib import Path

from charset_normalizer import from_bytes

from ingest.clean import NUMBERED_PATTERN, ends_sentence, joined_pieces, squeeze, starts_item
from ingest.errors import IngestError
from ingest.model import Layout, Page, SourceText
from ingest.office import CONVERTED, read_legacy, read_xlsx, row_line

# A file's metadata given by the user sits beside it as `<file>.meta.json`.
SIDECAR_SUFFIX = ".meta.json"
TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".text"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
DOCUMENT_SUFFIXES = TEXT_SUFFIXES | IMAGE_SUFFIXES | set(CONVERTED) | {".docx", ".pdf", ".html", ".htm", ".ofd", ".xlsx"}
# A real .docx unpacks to a few MB of XML at most ~30x its packed size; a zip bomb to gigabytes.
DOCX_MAX_UNPACKED = 512 * 1024 * 1024
DOCX_MAX_RATIO = 200
DOCX_RATIO_FLOOR = 8 * 1024 * 1024
LEGACY_OFFICE = {".ppt": "PowerPoint", ".dps": "WPS 演示"}
# A vertical gap this many times the usual line step separates paragraphs on a PDF page.
PARAGRAPH_GAP = 1.3
PAGE_NUMBER = re.compile(r"^\s*(?:[-—－]\s*\d+\s*[-—－]|第\s*\d+\s*页(?:\s*[/，,]?\s*共\s*\d+\s*页)?|\d+\s*/\s*\d+|\d{1,4})\s*$")


# Lines of a government site's page furniture that main-text extraction sometimes keeps.
SITE_CHROME = re.compile(r"^\s*(?:当前位置|您现在的位置|您的位置|现在位置)[:：]|^\s*【?(?:字体|打印本页|关闭窗口|分享到)")


def looks_like_utf16(data: bytes) -> str | None:
    """The UTF-16 byte order of BOM-less text, judged by where its zero bytes fall, or None."""
    sample = data[:4096]
    if len(sample) < 4 or len(sample) % 2:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    # ASCII characters put their zero byte on one side; CJK characters only sometimes (一 is 0x4E00).
    if odd > len(sample) // 200 and odd >= 5 * even:
        return "utf-16-le"
    if even > len(sample) // 200 and even >= 5 * odd:
        return "utf-16-be"
    return None


def mostly_printable(text: str) -> bool:
    """True when nearly all characters are printable and not one byte pattern repeated: text, not binary."""
    sample = text[:4000]
    good = sum(ch.isprintable() or ch in "\r\n\t" for ch in sample)
    varied = len(set(sample)) >= min(10, len(sample) // 4)
    return bool(sample) and varied and good / len(sample) >= 0.95


def decode_text(data: bytes, name: str) -> str:
    """Decode text bytes: UTF-8 (BOM or not), UTF-16 (BOM or not), else the detected legacy encoding (GBK, GB18030, Big5)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    utf16 = looks_like_utf16(data)
    if utf16:
        text = data.decode(utf16, errors="replace")
        if mostly_printable(text):
            return text
    if b"\x00" in data:
        raise IngestError(f"{name}: 看起来是二进制文件而不是文本，请确认文件类型")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    best = from_bytes(data).best()
    if best is None:
        raise IngestError(f"{name}: 无法识别文本编码，请另存为 UTF-8 后再导入")
    return str(best)


def read_plain_text(path: Path) -> str:
    """A .txt or .md file's text, whatever its encoding."""
    return decode_text(path.read_bytes(), str(path))


def check_zip_sizes(path: Path) -> None:
    """Refuse a .docx whose parts would unpack to far more than a real document (a zip bomb)."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
    unpacked = sum(m.file_size for m in members)
    ratios = [m.file_size / max(m.compress_size, 1) for m in members if m.file_size > DOCX_RATIO_FLOOR]
    if unpacked > DOCX_MAX_UNPACKED or any(r > DOCX_MAX_RATIO for r in ratios):
        raise IngestError(
            f"{path}: 文件解压后异常庞大（{unpacked >> 20} MB），不像正常的 Word 文档，已拒绝导入；"
            "请确认文件来源，用 Word 或 WPS 重新另存为 .docx"
        )


def read_docx(path: Path) -> str:
    """A Word file's paragraphs and table rows in order; heading styles become Markdown headings, list items '- '."""
    import zipfile

    from docx import Document

    try:
        check_zip_sizes(path)
        document = Document(str(path))
    except (zipfile.BadZipFile, KeyError, ValueError) as error:
        raise IngestError(f"{path}: 不是有效的 .docx 文件（{error}），请用 Word 或 WPS 重新另存为 .docx") from error
    lines = []
    for block in document.element.body.iterchildren():
        tag = block.tag.rsplit("}", 1)[-1]
        if tag == "p":
            lines.append(docx_paragraph_line(block, document))
        elif tag == "tbl":
            lines.extend(docx_table_lines(block))
    return "\n".join(line for line in lines if line is not None)


def docx_paragraph_line(element, document) -> str | None:
    """One Word paragraph as a line of text, marked as heading or list item by its style."""
    from docx.text.paragraph import Paragraph

    paragraph = Paragraph(element, document)
    text = paragraph.text.strip()
    if not text:
        return None
    style = (paragraph.style.name if paragraph.style is not None else "") or ""
    level = re.search(r"(?:Heading|标题)\s*(\d)", style)
    if level:
        return "#" * int(level.group(1)) + " " + text
    if style.startswith("Title") or style == "标题":
        return "# " + text
    if "List" in style or "列表" in style or element.find(".//{*}numPr") is not None:
        return "- " + text
    return text


def docx_table_lines(table) -> list[str]:
    """A Word table as one line per row that keeps its headers (「情形：…，处理：…。」); a table of one column, its cells."""
    rows = []
    for row in table.iter("{*}tr"):
        cells = [" ".join("".join(t.text or "" for t in cell.iter("{*}t")).split()) for cell in row.iter("{*}tc")]
        if any(cells):
            rows.append(cells)
    if len(rows) < 2 or max(len(r) for r in rows) < 2:
        return [cell for row in rows for cell in row if cell]
    return ["- " + line for line in (row_line(rows[0], cells) for cells in rows[1:]) if line]


def page_lines(page) -> list[tuple[float, str, tuple]]:
    """A PDF page's text lines in reading order: each line's top, text and box (x0, top, x1, bottom) in points.

    A ruled table becomes one line per row that keeps its headers (「情形：…，处理：…。」), in place of
    the table's words read line by line across the cells.
    """
    found = [table for table in page.find_tables() if len(table.rows) >= 2]
    rows = [row for table in found for row in table_lines(table)]
    tables = [table.bbox for table in found]
    lines = [
        (line["top"], line["text"], (line["x0"], line["top"], line["x1"], line["bottom"]))
        for line in page.extract_text_lines(layout=False, strip=True, return_chars=False)
        if not any(within(line, bbox) for bbox in tables)
    ]
    return sorted(lines + rows, key=lambda line: line[0])


def within(line: dict, bbox: tuple) -> bool:
    """Whether a text line's middle lies inside a table's box."""
    x0, top, x1, bottom = bbox
    middle_x, middle_y = (line["x0"] + line["x1"]) / 2, (line["top"] + line["bottom"]) / 2
    return x0 <= middle_x <= x1 and top <= middle_y <= bottom


def table_lines(table) -> list[tuple[float, str, tuple]]:
    """A PDF table's rows after its header row as list items keeping the headers, each with its row's top and box."""
    rows = [[joined_pieces((cell or "").split()) for cell in row] for row in table.extract()]
    if len(rows) < 2:
        return []
    out = []
    for cells, row in zip(rows[1:], table.rows[1:]):
        line = row_line(rows[0], cells)
        if line:
            out.append((row.bbox[1], "- " + line, tuple(row.bbox)))
    return out


def with_paragraph_gaps(lines: list[tuple]) -> list[tuple]:
    """The lines (top, text, …), with a blank line (None) wherever the vertical gap is clearly wider than the usual line step."""
    steps = sorted(b[0] - a[0] for a, b in zip(lines, lines[1:]) if b[0] - a[0] > 0)
    usual = steps[len(steps) // 10] if len(steps) >= 3 else None
    out = []
    for index, line in enumerate(lines):
        if usual and index and line[0] - lines[index - 1][0] > PARAGRAPH_GAP * usual:
            out.append(None)
        out.append(line)
    return out


def read_pdf(path: Path) -> SourceText:
    """A PDF's text layer, page by page, paragraphs apart, without bare page numbers; pages without text are read by OCR."""
    import pdfplumber
    from pdfminer.pdfparser import PDFSyntaxError
    from pdfplumber.utils.exceptions import PdfminerException

    try:
        with pdfplumber.open(str(path)) as pdf:
            pages = [(page.width, page.height, page_lines(page)) for page in pdf.pages]
    except PdfminerException as error:
        if "password" in repr(error).lower() or "encrypt" in repr(error).lower():
            raise IngestError(f"{path}: PDF 已加密，无法读取：请用原密码打开后另存为未加密的 PDF 再导入") from error
        raise IngestError(f"{path}: PDF 文件已损坏或无法读取（{error}），请重新导出 PDF 后再导入") from error
    except (PDFSyntaxError, ValueError, KeyError, OSError) as error:
        raise IngestError(f"{path}: PDF 文件已损坏或无法读取（{error}），请重新导出 PDF 后再导入") from error
    scanned = [index for index, (_, _, lines) in enumerate(pages) if not squeeze("".join(line[1] for line in lines))]
    if scanned:
        from ingest.ocr import ocr_pdf_pages

        for index, lines in ocr_pdf_pages(path, scanned).items():
            pages[index] = (*pages[index][:2], lines)
    return paged_text(path, pages, "pdf", "PDF 中没有可提取的文字，文字识别（OCR）也未识别出文字：请确认扫描件清晰、方向正确后再导入")


def paged_text(path: Path, pages: list[tuple[float, float, list[tuple]]], kind: str, empty: str, title: str | None = None) -> SourceText:
    """Pages of (width, height, lines of (top, text, box)) as text: paragraphs apart by the gaps, pages a blank line
    apart, bare page numbers left out; with the layout saying where each line stands (offsets into the squeezed text).

    A line that runs to the text's right edge without ending its sentence is carried on by the next
    one (on the next page too): the page's geometry says so where the words cannot (an OCR line
    break in 「先行先试出现 / 的失误」).
    """
    out, laid, position, runs_on = [], [], 0, False
    for number, (width, height, lines) in enumerate(pages, start=1):
        placed, lines = [], [line for line in lines if not PAGE_NUMBER.match(line[1])]
        edge = right_edge(lines)
        for line in with_paragraph_gaps(lines):
            if line is None:
                out.append("")
                runs_on = False
                continue
            if runs_on and out and out[-1] and not starts_item(line[1]) and not NUMBERED_PATTERN.match(line[1]):
                out[-1] += line[1]
            else:
                out.append(line[1])
            length = len(squeeze(line[1]))
            if length:
                placed.append((position, position + length, *(round(v, 2) for v in line[2])))
            position += length
            runs_on = edge is not None and reaches(line, edge) and not ends_sentence(line[1])
        if not runs_on:
            out.append("")
        laid.append(Page(number, round(width, 2), round(height, 2), tuple(placed)))
    text = "\n".join(out)
    if not squeeze(text):
        raise IngestError(f"{path}: {empty}")
    return SourceText(text, title, Layout(kind, tuple(laid)))


def right_edge(lines: list[tuple]) -> float | None:
    """The right edge of a page's text block: where most of its long lines end (None for a page of few lines)."""
    ends = sorted(line[2][2] for line in lines if len(line[1]) >= 10)
    return ends[int(len(ends) * 0.9)] if len(ends) >= 5 else None


def reaches(line: tuple, edge: float) -> bool:
    """True when a line ends within a few characters of the text's right edge (a Chinese character is about as wide
    as its line is high; typesetting moves a character down with the closing 。” it may not leave alone)."""
    x0, top, x1, bottom = line[2]
    char_width = max(bottom - top, (x1 - x0) / max(len(line[1]), 1))
    return x1 >= edge - 2.5 * char_width


def read_ofd(path: Path) -> SourceText:
    """An OFD's text, page by page, with the title its DocInfo gives."""
    from ingest.ofd import read_ofd_pages

    title, pages = read_ofd_pages(path)
    return paged_text(path, pages, "ofd", "OFD 中没有可提取的文字（可能是扫描件）：请导出为 PDF 或图片后再导入，将进行文字识别", title)


def read_image(path: Path) -> SourceText:
    """A photo or scan of a page, read by OCR."""
    from ingest.ocr import read_image_lines

    width, height, lines = read_image_lines(path)
    return paged_text(path, [(width, height, lines)], "image", "图片中没有识别出文字：请确认图片清晰、方向正确后再导入")


def read_html(path: Path) -> str:
    """A web page's main text (navigation, footers and scripts left out), headings and list items marked."""
    import trafilatura

    html = decode_text(path.read_bytes(), str(path))
    text = trafilatura.extract(
        html, output_format="markdown", include_formatting=True, include_comments=False, include_tables=True,
        favor_recall=True,
    )
    if not text or not text.strip():
        raise IngestError(f"{path}: 网页中没有找到正文，请确认文件是完整的网页，或把正文另存为 .txt 后再导入")
    lines = [line for line in re.sub(r"\*\*(.+?)\*\*", r"\1", text).splitlines() if not SITE_CHROME.match(line)]
    return "\n".join(verbatim_line(line) for line in lines)


# trafilatura's Markdown escapes: each of these characters after 2n+1 backslashes was the character
# after n of the page's own, and a leading heading, quote or list marker got one backslash
_ESCAPED_INLINE = re.compile(r"(\\+)([*_`~\[\]<])")
_ESCAPED_BLOCK_START = re.compile(r"^( {0,3})\\([#>+-])|^( {0,3}\d{1,9})\\([.)])")


def verbatim_line(line: str) -> str:
    """A line of trafilatura's Markdown with its escapes undone, so that quotes from a web page are verbatim."""
    line = _ESCAPED_BLOCK_START.sub(lambda m: (m[1] or m[3] or "") + (m[2] or m[4]), line, count=1)
    return _ESCAPED_INLINE.sub(lambda m: "\\" * (len(m[1]) // 2) + m[2], line)


def read_policy_text(path: Path) -> str:
    """Read a policy file of any supported type into text; other types get a clear error saying what to do."""
    return read_policy_file(path).text


def read_policy_file(path: Path) -> SourceText:
    """Read a policy file of any supported type (with its layout when it has pages); other types get a clear error."""
    suffix = path.suffix.lower()
    if suffix in LEGACY_OFFICE:
        raise IngestError(f"{path}: 不支持 {LEGACY_OFFICE[suffix]} 演示文稿（{suffix}），请把正文另存为 .docx 或 .pdf 后再导入")
    if suffix not in DOCUMENT_SUFFIXES:
        supported = "、".join(sorted(DOCUMENT_SUFFIXES))
        raise IngestError(f"{path}: 不支持 {suffix or '无扩展名'} 文件，支持的类型：{supported}；请转换后再导入")
    if path.stat().st_size == 0:
        raise IngestError(f"{path}: 文件为空，没有可导入的内容")
    source = READERS.get(suffix, read_plain_text)(path)
    source = source if isinstance(source, SourceText) else SourceText(source)
    if not source.text.strip():
        raise IngestError(f"{path}: 文件为空，没有可导入的内容")
    return source


def read_legacy_office(path: Path) -> str:
    """A .doc/.wps or .xls/.et file, converted by LibreOffice and read as Word or as a spreadsheet."""
    return read_legacy(path, read_docx, read_xlsx)


READERS = {
    ".docx": read_docx, ".pdf": read_pdf, ".ofd": read_ofd, ".xlsx": read_xlsx, ".html": read_html, ".htm": read_html,
    **{suffix: read_legacy_office for suffix in CONVERTED}, **{suffix: read_image for suffix in IMAGE_SUFFIXES},
}


def policy_files(paths: list[Path]) -> list[Path]:
    """The files named, with folders expanded recursively (hidden files and sidecars skipped; unsupported ones are reported later)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                p
                for p in sorted(path.rglob("*"))
                if p.is_file()
                and not p.name.endswith(SIDECAR_SUFFIX)
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        else:
            found.append(path)
    return found
