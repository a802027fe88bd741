"""Builders of the Hubei sample in other file formats, for the ingestion tests."""

import html
from pathlib import Path

from ingest import clean_policy_text

GOV_PAGE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{title}</title>
<script>var tracker = "统计代码";</script><style>.nav {{ color: red; }}</style></head>
<body>
<div class="nav"><ul><li><a href="/">首页</a></li><li><a href="/zwgk">政务公开</a></li><li><a href="/hdjl">互动交流</a></li></ul></div>
<div class="crumb">当前位置：首页 &gt; 政务公开 &gt; 政策文件</div>
<div class="article"><h1>{title}</h1>
{body}
</div>
<div class="footer"><p>主办单位：某某省人民政府办公厅　地址：某某市某某路1号</p><p>网站标识码：4200000001　备案号：鄂ICP备00000000号</p></div>
</body></html>"""


def sample_lines(path: Path) -> list[str]:
    """The sample's cleaned lines: what every format carries."""
    return clean_policy_text(path.read_text(encoding="utf-8")).split("\n")


def write_docx(lines: list[str], target: Path) -> Path:
    """A Word file: one paragraph per line, '- ' items as real list paragraphs."""
    from docx import Document

    document = Document()
    for line in lines:
        if line.startswith("- "):
            document.add_paragraph(line[2:], style="List Bullet")
        else:
            document.add_paragraph(line)
    document.save(str(target))
    return target


def write_html(lines: list[str], title: str, target: Path) -> Path:
    """A government-site page: navigation, breadcrumb and footer around the article."""
    parts, items = [], []
    for line in lines:
        if line.startswith("- "):
            items.append(f"<li>{html.escape(line[2:])}</li>")
            continue
        if items:
            parts.append("<ul>" + "".join(items) + "</ul>")
            items = []
        parts.append(f"<p>{html.escape(line)}</p>")
    if items:
        parts.append("<ul>" + "".join(items) + "</ul>")
    target.write_text(GOV_PAGE.format(title=html.escape(title), body="\n".join(parts)), encoding="utf-8")
    return target


# An A4 page as an OFD lays it out, in millimetres: margins, font size, line step, characters a line.
OFD_PAGE = (210.0, 297.0)
OFD_MARGIN, OFD_SIZE, OFD_STEP, OFD_WIDTH = 25.0, 4.2, 7.0, 38
OFD_NS = "http://www.ofdspec.org/2016"


def ofd_layout(lines: list[str]) -> list[list[tuple[float, str]]]:
    """The sample's lines wrapped at the page width and placed on pages: each page's (baseline, text) runs."""
    pages, page, y = [], [], OFD_MARGIN
    for line in lines:
        for start in range(0, max(len(line), 1), OFD_WIDTH):
            if y > OFD_PAGE[1] - OFD_MARGIN:
                pages.append(page)
                page, y = [], OFD_MARGIN
            if line:
                page.append((y, line[start : start + OFD_WIDTH]))
            y += OFD_STEP
        y += OFD_STEP * 0.6  # the gap after a paragraph
    return pages + [page]


def write_ofd(lines: list[str], title: str, target: Path) -> Path:
    """An OFD package (GB/T 33190) built by hand: OFD.xml with DocInfo, Document.xml, one Content.xml per page."""
    import zipfile
    from xml.sax.saxutils import escape

    pages = ofd_layout(lines)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("OFD.xml", (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="{OFD_NS}" Version="1.0" DocType="OFD">'
            f"<ofd:DocBody><ofd:DocInfo><ofd:DocID>policyqa-test</ofd:DocID><ofd:Title>{escape(title)}</ofd:Title>"
            "<ofd:CreationDate>2025-08-06</ofd:CreationDate></ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot>"
            "</ofd:DocBody></ofd:OFD>"
        ))
        page_list = "".join(f'<ofd:Page ID="{i + 2}" BaseLoc="Pages/Page_{i}/Content.xml"/>' for i in range(len(pages)))
        package.writestr("Doc_0/Document.xml", (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document xmlns:ofd="{OFD_NS}"><ofd:CommonData>'
            f"<ofd:MaxUnitID>{len(pages) + 10000}</ofd:MaxUnitID><ofd:PageArea><ofd:PhysicalBox>0 0 {OFD_PAGE[0]} {OFD_PAGE[1]}"
            "</ofd:PhysicalBox></ofd:PageArea><ofd:PublicRes>PublicRes.xml</ofd:PublicRes></ofd:CommonData>"
            f"<ofd:Pages>{page_list}</ofd:Pages></ofd:Document>"
        ))
        package.writestr("Doc_0/PublicRes.xml", (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:Res xmlns:ofd="{OFD_NS}" BaseLoc="Res"><ofd:Fonts>'
            '<ofd:Font ID="1" FontName="宋体" FamilyName="宋体"/></ofd:Fonts></ofd:Res>'
        ))
        for number, runs in enumerate(pages):
            objects, unit = [], 1000 + number * 100
            for y, text in runs:
                width = len(text) * OFD_SIZE
                deltas = " ".join([str(OFD_SIZE)] * (len(text) - 1))
                objects.append(
                    f'<ofd:TextObject ID="{unit}" Boundary="{OFD_MARGIN} {y - OFD_SIZE} {width} {OFD_SIZE * 1.4}" Font="1" Size="{OFD_SIZE}">'
                    f'<ofd:TextCode X="0" Y="{OFD_SIZE}" DeltaX="{deltas}">{escape(text)}</ofd:TextCode></ofd:TextObject>'
                )
                unit += 1
            package.writestr(f"Doc_0/Pages/Page_{number}/Content.xml", (
                f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page xmlns:ofd="{OFD_NS}"><ofd:Content>'
                f'<ofd:Layer ID="{unit}">{"".join(objects)}</ofd:Layer></ofd:Content></ofd:Page>'
            ))
    return target


def libreoffice_convert(source: Path, target: Path, filter_name: str, infilter: str | None = None) -> Path:
    """`source` converted by LibreOffice (its own profile, headless) and saved as `target`."""
    import shutil
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        command = ["soffice", f"-env:UserInstallation={Path(folder, 'profile').as_uri()}", "--headless", "--convert-to",
                   filter_name, "--outdir", folder, str(source)]
        if infilter:
            command[3:3] = [f"--infilter={infilter}"]
        subprocess.run(command, check=True, capture_output=True, timeout=300)
        made = [p for p in Path(folder).iterdir() if p.is_file()]
        assert len(made) == 1, f"LibreOffice made {made} from {source}"
        shutil.move(made[0], target)
    return target


def rasterised_pdf(pdf: Path, pages: list[int], target: Path, scale: float = 2.0) -> Path:
    """An image-only PDF of the given pages (0-based) of `pdf`: each page drawn by PDFium, kept as a picture, no text layer."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(pdf))
    images = [document[i].render(scale=scale).to_pil().convert("L") for i in pages]
    document.close()
    images[0].save(target, "PDF", resolution=72 * scale, save_all=True, append_images=images[1:])
    return target


def page_photo(pdf: Path, page: int, target: Path) -> Path:
    """A photo of one page (0-based): grey, a little askew, as a phone camera takes it."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(pdf))
    image = document[page].render(scale=2.0).to_pil().convert("L").rotate(1.0, expand=True, fillcolor=235)
    document.close()
    image.save(target)
    return target


EXEMPTION_LIST = [
    ("序号", "情形", "处理", "依据"),
    ("1", "干部在推进支点建设中因缺乏经验、先行先试出现的失误", "可以不予或者免于追究责任", "《中共湖北省委关于进一步激励干部担当作为的意见》"),
    ("2", "尚无明确限制的探索性试验中的失误", "可以不予或者免于追究责任", "《中共湖北省委关于进一步激励干部担当作为的意见》"),
    ("3", "干部受到诬告陷害、造成不良影响", "及时澄清正名，对诬告陷害者依规依纪依法严肃处理", "《中共湖北省委关于进一步激励干部担当作为的意见》"),
    ("4", "受处理处分影响期满、符合有关条件的干部", "按规定积极合理使用", "《中共湖北省委关于进一步激励干部担当作为的意见》"),
]


def write_exemption_list(target: Path, filter_name: str = "xlsx") -> Path:
    """A 免责事项清单 spreadsheet with a header row, written by LibreOffice Calc from CSV (filter: xlsx or xls)."""
    import csv

    source = target.with_name("免责事项清单.csv")  # LibreOffice names the sheet after the file
    with source.open("w", encoding="utf-8", newline="") as file:
        csv.writer(file).writerows(EXEMPTION_LIST)
    try:
        # CSV import options: comma separated, double quotes, UTF-8 (76), first line 1
        return libreoffice_convert(source, target, filter_name, infilter="CSV:44,34,76,1")
    finally:
        source.unlink()
