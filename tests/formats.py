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
