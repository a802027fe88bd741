"""OFD (GB/T 33190, the national format for electronic documents): the text layer of each page, in reading order.

An OFD is a zip: OFD.xml names each document's root (DocRoot) and its DocInfo (the title); the
document's Document.xml lists its pages, and each page's Content.xml holds TextObjects placed on the
page (Boundary "x y w h" in millimetres) whose TextCode runs carry the text at offsets X, Y within it.
Runs are joined into lines by their baseline, lines into paragraphs by the gaps between them.
"""

import posixpath
import zipfile
from pathlib import Path

from ingest.errors import IngestError

OFD_NAMESPACE = "http://www.ofdspec.org/2016"
MAX_UNPACKED = 512 * 1024 * 1024
# Runs whose baselines differ by less than this share of the font size stand on one line.
SAME_LINE = 0.5


def tag(name: str) -> str:
    """An element name in the OFD namespace."""
    return f"{{{OFD_NAMESPACE}}}{name}"


def parse(archive: zipfile.ZipFile, member: str):
    """One XML part of the package, parsed without network access or entity expansion."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        return etree.fromstring(archive.read(member), parser)
    except KeyError as error:
        raise IngestError(f"OFD 文件缺少 {member}：文件不完整，请重新导出 OFD") from error
    except etree.XMLSyntaxError as error:
        raise IngestError(f"OFD 文件中的 {member} 已损坏（{error}）：请重新导出 OFD") from error


def resolved(base: str, location: str) -> str:
    """A BaseLoc or DocRoot path inside the package: absolute from the root, else relative to `base`'s folder."""
    location = location.strip().replace("\\", "/")
    if location.startswith("/"):
        return location.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(base), location))


def run_positions(text_object) -> list[tuple[float, float, float, str]]:
    """The runs of one TextObject as (baseline y, x, font size, text) on the page."""
    x0, y0, *_ = (float(v) for v in (text_object.get("Boundary") or "0 0 0 0").split())
    size = float(text_object.get("Size") or 3.5)
    runs = []
    for code in text_object.iter(tag("TextCode")):
        if code.text:
            runs.append((y0 + float(code.get("Y") or 0), x0 + float(code.get("X") or 0), size, code.text))
    return runs


def page_lines(content) -> list[tuple[float, str, tuple]]:
    """A page's text lines, top to bottom: (baseline, text, box in millimetres)."""
    runs = sorted(r for obj in content.iter(tag("TextObject")) for r in run_positions(obj))
    lines: list[list] = []  # [baseline, size, [(x, text)]]
    for y, x, size, text in runs:
        if lines and abs(y - lines[-1][0]) < SAME_LINE * max(size, lines[-1][1]):
            lines[-1][2].append((x, text))
        else:
            lines.append([y, size, [(x, text)]])
    return [
        (y, "".join(t for _, t in sorted(pieces)).strip(), line_box(y, size, pieces))
        for y, size, pieces in lines
        if any(t.strip() for _, t in pieces)
    ]


def line_box(baseline: float, size: float, pieces: list[tuple[float, str]]) -> tuple[float, float, float, float]:
    """Where a line stands: from its first run to the end of its last (one font size a character), cap height to descent."""
    left = min(x for x, _ in pieces)
    right = max(x + len(t) * size for x, t in pieces)
    return left, baseline - size, right, baseline + 0.25 * size


def page_size(document, page) -> tuple[float, float]:
    """A page's width and height in millimetres: its own PhysicalBox, else the document's (A4 when neither says)."""
    for area in (page.find(f"{tag('Area')}/{tag('PhysicalBox')}"), document.find(f".//{tag('PageArea')}/{tag('PhysicalBox')}")):
        if area is not None and area.text:
            try:
                _, _, width, height = (float(v) for v in area.text.split())
                return width, height
            except ValueError:
                continue
    return 210.0, 297.0


def read_ofd_pages(path: Path) -> tuple[str | None, list[tuple[float, float, list[tuple]]]]:
    """The title (from DocInfo) and each page's size and lines of an OFD's first document."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as error:
        raise IngestError(f"{path}: 不是有效的 OFD 文件（{error}）：请用版式软件重新导出 OFD") from error
    with archive:
        names = set(archive.namelist())
        if sum(m.file_size for m in archive.infolist()) > MAX_UNPACKED:
            raise IngestError(f"{path}: OFD 解压后异常庞大，不像正常的公文，已拒绝导入；请确认文件来源")
        root = parse(archive, "OFD.xml")
        if any(n.rsplit("/", 1)[-1].lower().startswith("encrypt") for n in names) or root.find(f".//{tag('Encryptions')}") is not None:
            raise IngestError(f"{path}: OFD 文件已加密，无法读取正文：请先用版式软件解除加密（或另存为未加密的 OFD）再导入")
        body = root.find(tag("DocBody"))
        if body is None or body.findtext(tag("DocRoot")) is None:
            raise IngestError(f"{path}: OFD.xml 中没有 DocRoot：不是完整的 OFD 文件，请重新导出")
        title = (body.findtext(f"{tag('DocInfo')}/{tag('Title')}") or "").strip() or None
        document_path = resolved("", body.findtext(tag("DocRoot")))
        document = parse(archive, document_path)
        pages = []
        for page in document.iter(tag("Page")):
            content = parse(archive, resolved(document_path, page.get("BaseLoc") or ""))
            pages.append((*page_size(document, content), page_lines(content)))
    return title, pages
