"""The REST API, the OpenAI-compatible endpoint, keys, limits, CORS and framing, over real HTTP against the served app."""

import io
import socket
from pathlib import Path

import httpx
import openai
import pytest

from conftest import SAMPLE_DIR, make_settings
from ingest import load_policy_file
from serving import served

EXEMPTION = "先行先试中出现的失误能否免责？"
TRUE_QUOTE = "因缺乏经验、先行先试出现的失误"
READ, ADMIN = "read-key-123", "admin-key-456"
NEW_POLICY = "关于干部教育培训学时的通知\n一、学时要求\n参加脱产培训的干部每年累计不少于一百一十学时。\n".encode()


@pytest.fixture(scope="module")
def api_store(tmp_path_factory):
    """The data directory of the served app's store."""
    return tmp_path_factory.mktemp("api-store")


@pytest.fixture(scope="module")
def api(api_store):
    """The app served on loopback with a read key and an admin key, over its own store holding the sample."""
    from assistant import create_service
    from web.server import create_server

    settings = make_settings(
        api_store, api_keys=READ, admin_keys=ADMIN, max_request_kb=16, max_upload_mb=1,
        cors_origins="https://oa.example.gov.cn", embed_origins="https://portal.example.gov.cn",
    )
    service = create_service(settings)
    service.ensure_sample()
    with served(create_server(service, settings)) as url:
        yield url


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def test_health_is_open_and_reports_the_store(api):
    health = httpx.get(api + "/healthz").json()
    cut = sum(len(passages) for path in sorted(SAMPLE_DIR.glob("*.txt")) for _, passages in load_policy_file(path))
    assert health["status"] == "ok" and health["documents"] == 4 and health["passages"] == cut
    assert health["embedding_model"] == "multilingual-e5-small" and health["store"] == "embedded"


def test_ask_returns_the_same_answer_as_the_command_line(api, sample_service):
    reply = httpx.post(api + "/api/v1/ask", json={"question": EXEMPTION}, headers=bearer(READ), timeout=30)
    assert reply.status_code == 200
    body = reply.json()
    answer = sample_service.ask(EXEMPTION)
    expected = {**answer.to_dict(), "suggestions": list(sample_service.suggest(answer))}
    assert {k: v for k, v in body.items() if k != "conversation_id"} == expected
    assert TRUE_QUOTE in body["answer"] and "健全完善容错免责机制" in body["citations"][0]["section"]


def test_ask_uses_history_and_document_choice(api):
    first = httpx.post(api + "/api/v1/ask", json={"question": EXEMPTION}, headers=bearer(READ), timeout=30).json()
    follow = httpx.post(
        api + "/api/v1/ask",
        json={"question": "那受处分影响期满的干部呢？", "history": [EXEMPTION]},
        headers=bearer(READ), timeout=30,
    ).json()
    assert "受处理处分影响期满的干部" in follow["answer"]
    other = [d["doc_id"] for d in httpx.get(api + "/api/v1/documents", headers=bearer(READ)).json()["documents"]
             if d["doc_id"] != first["citations"][0]["doc_id"]]
    narrowed = httpx.post(
        api + "/api/v1/ask", json={"question": EXEMPTION, "doc_ids": other}, headers=bearer(READ), timeout=30
    ).json()
    assert all(c["doc_id"] in other for c in narrowed["citations"] + narrowed["related"])


def test_search_returns_scored_passages_with_metadata(api):
    body = httpx.post(api + "/api/v1/search", json={"query": "容错免责", "k": 3}, headers=bearer(READ), timeout=30).json()
    passages = body["passages"]
    assert len(passages) == 3
    assert [p["score"] for p in passages] == sorted((p["score"] for p in passages), reverse=True)
    assert any("容错" in p["metadata"]["section"] + p["text"] for p in passages)
    assert {"doc_id", "title", "section", "start", "end", "issuer"} <= set(passages[0]["metadata"])


def test_documents_upload_answer_and_delete(api):
    listed = httpx.get(api + "/api/v1/documents", headers=bearer(READ)).json()["documents"]
    assert len(listed) == 4 and all(d["passages"] > 0 for d in listed)
    uploaded = httpx.post(
        api + "/api/v1/documents", files={"file": ("培训通知.txt", NEW_POLICY)},
        data={"issuer": "某省委组织部"}, headers=bearer(ADMIN), timeout=60,
    )
    assert uploaded.status_code == 201, uploaded.text
    doc_id = uploaded.json()["doc_ids"][0]
    answer = httpx.post(api + "/api/v1/ask", json={"question": "脱产培训每年累计不少于多少学时？"}, headers=bearer(READ), timeout=30).json()
    assert "一百一十学时" in answer["answer"]
    assert answer["citations"][0]["doc_id"] == doc_id and answer["citations"][0]["issuer"] == "某省委组织部"
    deleted = httpx.delete(api + f"/api/v1/documents/{doc_id}", headers=bearer(ADMIN))
    assert deleted.status_code == 200 and deleted.json()["passages_removed"] >= 1
    assert doc_id not in {d["doc_id"] for d in httpx.get(api + "/api/v1/documents", headers=bearer(READ)).json()["documents"]}
    assert httpx.delete(api + f"/api/v1/documents/{doc_id}", headers=bearer(ADMIN)).status_code == 404


def test_an_upload_named_with_dot_dots_stays_in_the_uploads_folder(api, tmp_path_factory):
    uploaded = httpx.post(
        api + "/api/v1/documents", files={"file": ("../../逃逸.txt", NEW_POLICY)}, headers=bearer(ADMIN), timeout=60
    )
    assert uploaded.status_code == 201
    source = [d for d in httpx.get(api + "/api/v1/documents", headers=bearer(READ)).json()["documents"]
              if d["doc_id"] == uploaded.json()["doc_ids"][0]][0]["source"]
    assert source.endswith("/uploads/逃逸.txt")
    httpx.delete(api + f"/api/v1/documents/{uploaded.json()['doc_ids'][0]}", headers=bearer(ADMIN))


def test_an_unreadable_upload_is_refused_clearly_and_nothing_is_lost(api, api_store):
    before = httpx.get(api + "/api/v1/documents", headers=bearer(READ)).json()["documents"]
    for name, content in (("坏文件.pdf", b"%PDF-1.4 broken"), ("旧文档.doc", b"\xd0\xcf\x11\xe0" + bytes(64)), ("空.txt", b"")):
        reply = httpx.post(api + "/api/v1/documents", files={"file": (name, content)}, headers=bearer(ADMIN), timeout=60)
        assert reply.status_code == 422, (name, reply.text)
        assert name in reply.json()["detail"] and str(api_store) not in reply.json()["detail"]
    assert httpx.get(api + "/api/v1/documents", headers=bearer(READ)).json()["documents"] == before
    assert not {"坏文件.pdf", "旧文档.doc", "空.txt"} & set(kept_uploads(api_store))
    assert not any((api_store / "uploads" / ".incoming").iterdir())


def kept_uploads(data_dir) -> list[str]:
    """The names of every file kept under the uploads folder, the incoming one included."""
    return sorted(p.name for p in (data_dir / "uploads").rglob("*") if p.is_file())


@pytest.mark.parametrize("length", [83, 84, 150])
def test_a_long_chinese_file_name_is_cut_by_bytes_and_the_file_is_stored(api, api_store, length):
    name = "关于进一步激励广大干部新时代新担当新作为的实施意见"[:10] * (length // 10) + "办" * (length % 10) + ".txt"
    uploaded = httpx.post(api + "/api/v1/documents", files={"file": (name, NEW_POLICY)}, headers=bearer(ADMIN), timeout=60)
    assert uploaded.status_code == 201, uploaded.text
    doc_id = uploaded.json()["doc_ids"][0]
    listed = httpx.get(api + "/api/v1/documents", headers=bearer(READ)).json()["documents"]
    kept = Path([d for d in listed if d["doc_id"] == doc_id][0]["source"]).name
    assert kept.endswith(".txt") and name.startswith(kept[:-4]) and len(kept.encode()) <= 200
    assert kept in kept_uploads(api_store) and not any((api_store / "uploads" / ".incoming").iterdir())
    httpx.delete(api + f"/api/v1/documents/{doc_id}", headers=bearer(ADMIN))


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [("post", "/api/v1/ask", {"question": EXEMPTION}), ("post", "/api/v1/search", {"query": "容错"}),
     ("get", "/api/v1/documents", None), ("delete", "/api/v1/documents/x", None), ("get", "/v1/models", None),
     ("post", "/v1/chat/completions", {"messages": [{"role": "user", "content": EXEMPTION}]})],
)
def test_every_api_route_wants_a_valid_key(api, method, path, body):
    for headers in ({}, bearer("wrong-key"), {"Authorization": f"Basic {READ}"}):
        reply = httpx.request(method, api + path, json=body, headers=headers)
        assert reply.status_code == 401, (path, headers)
        assert reply.headers["www-authenticate"] == "Bearer"


def test_a_read_key_cannot_change_documents_and_is_refused_before_the_body_is_read(api):
    for reply in (
        httpx.post(api + "/api/v1/documents", files={"file": ("a.txt", NEW_POLICY)}, headers=bearer(READ)),
        httpx.post(api + "/api/v1/documents", content=b"not multipart at all", headers=bearer(READ)),
        httpx.delete(api + "/api/v1/documents/anything", headers=bearer(READ)),
    ):
        assert reply.status_code == 403
        assert "POLICYQA_ADMIN_KEYS" in reply.json()["detail"]


def test_oversized_bodies_get_413(api):
    too_long = {"question": "干部" * 10_000}
    assert httpx.post(api + "/api/v1/ask", json=too_long, headers=bearer(READ)).status_code == 413
    big_file = {"file": ("大文件.txt", b"a" * (1024 * 1024 + 10))}
    reply = httpx.post(api + "/api/v1/documents", files=big_file, headers=bearer(ADMIN))
    assert reply.status_code == 413 and "1 MB" in reply.json()["detail"]

    def chunks():
        yield b'{"question": "'
        for _ in range(40):
            yield b"x" * 1024
        yield b'"}'

    streamed = httpx.post(api + "/api/v1/ask", content=chunks(), headers=bearer(READ) | {"content-type": "application/json"})
    assert streamed.status_code == 413, "a body sent without Content-Length is counted as it arrives"


@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [("/api/v1/ask", b'{"question": ', "JSON"), ("/api/v1/ask", b'{"q": "x"}', "question"),
     ("/api/v1/ask", b'{"question": "   "}', "问题不能为空"), ("/api/v1/search", b'{"query": "x", "k": 0}', "k"),
     ("/api/v1/ask", b'{"question": "x", "filters": {"colour": "red"}}', "不能按 colour 过滤")],
)
def test_malformed_bodies_get_422_saying_what_is_wrong(api, path, body, expected):
    reply = httpx.post(api + path, content=body, headers=bearer(READ) | {"content-type": "application/json"})
    assert reply.status_code == 422
    assert expected in reply.json()["detail"]


def test_cors_allows_only_the_listed_origins(api):
    allowed = {"Origin": "https://oa.example.gov.cn", "Access-Control-Request-Method": "POST",
               "Access-Control-Request-Headers": "authorization,content-type"}
    preflight = httpx.options(api + "/api/v1/ask", headers=allowed)
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://oa.example.gov.cn"
    stranger = httpx.options(api + "/api/v1/ask", headers=allowed | {"Origin": "https://evil.example.com"})
    assert "access-control-allow-origin" not in stranger.headers


def test_the_embed_address_without_its_slash_leads_to_the_embedded_chat(api):
    moved = httpx.get(api + "/embed?lang=zh")
    assert moved.status_code == 307 and moved.headers["location"] == "embed/?lang=zh"
    page = httpx.get(api + "/embed", follow_redirects=True)
    assert page.status_code == 200 and page.url.path == "/embed/" and "<html" in page.text.lower()


def test_embed_page_may_be_framed_by_the_listed_origin_and_the_main_page_only_by_itself(api):
    embed = httpx.get(api + "/embed/", follow_redirects=True)
    assert embed.status_code == 200 and "<html" in embed.text.lower()
    assert embed.headers["content-security-policy"] == "frame-ancestors 'self' https://portal.example.gov.cn"
    assert httpx.get(api + "/").headers["content-security-policy"] == "frame-ancestors 'self'"


def test_openapi_docs_list_every_route(api):
    paths = httpx.get(api + "/openapi.json").json()["paths"]
    assert {"/api/v1/ask", "/api/v1/search", "/api/v1/documents", "/api/v1/documents/{doc_id}", "/healthz",
            "/v1/chat/completions", "/v1/models"} <= set(paths)
    assert httpx.get(api + "/docs").status_code == 200


def test_openai_client_gets_a_cited_answer(api):
    client = openai.OpenAI(base_url=api + "/v1", api_key=READ)
    assert [m.id for m in client.models.list()] == ["policyqa", "policyqa/default"]  # every base, then each one (#22)
    completion = client.chat.completions.create(model="policyqa", messages=[{"role": "user", "content": EXEMPTION}])
    content = completion.choices[0].message.content
    assert TRUE_QUOTE in content and "来源：" in content and "[1] 《" in content
    assert "健全完善容错免责机制" in completion.model_extra["citations"][0]["section"]


def test_openai_client_streams_the_same_answer(api):
    client = openai.OpenAI(base_url=api + "/v1", api_key=READ)
    plain = client.chat.completions.create(model="policyqa", messages=[{"role": "user", "content": EXEMPTION}])
    stream = client.chat.completions.create(
        model="policyqa", stream=True,
        messages=[{"role": "system", "content": "你是助手"}, {"role": "user", "content": EXEMPTION}],
    )
    chunks = list(stream)
    assert len(chunks) > 3
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == plain.choices[0].message.content
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].model_extra["citations"][0]["doc_id"] == plain.model_extra["citations"][0]["doc_id"]


def test_openai_errors_come_in_openai_shape(api):
    client = openai.OpenAI(base_url=api + "/v1", api_key="wrong")
    with pytest.raises(openai.AuthenticationError):
        client.models.list()
    client = openai.OpenAI(base_url=api + "/v1", api_key=READ)
    with pytest.raises(openai.UnprocessableEntityError) as raised:
        client.chat.completions.create(model="policyqa", messages=[{"role": "assistant", "content": "你好"}])
    assert "role 为 user" in raised.value.body["message"]


def host_address() -> str | None:
    """An address of this machine that is not loopback, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))
            address = s.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def test_with_no_keys_the_api_answers_this_machine_only(tmp_path):
    from assistant import create_service
    from web.server import create_server

    settings = make_settings(tmp_path / "store", host="0.0.0.0")
    service = create_service(settings)
    service.ensure_sample()
    address = host_address()
    if address is None:
        pytest.skip("this machine has no address besides loopback")
    with served(create_server(service, settings), host="0.0.0.0") as url:
        port = url.rsplit(":", 1)[1]
        local = httpx.get(f"http://127.0.0.1:{port}/api/v1/documents")
        remote = httpx.get(f"http://{address}:{port}/api/v1/documents")
        page = httpx.get(f"http://{address}:{port}/healthz")
    assert local.status_code == 200
    assert remote.status_code == 403 and "POLICYQA_API_KEYS" in remote.json()["detail"]
    assert page.status_code == 200


@pytest.mark.parametrize(
    "path, body",
    [("/api/v1/ask", {"question": EXEMPTION}),
     ("/v1/chat/completions", {"messages": [{"role": "user", "content": EXEMPTION}]}),
     ("/v1/chat/completions", {"messages": [{"role": "user", "content": EXEMPTION}], "stream": True})],
)
def test_each_question_is_retrieved_once(api, retrievals, path, body):
    response = httpx.post(api + path, json=body, headers=bearer(READ), timeout=60)
    assert response.status_code == 200 and TRUE_QUOTE in response.text
    offered = response.json().get("suggestions", []) if path == "/api/v1/ask" else []
    assert retrievals.count(EXEMPTION) == 1, retrievals
    # beyond the question itself, only the suggestion candidates put through the pipeline (two per suggestion at most)
    assert len(retrievals) - 1 <= 2 * 3 and set(offered) <= set(retrievals)


def test_course_material_comes_as_json_as_word_and_as_markdown(api):
    from docx import Document

    topic = {"topic": "容错免责"}
    material = httpx.post(api + "/api/v1/course", json=topic, headers=bearer(READ), timeout=120)
    assert material.status_code == 200, material.text
    data = material.json()
    provisions = [p for d in data["documents"] for s in d["sections"] for p in s["provisions"]]
    assert data["topic"] == "容错免责" and data["provisions"] == len(provisions) > 0
    assert any(TRUE_QUOTE in p["text"] for p in provisions) and all({"doc_id", "section", "start", "end"} <= set(p) for p in provisions)
    assert data["questions"] and all(1 <= q["provision"] <= len(provisions) for q in data["questions"])

    word = httpx.post(api + "/api/v1/course", json={**topic, "format": "docx"}, headers=bearer(READ), timeout=120)
    assert word.status_code == 200 and word.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in word.headers["content-disposition"]
    texts = [p.text for p in Document(io.BytesIO(word.content)).paragraphs]
    assert any(TRUE_QUOTE in t for t in texts)

    markdown = httpx.post(api + "/api/v1/course", json={**topic, "format": "md"}, headers=bearer(READ), timeout=120)
    assert markdown.status_code == 200 and markdown.text.startswith("# 备课材料：容错免责") and TRUE_QUOTE in markdown.text


def test_course_material_on_a_topic_the_documents_lack_is_a_clear_404(api):
    missing = httpx.post(api + "/api/v1/course", json={"topic": "个人所得税专项附加扣除"}, headers=bearer(READ), timeout=120)
    assert missing.status_code == 404 and "未找到与「个人所得税专项附加扣除」相关的规定" in missing.json()["detail"]
    blank = httpx.post(api + "/api/v1/course", json={"topic": "  "}, headers=bearer(READ), timeout=60)
    assert blank.status_code == 422 and "请输入备课主题" in blank.json()["detail"]
    assert httpx.post(api + "/api/v1/course", json={"topic": "容错免责"}, timeout=60).status_code == 401
