"""The original page of a paged source (#20 item 5): a citation's `page`, and the page as a PNG with the cited span boxed."""

import io
from pathlib import Path

import httpx
import pytest

from conftest import HUBEI, make_settings
from formats import rasterised_pdf, sample_lines, write_ofd
from serving import served

EXEMPTION = "先行先试中出现的失误能否免责？"
READ = "read-key-pages"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
OUTLINE = (214, 40, 40)  # ingest.pages.SPAN_OUTLINE


@pytest.fixture(scope="module")
def paged(tmp_path_factory, shared_ocr_reads):
    """The app served with a read key over a store holding one page of the Hubei opinion as a scan (no text layer)."""
    from assistant import create_service
    from web.server import create_server

    folder = tmp_path_factory.mktemp("pages")
    scan = rasterised_pdf(FIXTURES / "hubei.pdf", [1], folder / "hubei-scan.pdf")
    settings = make_settings(folder / "store", api_keys=READ, ingest_sample_when_empty=False)
    service = create_service(settings)
    report = service.ingest([scan])
    assert report.errors == [] and report.pages == 1 and report.pages_per_second > 0
    with served(create_server(service, settings)) as url:
        yield url, service, folder


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def outline_pixels(png: bytes) -> int:
    """How many pixels of a PNG have the span's outline colour."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    return sum(1 for pixel in image.getdata() if pixel == OUTLINE)


def test_the_scanned_citation_has_page_1_and_its_page_comes_back_with_the_span_boxed(paged):
    url, _, _ = paged
    body = httpx.post(url + "/api/v1/ask", json={"question": EXEMPTION}, headers=bearer(READ), timeout=60).json()
    assert not body["refused"] and "因缺乏经验、先行先试出现的失误" in body["answer"]
    citation = body["citations"][0]
    assert citation["page"] == 1
    address = f"{url}/api/v1/documents/{citation['doc_id']}/pages/1"
    boxed = httpx.get(address, params={"start": citation["start"], "end": citation["end"]}, headers=bearer(READ), timeout=60)
    assert boxed.status_code == 200 and boxed.headers["content-type"] == "image/png"
    plain = httpx.get(address, headers=bearer(READ), timeout=60)
    assert plain.status_code == 200 and plain.headers["content-type"] == "image/png"
    assert outline_pixels(boxed.content) > 500 and outline_pixels(plain.content) == 0


def test_the_box_stands_where_the_cited_words_are_on_the_page(paged):
    from PIL import Image

    _, service, _ = paged
    citation = service.ask(EXEMPTION).citations[0]
    png = service.page_image(citation.doc_id, 1, citation.start, citation.end)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    rows = sorted({y for y in range(image.height) for x in range(0, image.width, 4) if image.getpixel((x, y)) == OUTLINE})
    # the provision stands under the heading 健全完善容错免责机制, about a third of the way down the page
    assert 0.25 < rows[0] / image.height < 0.45 and rows[-1] - rows[0] < 0.1 * image.height


def test_pages_that_cannot_be_shown_say_why(paged):
    url, service, _ = paged
    doc_id = service.ask(EXEMPTION).citations[0].doc_id
    pages = f"{url}/api/v1/documents/{doc_id}/pages"
    assert httpx.get(pages + "/1", timeout=30).status_code == 401
    missing = httpx.get(pages + "/2", headers=bearer(READ), timeout=30)
    assert missing.status_code == 404 and "没有第 2 页" in missing.json()["detail"]
    wrong_span = httpx.get(pages + "/1", params={"start": 5, "end": 10**7}, headers=bearer(READ), timeout=30)
    assert wrong_span.status_code == 422 and "不在文档内" in wrong_span.json()["detail"]
    unknown = httpx.get(f"{url}/api/v1/documents/doc-000000000000/pages/1", headers=bearer(READ), timeout=30)
    assert unknown.status_code == 404 and "没有编号为" in unknown.json()["detail"]


def test_an_unpaged_document_has_no_page_and_no_page_image(paged):
    url, service, folder = paged
    text = folder / "notice.txt"
    text.write_text("关于干部教育培训学时的通知\n一、学时要求\n参加脱产培训的干部每年累计不少于一百一十学时。\n", encoding="utf-8")
    doc_id = service.ingest([text]).doc_ids[0]
    answer = service.ask("脱产培训每年要多少学时？")
    assert answer.citations[0].doc_id == doc_id and answer.citations[0].page == 0
    assert answer.to_dict()["citations"][0]["page"] is None
    refused = httpx.get(f"{url}/api/v1/documents/{doc_id}/pages/1", headers=bearer(READ), timeout=30)
    assert refused.status_code == 404 and "没有分页" in refused.json()["detail"]


def test_an_ofd_page_is_drawn_from_its_own_layout(tmp_path, fresh_service):
    ofd = write_ofd(sample_lines(HUBEI), "中共湖北省委关于进一步激励干部担当作为的意见", tmp_path / "hubei.ofd")
    fresh_service.ingest([ofd])
    citation = fresh_service.ask(EXEMPTION).citations[0]
    assert citation.source == str(ofd) and citation.page == 2
    png = fresh_service.page_image(citation.doc_id, citation.page, citation.start, citation.end)
    assert png.startswith(b"\x89PNG") and outline_pixels(png) > 500
    ofd.unlink()  # drawn from the stored layout and text: the file itself is not needed
    assert fresh_service.page_image(citation.doc_id, citation.page).startswith(b"\x89PNG")


def test_a_removed_document_takes_its_pages_with_it(tmp_path, fresh_service):
    ofd = write_ofd(sample_lines(HUBEI), "中共湖北省委关于进一步激励干部担当作为的意见", tmp_path / "hubei.ofd")
    doc_ids = fresh_service.ingest([ofd]).doc_ids
    for doc_id in doc_ids:
        fresh_service.remove(doc_id)
        with pytest.raises(KeyError):
            fresh_service.page_image(doc_id, 1)
    assert not list((Path(fresh_service.settings.data_dir) / "pages").glob("*.json"))


def test_the_page_fetches_its_images_only_at_addresses_it_signed(paged):
    from web.page_links import PageLinks

    url, service, folder = paged
    citation = service.ask(EXEMPTION).citations[0]
    signed = PageLinks.of(service.settings.data_dir).url(citation)
    assert signed.startswith("/page-images/default/") and httpx.get(url + signed, timeout=60).status_code == 200
    forged = signed.rsplit("sig=", 1)[0] + "sig=" + "0" * 32
    assert httpx.get(url + forged, timeout=30).status_code == 403
    widened = signed.replace(f"end={citation.end}", f"end={citation.end + 1}")
    assert httpx.get(url + widened, timeout=30).status_code == 403
