"""Render a Word file (or slides, .pptx) the way a reader sees it: LibreOffice converts it to PDF, each page becomes a PNG.

    python scripts/render_docx.py course.docx --out-dir rendered/

Prints the PDF and PNG paths, and for each font in the PDF how many CJK characters it draws, so that
missing-glyph boxes (CJK text drawn in a font without CJK glyphs) show up without opening the images.
"""

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

CONVERT_TIMEOUT_S = 180
RESOLUTION_DPI = 100
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
# Fonts with CJK glyphs as they appear in PDFs LibreOffice writes (subset prefix "ABCDEF+" aside).
CJK_FONT = re.compile(r"CJK|Song|Hei|Kai|Fang|Ming|Gothic|WenQuanYi|Droid ?Sans ?Fallback|SimSun|SimHei|Noto ?S[ae]", re.IGNORECASE)


def libreoffice() -> str:
    """The LibreOffice program, or an error saying how to install it."""
    program = shutil.which("libreoffice") or shutil.which("soffice")
    if program is None:
        raise RuntimeError("找不到 LibreOffice：请安装 Debian 软件包 libreoffice-writer 和 fonts-noto-cjk")
    return program


def docx_to_pdf(docx: Path, out_dir: Path, timeout: float = CONVERT_TIMEOUT_S) -> Path:
    """Convert a .docx to PDF with headless LibreOffice under a private profile (no clash with a running one)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lo-profile-") as profile:
        command = [
            libreoffice(), f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
            "--convert-to", "pdf", "--outdir", str(out_dir), str(docx),
        ]
        result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=timeout)
    pdf = out_dir / (docx.stem + ".pdf")
    if result.returncode != 0 or not pdf.is_file():
        raise RuntimeError(f"LibreOffice 未能转换 {docx}：{result.stderr.strip() or result.stdout.strip()}")
    return pdf


def pdf_to_pngs(pdf: Path, out_dir: Path, resolution: int = RESOLUTION_DPI) -> list[Path]:
    """Each page of the PDF as a PNG image."""
    import pdfplumber

    pngs = []
    with pdfplumber.open(pdf) as document:
        for number, page in enumerate(document.pages, start=1):
            path = out_dir / f"{pdf.stem}-page{number}.png"
            page.to_image(resolution=resolution).save(path)
            pngs.append(path)
    return pngs


def pdf_text(pdf: Path) -> str:
    """The text of all pages of the PDF."""
    import pdfplumber

    with pdfplumber.open(pdf) as document:
        return "\n".join(page.extract_text() or "" for page in document.pages)


def cjk_fonts(pdf: Path) -> Counter:
    """How many CJK characters each font of the PDF draws (font names without their subset prefix)."""
    import pdfplumber

    counts: Counter = Counter()
    with pdfplumber.open(pdf) as document:
        for page in document.pages:
            for char in page.chars:
                if CJK.match(char["text"]):
                    counts[char["fontname"].split("+", 1)[-1]] += 1
    return counts


def fonts_without_cjk(counts: Counter) -> list[str]:
    """The fonts drawing CJK characters that are not CJK fonts (the characters show as boxes)."""
    return sorted(font for font in counts if not CJK_FONT.search(font))


def main(argv: list[str] | None = None) -> int:
    """Render one .docx to PDF and PNG pages and report the fonts its Chinese text is drawn in."""
    parser = argparse.ArgumentParser(description="把 Word 文件渲染为 PDF 和 PNG，检查中文字体")
    parser.add_argument("docx", type=Path)
    parser.add_argument("--out-dir", type=Path, default=Path("rendered"))
    parser.add_argument("--timeout", type=float, default=CONVERT_TIMEOUT_S)
    args = parser.parse_args(argv)
    pdf = docx_to_pdf(args.docx, args.out_dir, args.timeout)
    print(f"PDF：{pdf}")
    for png in pdf_to_pngs(pdf, args.out_dir):
        print(f"PNG：{png}")
    counts = cjk_fonts(pdf)
    for font, count in counts.most_common():
        print(f"字体 {font}：{count} 个汉字")
    bad = fonts_without_cjk(counts)
    if bad or not counts:
        print(f"错误：汉字没有用中文字体显示（{'、'.join(bad) or '没有汉字'}）", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
