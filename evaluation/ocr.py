"""OCR character accuracy on a scan of a text whose true characters are known, and pages read per second.

    .venv/bin/python -m evaluation.ocr [--pdf tests/fixtures/hubei.pdf] [--scales 1.5,2,3]

Each page of a PDF with a text layer is drawn by PDFium as a grey picture (a scan with no text),
read by the project's OCR, and compared with the page's own text layer: character accuracy is
1 − edit distance / reference length, over the text without whitespace, as read (strict) and with
full- and half-width forms counted alike (NFKC), since the sample mixes ASCII commas with
Chinese text and OCR writes them full-width.
"""

import argparse
import json
import time
import unicodedata
from pathlib import Path

import numpy as np

from ingest.clean import squeeze

DEFAULT_PDF = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "hubei.pdf"


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance between two strings, a row of the table at a time in NumPy."""
    if not a or not b:
        return len(a) or len(b)
    codes_b = np.frombuffer(b.encode("utf-32-le"), dtype=np.uint32)
    index = np.arange(len(b) + 1)
    row = index.copy()
    for i, ch in enumerate(a, start=1):
        best = np.minimum(row[:-1] + (codes_b != ord(ch)), row[1:] + 1)  # substitute (or keep), delete
        # insertions run along the row: new[j] = min over k <= j of best[k] + (j - k), with best[0] = i
        row = np.minimum.accumulate(np.concatenate(([i], best)) - index) + index
    return int(row[-1])


def accuracy(read: str, truth: str) -> float:
    """Character accuracy of `read` against `truth`: 1 − edit distance / length of truth."""
    return 1 - edit_distance(read, truth) / max(len(truth), 1)


def text_layer(pdf: Path) -> list[str]:
    """Each page's own text, as the PDF's text layer gives it."""
    import pdfplumber

    with pdfplumber.open(str(pdf)) as document:
        return [page.extract_text() or "" for page in document.pages]


def scanned_pages(pdf: Path, scale: float):
    """Each page drawn as a grey picture at `scale` × 72 dpi (RGB arrays), as a scanner gives them."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(pdf))
    try:
        return [np.asarray(document[i].render(scale=scale).to_pil().convert("L").convert("RGB")) for i in range(len(document))]
    finally:
        document.close()


def measure(pdf: Path, scale: float) -> dict:
    """OCR every page of `pdf` drawn at `scale`: accuracy against the text layer, and pages per second."""
    from ingest.ocr import image_lines, ocr_engine

    ocr_engine()  # loaded before the clock starts
    truth = "".join(squeeze(page) for page in text_layer(pdf))
    images = scanned_pages(pdf, scale)
    began = time.perf_counter()
    read = "".join(squeeze(text) for image in images for _, text, _ in image_lines(image))
    seconds = time.perf_counter() - began
    wide = unicodedata.normalize("NFKC", read), unicodedata.normalize("NFKC", truth)
    return {
        "scale": scale, "dpi": round(72 * scale), "pages": len(images), "characters": len(truth),
        "accuracy": round(accuracy(read, truth), 4), "accuracy_nfkc": round(accuracy(*wide), 4),
        "pages_per_second": round(len(images) / seconds, 3),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pdf", type=Path, default=DEFAULT_PDF)
    parser.add_argument("--scales", default="2", help="render scales to measure, comma separated (2 = 144 dpi, the default)")
    args = parser.parse_args(argv)
    rows = [measure(args.pdf, float(scale)) for scale in args.scales.split(",")]
    print(json.dumps(rows, ensure_ascii=False, indent=1))
    print("| dpi | pages | characters | accuracy (as read) | accuracy (NFKC) | pages/s |")
    print("| --- | --- | --- | --- | --- | --- |")
    for row in rows:
        print(f"| {row['dpi']} | {row['pages']} | {row['characters']} | {row['accuracy']:.4f} | {row['accuracy_nfkc']:.4f} | {row['pages_per_second']:.2f} |")


if __name__ == "__main__":
    main()
