"""The command line our checks depend on, run as a user runs it."""

import json
import os
import subprocess
import sys

from conftest import HUBEI
from settings import REPO_ROOT


def run_cli(data_dir, *args, check_code=None):
    env = {**os.environ, "POLICYQA_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "app.py"), *args], capture_output=True, text=True, env=env, timeout=300
    )
    if check_code is not None:
        assert result.returncode == check_code, result.stderr
    return result


def test_ask_json_on_an_empty_store_ingests_the_sample_and_answers(tmp_path):
    result = run_cli(tmp_path / "var", "ask", "先行先试中出现的失误能否免责？", "--json", check_code=0)
    answer = json.loads(result.stdout)
    assert set(answer) >= {"question", "answer", "refused", "citations"}
    assert answer["refused"] is False
    assert "因缺乏经验、先行先试出现的失误" in answer["answer"]
    citation = answer["citations"][0]
    assert set(citation) >= {"n", "doc_id", "title", "section", "text", "start", "end"}
    assert "中共湖北省委关于进一步激励干部" in citation["title"]
    assert "健全完善容错免责机制" in citation["section"]

    declined = json.loads(run_cli(tmp_path / "var", "ask", "公务员的基本工资标准是多少？", "--json", check_code=0).stdout)
    assert declined["refused"] is True and declined["citations"] == []


def test_ingest_docs_remove_round_trip(tmp_path):
    data_dir = tmp_path / "var"
    bad = tmp_path / "broken.txt"
    bad.write_bytes(b"\x00\xff" * 100)
    ingest = run_cli(data_dir, "ingest", str(HUBEI), str(bad), check_code=1)
    assert "broken.txt" in ingest.stderr and "二进制" in ingest.stderr
    assert "失败 1 个" in ingest.stdout

    documents = json.loads(run_cli(data_dir, "docs", "--json", check_code=0).stdout)
    assert [d["source"] for d in documents] == [str(HUBEI)] * 2  # the opinion's chart and the report after it
    doc_id = documents[0]["doc_id"]

    removed = run_cli(data_dir, "remove", doc_id, check_code=0)
    assert doc_id in removed.stdout
    missing = run_cli(data_dir, "remove", doc_id, check_code=1)
    assert "没有编号为" in missing.stderr
    remaining = json.loads(run_cli(data_dir, "docs", "--json", check_code=0).stdout)
    assert [d["doc_id"] for d in remaining] == [documents[1]["doc_id"]]


def test_empty_question_exits_with_a_clear_message(tmp_path):
    result = run_cli(tmp_path / "var", "ask", "   ", check_code=2)
    assert "问题不能为空" in result.stderr


def test_a_bad_setting_is_named_with_what_is_wrong(tmp_path, monkeypatch):
    monkeypatch.setenv("POLICYQA_PORT", "abc")
    result = run_cli(tmp_path / "var", "docs", check_code=2)
    assert "POLICYQA_PORT" in result.stderr and "Traceback" not in result.stderr
