"""The audit log (#22): every ask, search, upload, removal, login and refusal, through the command line and the API;
append-only, pruned after POLICYQA_AUDIT_RETENTION_DAYS, and never in the way of an answer."""

import json
import sqlite3
from datetime import date, timedelta

import httpx
import pytest

from conftest import eventually, make_settings
from serving import served
from test_knowledge_bases import ALLOWANCE, EXEMPTION, two_bases  # noqa: F401 - two_bases is the fixture used below
EVENT_KEYS = {"time", "user", "client", "kb", "action", "outcome", "question", "doc_ids"}
NO_SAMPLE = {"POLICYQA_INGEST_SAMPLE_WHEN_EMPTY": "false"}


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def audit_events(cli, data_dir, *options) -> list[dict]:
    """What `app.py audit --format json` lists."""
    return json.loads(cli(data_dir, "audit", "--format", "json", *options, check_code=0).stdout)


def test_two_bases_a_reader_and_an_admin_through_the_cli_and_the_api_are_all_in_the_audit_log(two_bases, cli):
    from app import create_app

    data_dir = two_bases  # zzb holding the Hubei opinion, rst an allowance notice, both made through the command line
    reader = cli(data_dir, "users", "add", "zhang", "--role", "reader", "--kb", "zzb", check_code=0).stdout.strip()
    admin = cli(data_dir, "users", "add", "boss", "--role", "admin", check_code=0).stdout.strip()
    zzb_docs = {d["doc_id"] for d in json.loads(cli(data_dir, "docs", "--kb", "zzb", "--json", check_code=0, env=NO_SAMPLE).stdout)}

    denied_cli = cli(data_dir, "ask", ALLOWANCE, "--kb", "rst", "--key", reader, check_code=4, env=NO_SAMPLE)
    assert "无权使用知识库 rst" in denied_cli.stderr
    own_cli = json.loads(cli(data_dir, "ask", EXEMPTION, "--kb", "zzb", "--key", reader, "--json", check_code=0, env=NO_SAMPLE).stdout)
    assert own_cli["refused"] is False and {c["doc_id"] for c in own_cli["citations"] + own_cli["related"]} <= zzb_docs

    with served(create_app(make_settings(data_dir, ingest_sample_when_empty=False))) as url:
        denied = httpx.post(url + "/api/v1/ask", json={"question": ALLOWANCE, "kb": "rst"}, headers=bearer(reader), timeout=60)
        assert denied.status_code == 403
        own = httpx.post(url + "/api/v1/ask", json={"question": ALLOWANCE, "kb": "zzb"}, headers=bearer(reader), timeout=60).json()
        assert "150元" not in own["answer"] and {c["doc_id"] for c in own["citations"] + own["related"]} <= zzb_docs
        doc = sorted(zzb_docs)[0]
        assert httpx.delete(url + f"/api/v1/documents/{doc}?kb=zzb", headers=bearer(reader)).status_code == 403
        in_rst = httpx.post(url + "/api/v1/ask", json={"question": ALLOWANCE, "kb": "rst"}, headers=bearer(admin), timeout=60).json()
        in_zzb = httpx.post(url + "/api/v1/ask", json={"question": EXEMPTION, "kb": "zzb"}, headers=bearer(admin), timeout=60).json()
        assert "150元" in in_rst["answer"] and in_zzb["refused"] is False
        eventually(lambda: len([e for e in audit_events(cli, data_dir) if e["client"] == "127.0.0.1"]) >= 5,
                   what="the server's events in the audit log")

    events = audit_events(cli, data_dir)
    assert all(set(e) == EVENT_KEYS for e in events)
    zhang = [e for e in events if e["user"] == "zhang"]
    denials = [e for e in zhang if e["outcome"].startswith("denied")]
    assert {(e["client"], e["kb"], e["action"]) for e in denials} == {("cli", "rst", "ask"), ("127.0.0.1", "rst", "ask"), ("127.0.0.1", "zzb", "remove")}
    assert [e["question"] for e in denials if e["action"] == "remove"] == [f"/api/v1/documents/{doc}"]
    assert all(e["question"] == ALLOWANCE for e in denials if e["action"] == "ask")
    boss_asks = [e for e in events if e["user"] == "boss" and e["action"] == "ask"]
    assert [(e["kb"], e["outcome"], e["question"]) for e in boss_asks] == [("rst", "answered", ALLOWANCE), ("zzb", "answered", EXEMPTION)]
    assert boss_asks[0]["doc_ids"] == [c["doc_id"] for c in in_rst["citations"]][:1] and boss_asks[1]["doc_ids"][0] in zzb_docs
    operator = {e["action"] for e in events if e["user"].startswith("cli:")}
    assert {"kb_create", "upload", "user_add"} <= operator
    uploads = [e for e in events if e["action"] == "upload"]
    assert [e["kb"] for e in uploads] == ["zzb", "rst"] and set(uploads[0]["doc_ids"]) == zzb_docs

    assert {e["user"] for e in audit_events(cli, data_dir, "--user", "zhang")} == {"zhang"}
    assert audit_events(cli, data_dir, "--since", (date.today() + timedelta(days=1)).isoformat()) == []
    table = cli(data_dir, "audit", check_code=0).stdout
    assert "zhang" in table and "denied: 无权使用知识库 rst" in table
    csv_lines = cli(data_dir, "audit", "--format", "csv", check_code=0).stdout.splitlines()
    assert csv_lines[0] == "time,user,client,kb,action,outcome,question,doc_ids" and len(csv_lines) == len(events) + 1


def test_refusals_before_a_route_are_logged_with_the_caller(tmp_path):
    from app import create_app
    from assistant.access import UserStore
    from assistant.audit import AuditLog

    data_dir = tmp_path / "var"
    settings = make_settings(data_dir, ingest_sample_when_empty=False)
    app = create_app(settings)
    users = UserStore(data_dir)
    users.add("keeper", "reader", ["default"])  # a user exists: every request needs a key, local ones too
    gone = users.add("gone", "reader", ["default"])
    users.remove("gone")
    with served(app) as url:
        assert httpx.post(url + "/api/v1/ask", json={"question": EXEMPTION}).status_code == 401
        assert httpx.post(url + "/api/v1/ask", json={"question": EXEMPTION}, headers=bearer(gone)).status_code == 401
        eventually(lambda: len([e for e in AuditLog.reader(data_dir).events() if e["action"] == "ask"]) == 2,
                   what="both refusals in the log")
    events = [e for e in AuditLog.reader(data_dir).events() if e["action"] == "ask"]
    assert [e["outcome"] for e in events] == ["denied: 缺少 API 密钥：请在请求头中加入 Authorization: Bearer <密钥>", "denied: API 密钥无效"]
    assert events[0]["user"] == "" and events[1]["user"].startswith("unknown-key:") and gone not in events[1]["user"]


def test_logins_and_failed_logins_are_recorded(tmp_path):
    from assistant import create_service
    from assistant.bases import KnowledgeBases
    from assistant.gate import Gate

    gate = Gate.open(KnowledgeBases(make_settings(tmp_path, ingest_sample_when_empty=False), create_service))
    gate.users.add("wang", "editor", ["default"], password="right-password")
    assert gate.login("wang", "right-password", "10.0.0.7").role == "editor"
    assert gate.login("wang", "wrong", "10.0.0.8") is None
    assert gate.login("nobody' OR 1=1 --", "x", "10.0.0.9") is None
    assert gate.audit.flush()
    logins = [(e["user"], e["client"], e["outcome"]) for e in gate.audit.events() if e["action"] == "login"]
    assert logins == [("wang", "10.0.0.7", "ok"), ("wang", "10.0.0.8", "denied: 用户名或密码错误"),
                      ("nobody' OR 1=1 --", "10.0.0.9", "denied: 用户名或密码错误")]


def test_the_log_is_append_only_and_pruned_after_the_retention_days(tmp_path):
    from assistant.audit import AuditLog

    log = AuditLog(tmp_path, retention_days=30)
    log.record("alice", "cli", "zzb", "ask", "answered", "问题", ["doc-1"])
    assert log.close()
    with sqlite3.connect(tmp_path / "audit.sqlite3") as db:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute("UPDATE events SET user = 'mallory'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute("DELETE FROM events")
        db.execute("INSERT INTO events (time, user, client, kb, action, outcome, question, doc_ids) VALUES "
                   "('2020-01-01T00:00:00.000+00:00', 'old', 'cli', 'zzb', 'ask', 'answered', '旧问题', '[]')")
    assert [e["user"] for e in AuditLog.reader(tmp_path).events()] == ["alice", "old"]
    AuditLog(tmp_path, retention_days=30).record("bob", "cli", "", "login", "ok")  # opening to write prunes
    eventually(lambda: [e["user"] for e in AuditLog.reader(tmp_path).events()] == ["alice", "bob"], what="the old event pruned")
    with sqlite3.connect(tmp_path / "audit.sqlite3") as db, pytest.raises(sqlite3.IntegrityError, match="only moves forward"):
        db.execute("UPDATE prune_floor SET before = ''")


def test_an_unwritable_log_never_costs_an_answer_and_its_events_are_written_later(tmp_path, cli):
    from app import create_app
    from assistant.audit import AuditLog

    data_dir = tmp_path / "var"
    data_dir.mkdir()
    (data_dir / "audit.sqlite3").mkdir()  # SQLite cannot open it: every write fails as on a full disk
    printed = cli(data_dir, "ask", EXEMPTION, check_code=0)
    assert "因缺乏经验、先行先试出现的失误" in printed.stdout and "审计日志未能全部写入" in printed.stderr
    with served(create_app(make_settings(data_dir))) as url:
        answer = httpx.post(url + "/api/v1/ask", json={"question": EXEMPTION}, timeout=60)
        assert answer.status_code == 200 and answer.json()["refused"] is False
        (data_dir / "audit.sqlite3").rmdir()  # room again
        eventually(lambda: [e for e in AuditLog.reader(data_dir).events() if e["action"] == "ask" and e["client"] == "127.0.0.1"],
                   what="the held ask written once the disk has room")
    ask = [e for e in AuditLog.reader(data_dir).events() if e["action"] == "ask"][-1]
    assert ask["user"] == "local" and ask["question"] == EXEMPTION and ask["outcome"] == "answered"
