"""The command line our checks depend on, run in-process through app.main(argv) as a user runs it."""

import json

from conftest import HUBEI


def test_ask_json_on_an_empty_store_ingests_the_sample_and_answers(tmp_path, cli):
    result = cli(tmp_path / "var", "ask", "先行先试中出现的失误能否免责？", "--json", check_code=0)
    answer = json.loads(result.stdout)
    assert set(answer) >= {"question", "answer", "refused", "citations"}
    assert answer["refused"] is False
    assert "因缺乏经验、先行先试出现的失误" in answer["answer"]
    citation = answer["citations"][0]
    assert set(citation) >= {"n", "doc_id", "title", "section", "text", "start", "end"}
    assert "中共湖北省委关于进一步激励干部" in citation["title"]
    assert "健全完善容错免责机制" in citation["section"]

    declined = json.loads(cli(tmp_path / "var", "ask", "公务员的基本工资标准是多少？", "--json", check_code=0).stdout)
    assert declined["refused"] is True and declined["citations"] == []


def test_ingest_docs_remove_round_trip(tmp_path, cli):
    data_dir = tmp_path / "var"
    bad = tmp_path / "broken.txt"
    bad.write_bytes(b"\x00\xff" * 100)
    ingest = cli(data_dir, "ingest", str(HUBEI), str(bad), check_code=1)
    assert "broken.txt" in ingest.stderr and "二进制" in ingest.stderr
    assert "失败 1 个" in ingest.stdout and "段/秒）" in ingest.stdout
    again = cli(data_dir, "ingest", str(HUBEI), check_code=0)
    assert "未变 2 篇" in again.stdout and "段/秒" not in again.stdout, "a run that stores nothing tells no rate"

    documents = json.loads(cli(data_dir, "docs", "--json", check_code=0).stdout)
    assert [d["source"] for d in documents] == [str(HUBEI)] * 2  # the opinion's chart and the report after it
    doc_id = documents[0]["doc_id"]

    removed = cli(data_dir, "remove", doc_id, check_code=0)
    assert doc_id in removed.stdout
    missing = cli(data_dir, "remove", doc_id, check_code=1)
    assert "没有编号为" in missing.stderr
    remaining = json.loads(cli(data_dir, "docs", "--json", check_code=0).stdout)
    assert [d["doc_id"] for d in remaining] == [documents[1]["doc_id"]]


def test_empty_question_exits_with_a_clear_message(tmp_path, cli):
    result = cli(tmp_path / "var", "ask", "   ", check_code=2)
    assert "问题不能为空" in result.stderr


def test_a_bad_setting_is_named_with_what_is_wrong(tmp_path, cli):
    result = cli(tmp_path / "var", "docs", check_code=2, env={"POLICYQA_PORT": "abc"})
    assert "POLICYQA_PORT" in result.stderr and "Traceback" not in result.stderr
