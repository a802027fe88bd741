"""The dashboard of a knowledge base (#22), computed from the audit log and feedback through the gate: questions per
day, share declined, most frequent declined questions, most cited documents, feedback per document; admins only."""

from datetime import datetime, timezone

import pytest

from conftest import HUBEI, make_settings

EXEMPTION = "先行先试中出现的失误能否免责？"
UNKNOWN = "公务员的基本工资标准是多少？"


def test_the_dashboard_counts_a_bases_questions_declines_citations_and_feedback(tmp_path):
    from assistant import create_service
    from assistant.access import AccessDenied, Principal
    from assistant.bases import KnowledgeBases
    from assistant.gate import LOCAL_ADMIN, Actor, Gate

    gate = Gate.open(KnowledgeBases(make_settings(tmp_path, ingest_sample_when_empty=False), create_service))
    gate.bases.create("zzb", "组织部")
    gate.bases.create("rst", "人社厅")
    gate.bases.service("zzb").ingest([HUBEI])
    admin = Actor(LOCAL_ADMIN, "cli")
    answered = gate.ask(admin, EXEMPTION, "zzb", suggest=False)
    for _ in range(2):
        assert gate.ask(admin, UNKNOWN, "zzb", suggest=False).refused
    gate.ask(admin, "干部考核有哪些规定？", "rst", suggest=False)  # another base's question counts there only
    cited = answered.citations[0]
    gate.bases.service("zzb").feedback().add("down", EXEMPTION, answered.text, citations=f"[1] {cited.title} {cited.section}")
    assert gate.audit.flush()

    stats = gate.dashboard(admin, "zzb")
    assert stats.questions == 3 and stats.declined_share == pytest.approx(2 / 3)
    today = datetime.now(timezone.utc).date().isoformat()  # events are timed in UTC
    assert stats.days == [{"day": today, "questions": 3, "declined": 2, "declined_share": 0.667}]
    assert stats.declined_questions == [{"question": UNKNOWN, "times": 2}]
    assert stats.cited_documents[0] == {"doc_id": cited.doc_id, "title": cited.title, "times": 1}
    assert stats.feedback == [{"title": cited.title, "up": 0, "down": 1}]
    assert gate.dashboard(admin, "rst").questions == 1

    reader = Actor(Principal("zhang", "reader", frozenset({"zzb"})), "10.0.0.1")
    with pytest.raises(AccessDenied):
        gate.dashboard(reader, "zzb")
    with pytest.raises(AccessDenied):
        gate.audit_events(reader)
    assert gate.audit.flush()
    refused = [e for e in gate.audit.events() if e["user"] == "zhang"]
    assert [(e["action"], e["outcome"]) for e in refused] == [("dashboard", "denied: 只有管理员可以管理知识库和用户"),
                                                               ("audit", "denied: 只有管理员可以管理知识库和用户")]
