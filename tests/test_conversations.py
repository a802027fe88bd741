"""Conversations kept on the server and suggested next questions, through the served API with real keys."""

import sqlite3

import httpx
import pytest

from conftest import make_settings
from serving import served

EXEMPTION = "先行先试中出现的失误能否免责？"
FOLLOW_UP = "那受处分影响期满的干部呢？"
READ, OTHER_READ, ADMIN = "conv-read-1", "conv-read-2", "conv-admin-3"


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    """The app served on loopback with two read keys and an admin key, over a store holding the sample."""
    from assistant import create_service
    from web.server import create_server

    data_dir = tmp_path_factory.mktemp("conversations-store")
    settings = make_settings(data_dir, api_keys=f"{READ},{OTHER_READ}", admin_keys=ADMIN)
    service = create_service(settings)
    service.ensure_sample()
    with served(create_server(service, settings)) as url:
        yield url, service


def ask(url: str, key: str, **body) -> httpx.Response:
    return httpx.post(url + "/api/v1/ask", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=60)


def get(url: str, key: str, path: str) -> httpx.Response:
    return httpx.get(url + path, headers={"Authorization": f"Bearer {key}"}, timeout=30)


def test_a_follow_up_sent_with_only_the_conversation_id_is_answered_in_context(api):
    url, _ = api
    first = ask(url, READ, question=EXEMPTION).json()
    assert first["conversation_id"] and not first["refused"]
    follow = ask(url, READ, question=FOLLOW_UP, conversation_id=first["conversation_id"]).json()
    assert "按规定积极合理使用" in follow["answer"] and follow["conversation_id"] == first["conversation_id"]
    alone = ask(url, READ, question=FOLLOW_UP).json()
    assert alone["conversation_id"] != first["conversation_id"]

    listed = get(url, READ, "/api/v1/conversations").json()["conversations"]
    mine = next(c for c in listed if c["id"] == first["conversation_id"])
    assert mine["title"] == EXEMPTION and mine["turn_count"] == 2 and mine["updated_at"]
    turns = get(url, READ, f"/api/v1/conversations/{first['conversation_id']}").json()["turns"]
    assert [t["question"] for t in turns] == [EXEMPTION, FOLLOW_UP]
    assert turns[0]["answer"]["citations"][0]["doc_id"] == first["citations"][0]["doc_id"]


def test_every_suggestion_offered_is_answered_when_asked(api):
    url, _ = api
    first = ask(url, READ, question=EXEMPTION).json()
    suggestions = first["suggestions"]
    assert len(suggestions) >= 2 and EXEMPTION not in suggestions
    cited = {c["doc_id"] for c in first["citations"]}
    for suggestion in suggestions:
        answer = ask(url, READ, question=suggestion).json()
        assert not answer["refused"], suggestion
        assert cited & {c["doc_id"] for c in answer["citations"]}, suggestion


def test_a_declined_answer_suggests_nothing(api):
    url, _ = api
    declined = ask(url, READ, question="个人所得税的起征点是多少？").json()
    assert declined["refused"] and declined["suggestions"] == []


def test_one_key_never_reaches_another_keys_conversations(api):
    url, _ = api
    mine = ask(url, READ, question=EXEMPTION).json()["conversation_id"]
    theirs = get(url, OTHER_READ, "/api/v1/conversations").json()["conversations"]
    assert mine not in {c["id"] for c in theirs}
    for key in (OTHER_READ, ADMIN):
        assert get(url, key, f"/api/v1/conversations/{mine}").status_code == 404
        refused = ask(url, key, question=FOLLOW_UP, conversation_id=mine)
        assert refused.status_code == 404 and "对话" in refused.json()["detail"]
        removal = httpx.delete(url + f"/api/v1/conversations/{mine}", headers={"Authorization": f"Bearer {key}"}, timeout=30)
        assert removal.status_code == 404
    assert get(url, READ, f"/api/v1/conversations/{mine}").status_code == 200
    for bad in ("0" * 32, "../../etc/passwd", "x" * 500):
        assert get(url, READ, f"/api/v1/conversations/{bad}").status_code == 404


def test_a_conversation_removed_is_gone(api):
    url, _ = api
    made = ask(url, READ, question=EXEMPTION).json()["conversation_id"]
    removal = httpx.delete(url + f"/api/v1/conversations/{made}", headers={"Authorization": f"Bearer {READ}"}, timeout=30)
    assert removal.status_code == 200 and removal.json()["turns_removed"] == 1
    assert get(url, READ, f"/api/v1/conversations/{made}").status_code == 404
    assert made not in {c["id"] for c in get(url, READ, "/api/v1/conversations").json()["conversations"]}


def test_a_ten_thousand_turn_conversation_reads_only_its_recent_turns(api):
    url, service = api
    made = ask(url, READ, question=EXEMPTION).json()["conversation_id"]
    store = service.conversations()
    with sqlite3.connect(store.path) as connection:  # 10 000 earlier turns, written as the store writes them
        connection.executemany(
            "INSERT INTO turns (conversation_id, time, question, answer) VALUES (?, ?, ?, ?)",
            [(made, "2026-01-01T00:00:00+00:00", f"第{i}个问题：干部教育培训", '{"answer": "……"}') for i in range(10_000)],
        )
        connection.execute("UPDATE conversations SET turns = turns + 10000 WHERE id = ?", (made,))
    follow = ask(url, READ, question="对受处理处分影响期满的干部如何使用？", conversation_id=made)
    assert follow.status_code == 200 and "按规定积极合理使用" in follow.json()["answer"]
    recent = get(url, READ, f"/api/v1/conversations/{made}?last=3").json()
    assert recent["turn_count"] == 10_002 and len(recent["turns"]) == 3
    assert recent["turns"][-1]["question"] == "对受处理处分影响期满的干部如何使用？"
