"""Text from scans and photos of a page: RapidOCR (PP-OCRv4 Chinese models inside the wheel) on onnxruntime.

Lines are rebuilt in reading order from the recognised boxes (top to bottom, left to right within a
line), with a blank line where the gap between lines says a paragraph ends.
"""

import contextlib
import functools
import logging
import re
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from pathlib import Path

import numpy as np

from ingest.clean import joined_pieces
from ingest.errors import IngestError

log = logging.getLogger(__name__)
# Told (file name, pages done, pages to read) after each page read by OCR: a terminal's bar, the page's upload progress.
page_progress: ContextVar[Callable[[str, int, int], None] | None] = ContextVar("page_progress", default=None)

# PDF pages are rendered at twice 72 dpi for OCR: 144 dpi reads the Hubei sample as well as 216 dpi
# (the same 33-34 lines) in well under half the time (3.7 s against 10.0 s a page here).
PDF_SCALE = 2.0
# A scan of more pages is refused rather than keeping the server busy for an hour: split it first.
MAX_OCR_PAGES = 200
MAX_IMAGE_PIXELS = 60_000_000
MIN_CONFIDENCE = 0.5
SAME_LINE_OVERLAP = 0.6
# The recogniser's usual slips on Chinese text: half-width punctuation beside Chinese characters, and 丶 for 、.
HALF_TO_FULL = str.maketrans({",": "，", ";": "；", ":": "：", "?": "？", "!": "！", "(": "（", ")": "）"})
CJK = r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef“”‘’《》]"
HALF_WIDTH_BESIDE_CJK = re.compile(rf"(?<={CJK})[,;:?!()]|[,;:?!()](?={CJK})")


@functools.cache
def ocr_engine():
    """The OCR engine, loaded on first use (its three models take a moment)."""
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError as error:
        raise IngestError("未安装文字识别组件 rapidocr-onnxruntime，无法识别扫描件和图片：请运行 pip install rapidocr-onnxruntime") from error
    return RapidOCR()


def boxes_to_lines(result, scale: float = 1.0) -> list[tuple[float, str, tuple]]:
    """OCR boxes ([4 corner points], text, confidence) as lines in reading order: (top, text, box), divided by `scale`.

    The detector gives most lines as one box; pieces of a line split by a gap join it when they
    overlap its first box by most of their height (a page photographed at a slant tilts each line's
    box, so a box's whole vertical extent would run into the next line).
    """
    boxes = []
    for corners, text, confidence in result or []:
        if not text.strip() or float(confidence) < MIN_CONFIDENCE:
            continue
        ys, xs = [p[1] for p in corners], [p[0] for p in corners]
        boxes.append((min(ys) / scale, max(ys) / scale, min(xs) / scale, max(xs) / scale, text.strip()))
    lines: list[list] = []  # [top, bottom, [(left, right, text)]] with the extent of the line's first box
    for top, bottom, left, right, text in sorted(boxes, key=lambda b: (b[0] + b[1]) / 2):
        line = next((ln for ln in reversed(lines) if overlap(ln[0], ln[1], top, bottom) >= SAME_LINE_OVERLAP), None)
        if line is None:
            lines.append([top, bottom, [(left, right, text)]])
        else:
            line[2].append((left, right, text))
    return [
        (top, tidied(joined_pieces(text for _, _, text in sorted(pieces))),
         (min(p[0] for p in pieces), top, max(p[1] for p in pieces), bottom))
        for top, bottom, pieces in sorted(lines)
    ]


def tidied(line: str) -> str:
    """A recognised line with the recogniser's usual slips on Chinese text put right."""
    line = line.replace("丶", "、")
    return HALF_WIDTH_BESIDE_CJK.sub(lambda m: m.group(0).translate(HALF_TO_FULL), line)


def overlap(top_a: float, bottom_a: float, top_b: float, bottom_b: float) -> float:
    """How much two vertical extents overlap, as a share of the shorter one."""
    shorter = min(bottom_a - top_a, bottom_b - top_b)
    return max(0.0, min(bottom_a, bottom_b) - max(top_a, top_b)) / shorter if shorter > 0 else 0.0


def image_lines(image: np.ndarray, scale: float = 1.0) -> list[tuple[float, str, tuple]]:
    """The text lines OCR reads on one page image (RGB array), boxes divided by `scale`."""
    # No text-direction classifier: it turned whole long lines of an upright page upside down (read as
    # nothing), 10 % of the Hubei scan's characters; pages of government documents stand upright.
    result, _ = ocr_engine()(image, use_cls=False)
    return boxes_to_lines(result, scale)


def read_image_lines(path: Path) -> tuple[int, int, list[tuple[float, str, tuple]]]:
    """The size and text lines of a photo or scan of a page (.png, .jpg)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            if image.width * image.height > MAX_IMAGE_PIXELS:
                raise IngestError(f"{path}: 图片过大（{image.width}×{image.height} 像素），请缩小到 6000 万像素以内再导入")
            pixels = np.asarray(image.convert("RGB"))
    except (UnidentifiedImageError, OSError) as error:
        raise IngestError(f"{path}: 图片已损坏或无法识别（{error}），请重新拍照或扫描后导入") from error
    return pixels.shape[1], pixels.shape[0], image_lines(pixels)


def ocr_pdf_pages(path: Path, pages: list[int]) -> dict[int, list[tuple[float, str, tuple]]]:
    """OCR of the given PDF pages (0-based), each rendered at PDF_SCALE, boxes in points; progress per page in the log."""
    import pypdfium2 as pdfium

    if len(pages) > MAX_OCR_PAGES:
        raise IngestError(
            f"{path}: 有 {len(pages)} 页需要文字识别，超过一次导入的上限 {MAX_OCR_PAGES} 页：请拆分成较小的文件后分别导入"
        )
    document = pdfium.PdfDocument(str(path))
    read, started = {}, time.perf_counter()
    try:
        for done, index in enumerate(pages, start=1):
            read[index] = image_lines(document[index].render(scale=PDF_SCALE).to_numpy(), PDF_SCALE)
            log.info("%s：文字识别第 %d/%d 页（%.2f 页/秒）", path.name, done, len(pages), done / (time.perf_counter() - started))
            if (told := page_progress.get()) is not None:
                told(path.name, done, len(pages))
    finally:
        document.close()
    return read


@contextlib.contextmanager
def reporting_pages(callback: Callable[[str, int, int], None]) -> Iterator[None]:
    """Within the block, `callback(file name, pages done, pages to read)` is told of each page read by OCR."""
    token = page_progress.set(callback)
    try:
        yield
    finally:
        page_progress.reset(token)
