"""Curated answers (FAQ): checked against the documents, served to questions that mean the same, flagged when stale."""

import httpx
import pytest

from conftest import make_settings
from serving import served

READ, ADMIN = "faq-read-1", "faq-admin-2"
PROVISION = "对干部在推进支点建设中因缺乏经验、先行先试出现的失误……可以不予或者免于追究责任"
CURATED = f"可以。湖北省委的意见明确：「{PROVISION}」。"
PARAPHRASE = "哪些情况下干部出了失误可以不被追责？"
NOTICE_POLICY = "关于干部教育培训学时的通知\n一、学时要求\n参加脱产培训的干部每年累计不少于一百一十学时。\n".encode()


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    """The app served with a read key and an admin key over a store holding the sample."""
    from assistant import create_service
    from web.server import create_server

    settings = make_settings(tmp_path_factory.mktemp("faq-store"), api_keys=READ, admin_keys=ADMIN, suggestions=0)
    service = create_service(settings)
    service.ensure_sample()
    with served(create_server(service, settings)) as url:
        yield url


def call(method: str, url: str, key: str, **kwargs) -> httpx.Response:
    return httpx.request(method, url, headers={"Authorization": f"Bearer {key}"}, timeout=60, **kwargs)


def add(url: str, question: str, answer: str, key: str = ADMIN) -> httpx.Response:
    return call("POST", url + "/api/v1/faq", key, json={"question": question, "answer": answer})


def ask(url: str, question: str) -> dict:
    return call("POST", url + "/api/v1/ask", READ, json={"question": question}).json()


def test_a_curated_answer_is_served_to_a_question_that_means_the_same(api):
    added = add(api, "先行先试中出现的失误能否免责？", CURATED)
    assert added.status_code == 201
    entry = added.json()
    cited = entry["citations"][0]
    assert "健全完善容错免责机制" in cited["section"] and "先行先试出现的失误" in cited["quotes"][0]
    assert entry["answer"].endswith("」[1]。")

    answer = ask(api, PARAPHRASE)
    assert answer["source"] == "faq" and not answer["refused"]
    assert "因缺乏经验、先行先试出现的失误" in answer["answer"] and answer["citations"][0]["doc_id"] == cited["doc_id"]
    other = ask(api, "对受处理处分影响期满的干部如何使用？")
    assert other["source"] == "documents" and "按规定积极合理使用" in other["answer"]
    assert entry["id"] in {e["id"] for e in call("GET", api + "/api/v1/faq", READ).json()["entries"]}
    assert call("DELETE", api + f"/api/v1/faq/{entry['id']}", ADMIN).status_code == 200
    assert ask(api, PARAPHRASE)["source"] == "documents"


def test_a_quote_no_document_holds_is_refused_with_the_quote_named(api):
    refused = add(api, "干部犯错都能免责吗？", "可以。「干部犯任何错误都一律免责」")
    assert refused.status_code == 422
    assert "「干部犯任何错误都一律免责」" in refused.json()["detail"] and "逐字" in refused.json()["detail"]
    assert "干部犯错都能免责吗？" not in {e["question"] for e in call("GET", api + "/api/v1/faq", READ).json()["entries"]}


def test_only_an_admin_key_curates(api):
    assert add(api, "先行先试中出现的失误能否免责？", CURATED, key=READ).status_code == 403
    entries = call("GET", api + "/api/v1/faq", READ).json()["entries"]
    assert call("DELETE", api + f"/api/v1/faq/{entries[0]['id'] if entries else 1}", READ).status_code == 403
    assert call("DELETE", api + "/api/v1/faq/999999", ADMIN).status_code == 404


def test_a_curated_answer_without_quotes_is_served_with_a_notice(api):
    added = add(api, "政策问答助手能回答哪些问题？", "本助手依据知识库中的政策文件回答干部激励方面的问题。")
    assert added.status_code == 201 and added.json()["citations"] == []
    answer = ask(api, "政策问答助手能回答哪些问题？")
    assert answer["source"] == "faq" and answer["citations"] == []
    assert "未引用政策文件原文" in answer["answer"] and answer["warnings"]
    call("DELETE", api + f"/api/v1/faq/{added.json()['id']}", ADMIN)


def test_an_entry_whose_document_is_removed_or_repealed_is_flagged_and_no_longer_served(api):
    uploaded = call("POST", api + "/api/v1/documents", ADMIN, files={"file": ("学时通知.txt", NOTICE_POLICY, "text/plain")})
    doc_id = uploaded.json()["doc_ids"][0]
    question = "干部每年参加脱产培训要累计多少学时？"
    entry = add(api, question, "「参加脱产培训的干部每年累计不少于一百一十学时」").json()
    assert entry["citations"][0]["doc_id"] == doc_id and ask(api, question)["source"] == "faq"

    assert call("PATCH", api + f"/api/v1/documents/{doc_id}", ADMIN, json={"status": "repealed"}).status_code == 200
    listed = next(e for e in call("GET", api + "/api/v1/faq", READ).json()["entries"] if e["id"] == entry["id"])
    assert listed["needs_review"] and "已废止" in listed["review_reason"]
    assert ask(api, question)["source"] == "documents"

    second = add(api, "Sample: " + question, "「参加脱产培训的干部每年累计不少于一百一十学时」")
    assert second.status_code == 201  # still stored (its status stated repealed) so quotable; then removed
    assert call("DELETE", api + f"/api/v1/documents/{doc_id}", ADMIN).status_code == 200
    flagged = next(e for e in call("GET", api + "/api/v1/faq", READ).json()["entries"] if e["id"] == second.json()["id"])
    assert flagged["needs_review"] and "已从知识库删除" in flagged["review_reason"]


def test_entries_another_process_adds_or_flags_are_read_at_once_though_the_entries_are_kept_between_questions(tmp_path):
    """Every question reads the curated entries; they are kept in memory and read again whenever the file changed,
    also when the change comes from another process (here a second store object over the same file)."""
    from assistant.faq import FaqStore

    here, there = FaqStore(tmp_path / "faq.sqlite3"), FaqStore(tmp_path / "faq.sqlite3")
    assert here.entries() == []
    for round_ in range(20):  # changes in quick succession, within one tick of the file system's clock
        entry = there.add(f"问题{round_}", f"答案{round_}", [], "model", [0.0])
        assert here.entries()[0] == entry
        there.flag(entry.id, "文件已废止")
        assert here.entries()[0].review == "文件已废止"
        assert here.entries() == there.entries()
    there.remove(entry.id)
    assert entry.id not in {e.id for e in here.entries()}
