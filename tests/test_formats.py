"""Real files in the formats organisations keep: Word, PDF, web pages, GBK and UTF-16 text."""

import re
from pathlib import Path

import pytest

from conftest import HUBEI
from formats import sample_lines, write_docx, write_html
from ingest import load_policy_file

FIXTURES = Path(__file__).resolve().parent / "fixtures"
EXEMPTION = "先行先试中出现的失误能否免责？"


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def build(kind: str, folder: Path) -> Path:
    """The Hubei sample as a file of the given kind."""
    lines = sample_lines(HUBEI)
    raw = HUBEI.read_text(encoding="utf-8")
    if kind == "docx":
        return write_docx(lines, folder / "hubei.docx")
    if kind == "html":
        return write_html(lines, "中共湖北省委关于进一步激励干部担当作为的意见", folder / "hubei.html")
    if kind == "gbk":
        path = folder / "hubei-gbk.txt"
        path.write_bytes(raw.encode("gbk"))
        return path
    if kind == "utf16":
        path = folder / "hubei-utf16.txt"
        path.write_bytes(raw.encode("utf-16-le"))
        return path
    if kind == "pdf":
        return FIXTURES / "hubei.pdf"
    raise ValueError(kind)


KINDS = ["docx", "html", "gbk", "utf16", "pdf"]


@pytest.mark.parametrize("kind", KINDS)
def test_each_format_gives_the_passages_and_section_paths_of_the_utf8_original(kind, tmp_path):
    def shape(articles):
        return [
            (document.title, [(tuple(squeeze(h) for h in p.section_path), squeeze(p.text)) for p in passages])
            for document, passages in articles
        ]

    assert shape(load_policy_file(build(kind, tmp_path))) == shape(load_policy_file(HUBEI))


@pytest.mark.parametrize("kind", KINDS)
def test_the_exemption_question_is_answered_from_each_format_citing_that_file(kind, tmp_path, fresh_service):
    path = build(kind, tmp_path)
    report = fresh_service.ingest([path])
    assert report.errors == []
    answer = fresh_service.ask(EXEMPTION)
    assert not answer.refused
    assert "因缺乏经验、先行先试出现的失误" in answer.text
    assert answer.citations[0].source == str(path)
    assert "健全完善容错免责机制" in answer.citations[0].section


def test_site_navigation_and_footer_are_left_out_of_a_web_page(tmp_path):
    articles = load_policy_file(build("html", tmp_path))
    text = "".join(document.text for document, _ in articles)
    passages = [p for _, article in articles for p in article]
    assert "首页" not in text and "备案号" not in text and "统计代码" not in text and "当前位置" not in text
    assert any("先行先试出现的失误" in p.text for p in passages)


BLANK_PAGE_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def test_a_pdf_page_without_text_even_by_ocr_is_refused_saying_so(tmp_path):
    from ingest import IngestError

    scan = tmp_path / "scan.pdf"
    scan.write_bytes(BLANK_PAGE_PDF)
    with pytest.raises(IngestError, match="文字识别（OCR）也未识别出文字"):
        load_policy_file(scan)


def test_a_web_page_is_stored_verbatim_without_markdown_escapes(tmp_path):
    lines = [
        "关于印发《某某办法》的通知（鄂政办发〔2025〕12号）",
        "一、带*号的条款为必填项，字段名 A_B_C 按原样填写，文号写作[2025]12号，见附件<1>。",
        "二、路径写作 C:\\政策\\*.docx，数量 `3`，区间 ~5~，标注 **重点** 字样。",
        "1. 不是列表的编号开头，也要原样保留这一段文字。",
    ]
    articles = load_policy_file(write_html(lines, "关于印发《某某办法》的通知", tmp_path / "page.html"))
    text = "\n".join(p.text for _, passages in articles for p in passages)
    for line in lines[1:]:
        assert squeeze(line) in squeeze(text), text
    assert "\\" not in text.replace("C:\\政策\\*.docx", "")


# Files as government offices have them (#20): each made by the tool that makes such files.
OFFICE_KINDS = ["ofd", "doc", "wps", "scan", "photo", "xlsx", "xls"]
PROVISION_PAGE = 1  # 0-based: the page of hubei.pdf that holds the 容错免责 provision


@pytest.fixture(scope="module")
def office_files(tmp_path_factory, shared_ocr_reads) -> dict[str, Path]:
    """The Hubei opinion (or its 免责事项清单) in each office format, made once for the module."""
    from formats import libreoffice_convert, page_photo, rasterised_pdf, write_exemption_list, write_ofd

    folder = tmp_path_factory.mktemp("office")
    lines = sample_lines(HUBEI)
    docx = write_docx(lines, folder / "hubei.docx")
    doc = libreoffice_convert(docx, folder / "hubei.doc", "doc:MS Word 97")
    # Kingsoft WPS writes .wps in Word 97's compound-file format; LibreOffice cannot write .wps itself
    wps = folder / "hubei.wps"
    wps.write_bytes(doc.read_bytes())
    return {
        "ofd": write_ofd(lines, "中共湖北省委关于进一步激励干部担当作为的意见", folder / "hubei.ofd"),
        "doc": doc,
        "wps": wps,
        "scan": rasterised_pdf(FIXTURES / "hubei.pdf", [PROVISION_PAGE], folder / "hubei-scan.pdf"),
        "photo": page_photo(FIXTURES / "hubei.pdf", PROVISION_PAGE, folder / "hubei-photo.png"),
        "xlsx": write_exemption_list(folder / "免责事项清单.xlsx"),
        "xls": write_exemption_list(folder / "免责事项清单.xls", "xls:MS Excel 97"),
    }


@pytest.mark.parametrize("kind", OFFICE_KINDS)
def test_the_exemption_question_is_answered_from_each_office_format_alone(kind, office_files, fresh_service):
    path = office_files[kind]
    report = fresh_service.ingest([path])
    assert report.errors == [] and report.documents_added >= 1
    answer = fresh_service.ask(EXEMPTION)
    assert not answer.refused, answer.text
    assert "因缺乏经验、先行先试出现的失误" in answer.text
    assert "可以不予或者免于追究责任" in squeeze(answer.text) or kind in ("scan", "photo")
    assert answer.citations[0].source == str(path)


def test_a_spreadsheet_row_is_a_passage_that_keeps_its_headers(office_files):
    (document, passages), = load_policy_file(office_files["xlsx"])
    rows = [p.text for p in passages if "先行先试" in p.text]
    assert rows == ["序号：1，情形：干部在推进支点建设中因缺乏经验、先行先试出现的失误，处理：可以不予或者免于追究责任，"
                    "依据：《中共湖北省委关于进一步激励干部担当作为的意见》。"]
    assert all("诬告陷害" not in row for row in rows)


def test_an_ofd_gives_the_documents_of_the_original_and_its_docinfo_title(office_files):
    from ingest.loaders import read_policy_file

    assert read_policy_file(office_files["ofd"]).title == "中共湖北省委关于进一步激励干部担当作为的意见"
    read = [(d.title, squeeze(d.text)) for d, _ in load_policy_file(office_files["ofd"])]
    assert read == [(d.title, squeeze(d.text)) for d, _ in load_policy_file(HUBEI)]


def test_a_scan_is_read_by_ocr_in_reading_order(office_files):
    text = "".join(d.text for d, _ in load_policy_file(office_files["scan"]))
    provision = "建立重点领域免责减责事项清单，对干部在推进支点建设中因缺乏经验、先行先试出现的失误"
    assert provision in text
    assert text.index("容错免责") < text.index(provision)


# Bad office input (#20 item 6): each refused with a line saying why and what to do, nothing stored lost.
def encrypted_pdf(folder: Path) -> Path:
    """The Hubei opinion as a PDF that needs a password to open, written by LibreOffice."""
    from formats import libreoffice_convert

    docx = write_docx(sample_lines(HUBEI), folder / "加密.docx")
    options = '{"EncryptFile":{"type":"boolean","value":"true"},"DocumentOpenPassword":{"type":"string","value":"secret"}}'
    return libreoffice_convert(docx, folder / "加密.pdf", f"pdf:writer_pdf_Export:{options}")


def encrypted_ofd(folder: Path) -> Path:
    """An OFD whose package declares its content encrypted (GB/T 33190's Encryptions)."""
    import zipfile

    from formats import write_ofd

    plain = write_ofd(sample_lines(HUBEI)[:5], "加密文件", folder / "plain.ofd")
    target = folder / "加密.ofd"
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(target, "w") as package:
        for item in source.infolist():
            package.writestr(item, source.read(item))
        package.writestr("Doc_0/Encryptions.xml", '<?xml version="1.0"?><ofd:Encryptions xmlns:ofd="http://www.ofdspec.org/2016"/>')
    return target


def blank_photo(folder: Path) -> Path:
    from PIL import Image

    target = folder / "空白.png"
    Image.new("L", (1200, 1600), 250).save(target)
    return target


def long_scan(folder: Path, pages: int = 500) -> Path:
    """An image-only PDF of many (tiny, blank) pages: a whole archive box scanned in one go."""
    from PIL import Image

    target = folder / "档案盒.pdf"
    images = [Image.new("L", (60, 80), 255) for _ in range(pages)]
    images[0].save(target, "PDF", save_all=True, append_images=images[1:])
    return target


def huge_sheet(folder: Path, rows: int = 100_000) -> Path:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("办事指南")
    sheet.append(["事项", "办理时限"])
    for number in range(rows):
        sheet.append([f"事项{number}", f"{number % 30 + 1}个工作日"])
    target = folder / "十万行.xlsx"
    workbook.save(target)
    return target


BAD_OFFICE_FILES = {
    "encrypted pdf": (encrypted_pdf, "PDF 已加密，无法读取：请用原密码打开后另存为未加密的 PDF 再导入"),
    "encrypted ofd": (encrypted_ofd, "OFD 文件已加密，无法读取正文：请先用版式软件解除加密"),
    "broken ofd": (lambda folder: write_bytes(folder / "坏.ofd", b"PK\x03\x04not really a zip"), "不是有效的 OFD 文件"),
    "broken xlsx": (lambda folder: write_bytes(folder / "坏.xlsx", b"PK\x03\x04not really a zip"), "不是有效的 .xlsx 文件"),
    "fake doc": (lambda folder: write_bytes(folder / "假.doc", "这只是改了扩展名的文本".encode()), "不是有效的 Word 97-2003 或 WPS 文字 文件（文件头不符）"),
    "photo without text": (blank_photo, "图片中没有识别出文字：请确认图片清晰、方向正确后再导入"),
    "500-page scan": (long_scan, "有 500 页需要文字识别，超过一次导入的上限 200 页：请拆分成较小的文件后分别导入"),
    "100 000-row sheet": (huge_sheet, "表格超过 20000 行，一次导入过大：请按类别拆分成几个文件"),
}


def write_bytes(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


@pytest.mark.parametrize("case", BAD_OFFICE_FILES)
def test_a_bad_office_file_is_refused_saying_why_and_nothing_stored_is_lost(case, tmp_path, sample_service):
    from ingest import IngestError

    build_file, message = BAD_OFFICE_FILES[case]
    path = build_file(tmp_path)
    before = sample_service.documents()
    with pytest.raises(IngestError) as refused:
        sample_service.ingest_upload(path.name, path.read_bytes())
    assert message in str(refused.value) and str(tmp_path) not in str(refused.value)
    assert sample_service.documents() == before
    assert not sample_service.ask(EXEMPTION).refused


def test_real_world_ofd_files_are_read_page_by_page(fresh_service):
    """OFDs made by other producers (ofdrw's test files, Apache-2.0): a two-page essay and an issued e-invoice."""
    from ingest.loaders import read_policy_file

    essay = read_policy_file(FIXTURES / "ofdrw" / "hello.ofd")
    assert [page.number for page in essay.layout.pages] == [1, 2]
    assert "中国一向是所谓“闭关主义”，自己不去，别人也不许来。" in essay.text
    invoice = read_policy_file(FIXTURES / "ofdrw" / "invoice.ofd")
    assert "2020年10月10日" in invoice.text and len(invoice.layout.pages) == 1

    fresh_service.ingest([FIXTURES / "ofdrw" / "hello.ofd"])
    citation = fresh_service.ask("什么是送去主义？").citations[0]
    assert citation.page in (1, 2) and "送去主义" in citation.text
    assert fresh_service.page_image(citation.doc_id, citation.page, citation.start, citation.end).startswith(b"\x89PNG")


def test_a_ruled_table_in_word_and_in_its_pdf_gives_one_passage_a_row_with_its_headers(tmp_path):
    from docx import Document

    from formats import EXEMPTION_LIST, libreoffice_convert

    document = Document()
    document.add_paragraph("关于印发免责事项清单的通知")
    document.add_paragraph("各市州组织部：现将免责事项清单印发给你们，请遵照执行。")
    table = document.add_table(rows=0, cols=len(EXEMPTION_LIST[0]))
    table.style = "Table Grid"
    for row in EXEMPTION_LIST:
        for cell, value in zip(table.add_row().cells, row):
            cell.text = value
    document.add_paragraph("本清单自印发之日起施行。")
    docx = tmp_path / "清单通知.docx"
    document.save(docx)
    pdf = libreoffice_convert(docx, tmp_path / "清单通知.pdf", "pdf")
    row = "序号：4，情形：受处理处分影响期满、符合有关条件的干部，处理：按规定积极合理使用，依据：《中共湖北省委关于进一步激励干部担当作为的意见》。"
    for path in (docx, pdf):
        passages = [p for _, article in load_policy_file(path) for p in article]
        assert [p.text for p in passages if "受处理处分" in p.text] == [row], path
        assert passages[-1].text == "本清单自印发之日起施行。"
