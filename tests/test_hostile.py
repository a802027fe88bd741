"""Hostile input over real HTTP: odd questions, oversized and disguised files, looping PDFs.

Each gets a clear error within a bounded time (a guard against hangs, not a speed target), and the
documents already stored are all still there afterwards.
"""

import io
import json
import socket
import time
import zipfile
from urllib.parse import urlsplit

import httpx
import pytest

from conftest import make_settings
from serving import served

HANG_GUARD_S = 60
EXEMPTION = "先行先试中出现的失误能否免责？"


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """The app with default limits (no keys: open on loopback), over its own store holding the sample."""
    from assistant import create_service
    from web.server import create_server

    settings = make_settings(tmp_path_factory.mktemp("hostile-store"))
    service = create_service(settings)
    service.ensure_sample()
    with served(create_server(service, settings)) as url:
        yield url


@pytest.fixture
def stored_before(app_url):
    """The stored documents before the test; the test checks they are all still there after it."""
    before = httpx.get(app_url + "/api/v1/documents").json()["documents"]
    yield before
    assert httpx.get(app_url + "/api/v1/documents").json()["documents"] == before


def ask(url: str, question: str) -> httpx.Response:
    return httpx.post(url + "/api/v1/ask", json={"question": question}, timeout=HANG_GUARD_S)


@pytest.mark.parametrize("question", ["", "   ", "\n\t\u3000 ", "\x00\x01\x02"])
def test_empty_and_blank_questions_are_refused_saying_so(app_url, stored_before, question):
    reply = ask(app_url, question)
    assert reply.status_code == 422
    assert reply.json()["detail"] == "问题不能为空，请输入要咨询的政策问题"


def test_a_100000_character_question_is_refused_saying_how_long_it_may_be(app_url, stored_before):
    began = time.monotonic()
    reply = ask(app_url, "q" * 100_000)
    assert reply.status_code == 422 and "问题过长（100000 字）" in reply.json()["detail"]
    chinese = ask(app_url, "干部" * 50_000)
    assert chinese.status_code == 413 and "请求体过大" in chinese.json()["detail"]
    assert time.monotonic() - began < HANG_GUARD_S


def test_control_characters_in_a_question_are_dropped_and_it_is_answered(app_url, stored_before):
    reply = ask(app_url, "\x1b[31m先行先试中\x00出现的失误\x7f能否免责？\x08")
    assert reply.status_code == 200
    assert "先行先试出现的失误" in reply.json()["answer"]


def upload_answer(url: str, size: int, chunked: bool) -> tuple[int, dict]:
    """POST an upload of `size` bytes over a raw socket and read the server's answer, which may come (and the
    connection close) before the body is all sent; returns the status and the JSON body."""
    address = urlsplit(url)
    boundary = "policyqa-boundary"
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n\r\n'.encode()
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size + len(head)}"
    request = (
        f"POST /api/v1/documents HTTP/1.1\r\nHost: {address.netloc}\r\n{framing}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\nConnection: close\r\n\r\n"
    ).encode()
    block = "干".encode() * (1024 * 1024 // 3)
    with socket.create_connection((address.hostname, address.port), timeout=HANG_GUARD_S) as connection:
        try:
            connection.sendall(request)
            for piece in [head] + [block] * (size // len(block)):
                connection.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
        except OSError:
            pass  # the server answered and closed while the body was still coming: its answer is read below
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    status_line, _, rest = received.partition(b"\r\n")
    body = rest.split(b"\r\n\r\n", 1)[1]
    return int(status_line.split()[1]), json.loads(body)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_200_mb_upload_is_refused_before_it_is_stored(app_url, stored_before, chunked):
    status, body = upload_answer(app_url, 200 * 1024 * 1024, chunked)
    assert status == 413 and "文件过大：上限 50 MB" in body["detail"]
    assert httpx.get(app_url + "/healthz").json()["status"] == "ok"


def zip_bomb_docx(unpacked_mb: int) -> bytes:
    """A .docx-looking zip whose document part unpacks to `unpacked_mb` MB of repeated bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        with archive.open("word/document.xml", "w", force_zip64=True) as part:
            block = b"0" * (1024 * 1024)
            for _ in range(unpacked_mb):
                part.write(block)
    return buffer.getvalue()


def test_a_zip_bomb_disguised_as_docx_is_refused_unopened(app_url, stored_before):
    bomb = zip_bomb_docx(1024)
    assert len(bomb) < 5 * 1024 * 1024
    began = time.monotonic()
    reply = httpx.post(app_url + "/api/v1/documents", files={"file": ("通知.docx", bomb)}, timeout=HANG_GUARD_S)
    assert reply.status_code == 422
    assert "通知.docx" in reply.json()["detail"] and "解压后异常庞大" in reply.json()["detail"]
    assert time.monotonic() - began < HANG_GUARD_S


def pdf_file(objects: list[bytes], prev_loop: bool = False) -> bytes:
    """A PDF with these objects (1 is the catalog) and a correct cross-reference table."""
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    prev = f" /Prev {xref}" if prev_loop else ""
    return out + f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R{prev} >>\nstartxref\n{xref}\n%%EOF\n".encode()


CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"
PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 100 100] /Contents 4 0 R /Resources << /XObject << /X1 5 0 R >> >> >>"
SELF_DRAWING = b"<< /Type /XObject /Subtype /Form /BBox [0 0 100 100] /Resources << /XObject << /X1 5 0 R >> >> /Length 6 >>\nstream\n/X1 Do\nendstream"
LOOPING_PDFS = {
    "page-tree-cycle": pdf_file([CATALOG, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                                 b"<< /Type /Pages /Kids [2 0 R] /Parent 2 0 R /Count 1 >>"]),
    "xref-prev-loop": pdf_file([CATALOG, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 100 100] >>"], prev_loop=True),
    "self-drawing-form": pdf_file([CATALOG, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", PAGE,
                                   b"<< /Length 6 >>\nstream\n/X1 Do\nendstream", SELF_DRAWING]),
    "length-refers-to-itself": pdf_file([CATALOG, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", PAGE,
                                         b"<< /Length 4 0 R >>\nstream\nBT ET\nendstream"]),
}


@pytest.mark.parametrize("name", sorted(LOOPING_PDFS))
def test_a_pdf_that_loops_gets_a_clear_error(app_url, stored_before, name):
    began = time.monotonic()
    reply = httpx.post(
        app_url + "/api/v1/documents", files={"file": (f"{name}.pdf", LOOPING_PDFS[name])}, timeout=HANG_GUARD_S
    )
    assert reply.status_code == 422
    detail = reply.json()["detail"]
    assert detail.startswith(f"{name}.pdf: ") and ("已损坏" in detail or "没有可提取的文字" in detail)
    assert time.monotonic() - began < HANG_GUARD_S


def test_the_store_still_answers_after_all_of_it(app_url):
    reply = ask(app_url, EXEMPTION)
    assert reply.status_code == 200 and "先行先试出现的失误" in reply.json()["answer"]


def test_a_2000_character_english_question_of_distinct_words_is_searched_with_a_bounded_few(app_url, stored_before):
    """Each translated word is weighed against every other, so an unbounded list cost 40 s of CPU at 2 000 characters."""
    from assistant.crosslingual import MAX_UNITS, glossary

    words = sorted(key for key in glossary() if key.isalpha() and 5 <= len(key) <= 9)[::61]
    question = " ".join(words)[:1999]
    assert len(question) == 1999 and len(set(question.split())) > 5 * MAX_UNITS
    began = time.monotonic()
    reply = ask(app_url, question)
    assert reply.status_code == 200
    translated = reply.json()["answer"].split("词语检索：")[1]
    assert 10 < translated.count("→") <= MAX_UNITS
    assert time.monotonic() - began < HANG_GUARD_S


def raw_post(url: str, path: str, body: str) -> httpx.Response:
    """A JSON body sent as written (json.dumps would not let a lone surrogate through)."""
    return httpx.post(url + path, content=body.encode(), headers={"Content-Type": "application/json"}, timeout=HANG_GUARD_S)


@pytest.mark.parametrize("path, body", [
    ("/api/v1/ask", '{"question": "\\ud800先行先试中出现的失误能否免责？", "history": ["\\udfff"]}'),
    ("/api/v1/search", '{"query": "\\ud800先行先试出现的失误"}'),
    ("/v1/chat/completions", '{"messages": [{"role": "user", "content": "\\ud800先行先试中出现的失误能否免责？"}]}'),
])
def test_a_lone_surrogate_in_a_question_is_dropped_and_it_is_answered(app_url, stored_before, path, body):
    reply = raw_post(app_url, path, body)
    assert reply.status_code == 200, reply.text
    assert "先行先试出现的失误" in reply.text


def test_a_lone_surrogate_elsewhere_is_a_filter_that_matches_nothing_or_a_clear_422(app_url, stored_before):
    filtered = raw_post(app_url, "/api/v1/ask", '{"question": "先行先试中出现的失误能否免责？", "filters": {"issuer": "\\ud800"}}')
    assert filtered.status_code == 200 and filtered.json()["refused"], "no document has that issuer"
    openai = raw_post(app_url, "/v1/chat/completions", '{"model": "\\ud800", "messages": [{"role": "user", "content": "你好"}]}')
    assert openai.status_code == 422 and "无法识别的字符" in openai.json()["error"]["message"]
