"""Reading policy files from disk into text: plain text in any common Chinese encoding, Word, PDF, HTML."""

import re
from pathlib import Path

from charset_normalizer import from_bytes

from ingest.clean import squeeze

# A file's metadata given by the user sits beside it as `<file>.meta.json`.
SIDECAR_SUFFIX = ".meta.json"
TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".text"}
DOCUMENT_SUFFIXES = TEXT_SUFFIXES | {".docx", ".pdf", ".html", ".htm"}
# A real .docx unpacks to a few MB of XML at most ~30x its packed size; a zip bomb to gigabytes.
DOCX_MAX_UNPACKED = 512 * 1024 * 1024
DOCX_MAX_RATIO = 200
DOCX_RATIO_FLOOR = 8 * 1024 * 1024
LEGACY_OFFICE = {".doc": "Word", ".wps": "WPS 文字", ".xls": "Excel", ".et": "WPS 表格", ".ppt": "PowerPoint", ".dps": "WPS 演示"}
# A vertical gap this many times the usual line step separates paragraphs on a PDF page.
PARAGRAPH_GAP = 1.3
PAGE_NUMBER = re.compile(r"^\s*(?:[-—－]\s*\d+\s*[-—－]|第\s*\d+\s*页(?:\s*[/，,]?\s*共\s*\d+\s*页)?|\d+\s*/\s*\d+|\d{1,4})\s*$")


# Lines of a government site's page furniture that main-text extraction sometimes keeps.
SITE_CHROME = re.compile(r"^\s*(?:当前位置|您现在的位置|您的位置|现在位置)[:：]|^\s*【?(?:字体|打印本页|关闭窗口|分享到)")


class IngestError(ValueError):
    """A file that cannot be ingested; the message says why and what to do."""


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
    """A Word table as one line per row, cells separated by ' | '."""
    rows = []
    for row in table.iter("{*}tr"):
        cells = ["".join(t.text or "" for t in cell.iter("{*}t")).strip() for cell in row.iter("{*}tc")]
        if any(cells):
            rows.append(" | ".join(cells))
    return rows


def page_lines(page) -> list[tuple[float, str]]:
    """A PDF page's text lines in reading order with the height of each line's top."""
    return [(line["top"], line["text"]) for line in page.extract_text_lines(layout=False, strip=True, return_chars=False)]


def with_paragraph_gaps(lines: list[tuple[float, str]]) -> list[str]:
    """The lines, with a blank line wherever the vertical gap is clearly wider than the usual line step."""
    steps = sorted(b[0] - a[0] for a, b in zip(lines, lines[1:]) if b[0] - a[0] > 0)
    usual = steps[len(steps) // 10] if len(steps) >= 3 else None
    out = []
    for index, (top, text) in enumerate(lines):
        if usual and index and top - lines[index - 1][0] > PARAGRAPH_GAP * usual:
            out.append("")
        out.append(text)
    return out


def read_pdf(path: Path) -> str:
    """A PDF's text layer, page by page, paragraphs apart, without bare page numbers; a PDF without text gets an OCR hint."""
    import pdfplumber
    from pdfminer.pdfparser import PDFSyntaxError
    from pdfplumber.utils.exceptions import PdfminerException

    try:
        with pdfplumber.open(str(path)) as pdf:
            pages = [with_paragraph_gaps(page_lines(page)) for page in pdf.pages]
    except (PdfminerException, PDFSyntaxError, ValueError, KeyError, OSError) as error:
        raise IngestError(f"{path}: PDF 文件已损坏或无法读取（{error}），请重新导出 PDF 后再导入") from error
    lines = [line for page in pages for line in page + [""] if not line or not PAGE_NUMBER.match(line)]
    text = "\n".join(lines)
    if not squeeze(text):
        raise IngestError(f"{path}: PDF 中没有可提取的文字（可能是扫描件），请先进行 OCR 文字识别后再导入")
    return text


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
    suffix = path.suffix.lower()
    if suffix in LEGACY_OFFICE:
        raise IngestError(f"{path}: 不支持旧版 {LEGACY_OFFICE[suffix]} 格式（{suffix}），请用 Word 或 WPS 另存为 .docx 后再导入")
    if suffix not in DOCUMENT_SUFFIXES:
        supported = "、".join(sorted(DOCUMENT_SUFFIXES))
        raise IngestError(f"{path}: 不支持 {suffix or '无扩展名'} 文件，支持的类型：{supported}；请转换后再导入")
    if path.stat().st_size == 0:
        raise IngestError(f"{path}: 文件为空，没有可导入的内容")
    if suffix == ".docx":
        text = read_docx(path)
    elif suffix == ".pdf":
        text = read_pdf(path)
    elif suffix in (".html", ".htm"):
        text = read_html(path)
    else:
        text = read_plain_text(path)
    if not text.strip():
        raise IngestError(f"{path}: 文件为空，没有可导入的内容")
    return text


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
