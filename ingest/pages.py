"""The original pages of paged sources (PDF, OFD, scans and photos): where each document's text lies on them, kept
beside the store, and a page drawn as a PNG with a cited span boxed on it.

A PDF page is drawn by PDFium, a photo is the photo itself, an OFD page is drawn from its own text
layout (its lines at their places, in a CJK font). The box is drawn round the lines the span
covers, cut to the span's characters within its first and last line.
"""

import io
import json
import os
import shutil
import subprocess
from dataclasses import asdict
from functools import cache
from pathlib import Path

from ingest.errors import IngestError
from ingest.model import Layout, Page

# Pages are drawn this wide (pixels): the text of an A4 page stays legible on a laptop screen.
PAGE_WIDTH_PX = 1240
SPAN_OUTLINE = (214, 40, 40)
SPAN_FILL = (255, 214, 0, 70)


class PageNotFound(LookupError):
    """A page that cannot be shown; the message says why (no such page, an unpaged document, the file gone)."""


class PageLayouts:
    """Each paged document's layout and source file, as `<doc_id>.json` in a folder of the data directory."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._read: dict[str, tuple[int, tuple[str, Layout]]] = {}  # doc_id → (file's mtime, what it holds)

    def put(self, doc_id: str, source: str, layout: Layout) -> None:
        """Keep a document's layout and the file it lies in."""
        self.folder.mkdir(parents=True, exist_ok=True)
        data = {"source": source, "kind": layout.kind, "pages": [asdict(page) for page in layout.pages]}
        target = self.folder / f"{doc_id}.json"
        temporary = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        os.replace(temporary, target)

    def get(self, doc_id: str) -> tuple[str, Layout] | None:
        """A document's source file and layout, or None for a document without pages (read once while unchanged)."""
        path = self.folder / f"{doc_id}.json"
        try:
            changed = path.stat().st_mtime_ns
            known = self._read.get(doc_id)
            if known and known[0] == changed:
                return known[1]
            data = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        pages = tuple(Page(p["number"], p["width"], p["height"], tuple(tuple(line) for line in p["lines"])) for p in data["pages"])
        self._read[doc_id] = (changed, (data["source"], Layout(data["kind"], pages)))
        return self._read[doc_id][1]

    def drop(self, doc_ids: set[str]) -> None:
        """Forget these documents' layouts (unknown ids are ignored)."""
        for doc_id in doc_ids:
            (self.folder / f"{doc_id}.json").unlink(missing_ok=True)
            self._read.pop(doc_id, None)


def page_of(layout: Layout, number: int) -> Page:
    """One page of a layout by its 1-based number; PageNotFound when the document has no text there."""
    for page in layout.pages:
        if page.number == number:
            return page
    known = f"第 {layout.pages[0].number}–{layout.pages[-1].number} 页" if layout.pages else "没有页"
    raise PageNotFound(f"该文档没有第 {number} 页的内容（它在原文件中占{known}）")


def render_page(source: str, layout: Layout, number: int, text: str, span: tuple[int, int] | None = None) -> bytes:
    """Page `number` of a document as a PNG, with the span (offsets into the document's text) boxed when given."""
    page = page_of(layout, number)
    if layout.kind != "ofd" and not Path(source).is_file():
        raise PageNotFound(f"原文件 {Path(source).name} 已不在服务器上，无法显示原文页：请重新导入该文件")
    if layout.kind == "pdf":
        image, scale = pdf_page_image(Path(source), page)
    elif layout.kind == "image":
        image, scale = photo_image(Path(source), page)
    else:
        image, scale = drawn_page(page, text)
    if span is not None:
        box_span(image, page, text, span, scale)
    out = io.BytesIO()
    image.convert("RGB").save(out, "PNG", optimize=True)
    return out.getvalue()


def pdf_page_image(path: Path, page: Page):
    """A PDF page drawn by PDFium at PAGE_WIDTH_PX, and the scale from points to its pixels."""
    import pypdfium2 as pdfium

    scale = PAGE_WIDTH_PX / page.width
    document = pdfium.PdfDocument(str(path))
    try:
        image = document[page.number - 1].render(scale=scale).to_pil()
    finally:
        document.close()
    return image, scale


def photo_image(path: Path, page: Page):
    """The photo itself, no wider than PAGE_WIDTH_PX, and the scale from its pixels to the shown ones."""
    from PIL import Image

    with Image.open(path) as photo:
        scale = min(1.0, PAGE_WIDTH_PX / photo.width)
        image = photo.convert("RGB").resize((round(photo.width * scale), round(photo.height * scale)))
    return image, scale


def drawn_page(page: Page, text: str):
    """An OFD page drawn from its text layout: each line's characters at its place on a white page."""
    from PIL import Image, ImageDraw

    scale = PAGE_WIDTH_PX / page.width
    image = Image.new("RGB", (PAGE_WIDTH_PX, round(page.height * scale)), "white")
    draw = ImageDraw.Draw(image)
    for start, end, x0, y0, x1, y1 in page.lines:
        line = "".join(text[start:end].split())
        size = max(8, round((y1 - y0) * scale / 1.25))
        draw.text((x0 * scale, y0 * scale), line, fill="black", font=cjk_font(size))
    return image, scale


@cache
def cjk_font(size: int):
    """A font with Chinese characters at this pixel size (Noto CJK through fontconfig), else Pillow's own."""
    from PIL import ImageFont

    path = cjk_font_file()
    return ImageFont.truetype(path, size) if path else ImageFont.load_default(size)


@cache
def cjk_font_file() -> str | None:
    """A font file with Chinese characters (a regular weight first), as fontconfig lists them, or None when there is none."""
    if shutil.which("fc-list") is None:
        return None
    listed = subprocess.run(["fc-list", ":lang=zh", "file", "style"], capture_output=True, text=True, timeout=10, check=False)
    fonts = [line.split(":")[0] for line in sorted(listed.stdout.splitlines(), key=lambda l: ("Regular" not in l, "Sans" not in l, l))]
    return fonts[0] if fonts else None


def box_span(image, page: Page, text: str, span: tuple[int, int], scale: float) -> None:
    """Box the part of each line of the page that the span covers, filled lightly so the words stay legible."""
    from PIL import Image, ImageDraw

    start, end = span
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    boxes = []
    for line_start, line_end, x0, y0, x1, y1 in page.lines:
        if line_end <= start or line_start >= end:
            continue
        left = x0 + (x1 - x0) * share_before(text, line_start, line_end, max(start, line_start))
        right = x0 + (x1 - x0) * share_before(text, line_start, line_end, min(end, line_end))
        boxes.append((left * scale - 3, y0 * scale - 3, right * scale + 3, y1 * scale + 3))
    for box in boxes:
        draw.rectangle(box, fill=SPAN_FILL, outline=SPAN_OUTLINE + (255,), width=3)
    image.paste(Image.alpha_composite(image.convert("RGBA"), overlay).convert(image.mode))


def share_before(text: str, line_start: int, line_end: int, offset: int) -> float:
    """The share of a line's visible characters that stand before `offset`."""
    visible = [i for i in range(line_start, line_end) if not text[i].isspace()]
    if not visible:
        return 0.0
    return sum(i < offset for i in visible) / len(visible)


def check_span(text: str, start: int | None, end: int | None) -> tuple[int, int] | None:
    """The span to box, or None when none is asked for; an IngestError when it does not lie in the text."""
    if start is None and end is None:
        return None
    if start is None or end is None or not 0 <= start < end <= len(text):
        raise IngestError(f"要标出的范围 start={start}、end={end} 不在文档内（文档共 {len(text)} 字）：请同时给出 0 ≤ start < end 的引文位置")
    return start, end
