"""Knowledge bases (#22): separate bases through the command line and the API, questions across bases, and the
store made before bases existed becoming the base `default` with nothing lost."""

import json

import httpx
import pytest

from conftest import HUBEI, make_settings
from serving import served

EXEMPTION = "先行先试中出现的失误能否免责？"
TRUE_QUOTE = "因缺乏经验、先行先试出现的失误"
ALLOWANCE = "一级至四级工伤职工的伤残津贴每月增加多少？"
RST_POLICY = (
    "关于调整工伤保险伤残津贴的通知\n"
    "一、调整范围\n"
    "2024年12月31日前已按月领取伤残津贴的一级至四级工伤职工，伤残津贴每人每月增加150元。\n"
    "二、资金来源\n"
    "调整所需资金从工伤保险基金中列支。\n"
)
NO_SAMPLE = {"POLICYQA_INGEST_SAMPLE_WHEN_EMPTY": "false"}
ADMIN = "admin-key-kb"


@pytest.fixture
def two_bases(tmp_path, cli):
    """A data folder with the base zzb (组织部) holding the Hubei opinion and rst (人社厅) holding an allowance notice."""
    data_dir = tmp_path / "var"
    rst_file = tmp_path / "rst-allowance.txt"
    rst_file.write_text(RST_POLICY, encoding="utf-8")
    cli(data_dir, "kb", "create", "zzb", "--title", "组织部", check_code=0, env=NO_SAMPLE)
    cli(data_dir, "kb", "create", "rst", "--title", "人社厅", check_code=0, env=NO_SAMPLE)
    cli(data_dir, "ingest", HUBEI, "--kb", "zzb", check_code=0, env=NO_SAMPLE)
    cli(data_dir, "ingest", rst_file, "--kb", "rst", check_code=0, env=NO_SAMPLE)
    return data_dir


def doc_ids_of(cli, data_dir, kb: str) -> set[str]:
    """The documents the command line lists in one base."""
    return {d["doc_id"] for d in json.loads(cli(data_dir, "docs", "--kb", kb, "--json", check_code=0, env=NO_SAMPLE).stdout)}


def test_each_base_answers_from_its_own_documents_only(two_bases, cli):
    data_dir = two_bases
    listed = {b["name"]: b for b in json.loads(cli(data_dir, "kb", "list", "--json", check_code=0, env=NO_SAMPLE).stdout)}
    assert set(listed) == {"default", "zzb", "rst"}
    assert listed["zzb"]["title"] == "组织部" and listed["zzb"]["documents"] == 2 and listed["rst"]["documents"] == 1
    assert listed["default"]["documents"] == 0
    zzb_docs, rst_docs = doc_ids_of(cli, data_dir, "zzb"), doc_ids_of(cli, data_dir, "rst")
    assert zzb_docs and rst_docs and not zzb_docs & rst_docs

    in_zzb = json.loads(cli(data_dir, "ask", EXEMPTION, "--kb", "zzb", "--json", check_code=0, env=NO_SAMPLE).stdout)
    assert TRUE_QUOTE in in_zzb["answer"] and {c["kb"] for c in in_zzb["citations"]} == {"zzb"}
    assert {c["doc_id"] for c in in_zzb["citations"] + in_zzb["related"]} <= zzb_docs

    in_rst = json.loads(cli(data_dir, "ask", EXEMPTION, "--kb", "rst", "--json", check_code=0, env=NO_SAMPLE).stdout)
    assert in_rst["refused"] is True, "the Hubei opinion is in zzb only"
    assert {c["doc_id"] for c in in_rst["citations"] + in_rst["related"]} <= rst_docs

    allowance = json.loads(cli(data_dir, "ask", ALLOWANCE, "--kb", "rst", "--json", check_code=0, env=NO_SAMPLE).stdout)
    assert "150元" in allowance["answer"] and {c["doc_id"] for c in allowance["citations"]} <= rst_docs


def test_a_question_may_span_several_bases(two_bases, cli):
    both = json.loads(cli(two_bases, "ask", ALLOWANCE, "--kb", "zzb,rst", "--json", check_code=0, env=NO_SAMPLE).stdout)
    assert "150元" in both["answer"] and {c["kb"] for c in both["citations"]} == {"rst"}
    everywhere = json.loads(cli(two_bases, "ask", EXEMPTION, "--json", check_code=0, env=NO_SAMPLE).stdout)
    assert TRUE_QUOTE in everywhere["answer"] and everywhere["citations"][0]["kb"] == "zzb"
    assert all(c["kb"] in ("zzb", "rst") for c in everywhere["related"])


def test_each_base_has_its_own_collection_and_lexical_index(two_bases):
    import chromadb

    client = chromadb.PersistentClient(path=str(two_bases / "chroma"), settings=chromadb.Settings(anonymized_telemetry=False))
    names = {c if isinstance(c, str) else c.name for c in client.list_collections()}
    assert {"policyqa.kb.zzb-multilingual-e5-small", "policyqa.kb.rst-multilingual-e5-small"} <= names
    zzb = client.get_collection("policyqa.kb.zzb-multilingual-e5-small").get(include=["metadatas"])
    rst = client.get_collection("policyqa.kb.rst-multilingual-e5-small").get(include=["metadatas"])
    assert {m["source"] for m in zzb["metadatas"]} == {str(HUBEI)}
    assert all(m["source"].endswith("rst-allowance.txt") for m in rst["metadatas"])
    assert (two_bases / "kbs" / "zzb" / "lexical").is_dir() and (two_bases / "kbs" / "rst" / "lexical").is_dir()


def test_removing_a_base_asks_first_and_then_takes_only_it(two_bases, cli, monkeypatch):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("no\n"))
    kept = cli(two_bases, "kb", "remove", "zzb", check_code=1, env=NO_SAMPLE)
    assert "已取消" in kept.stderr and doc_ids_of(cli, two_bases, "zzb")
    cli(two_bases, "users", "add", "zhang", "--role", "reader", "--kb", "zzb,rst", check_code=0)
    removed = cli(two_bases, "kb", "remove", "zzb", "--yes", check_code=0, env=NO_SAMPLE)
    assert "2 篇文档" in removed.stdout
    users = json.loads(cli(two_bases, "users", "list", "--json", check_code=0).stdout)
    assert users[0]["kbs"] == ["rst"], "a new base called zzb later is not zhang's"
    gone = cli(two_bases, "docs", "--kb", "zzb", check_code=1, env=NO_SAMPLE)
    assert "没有知识库 zzb" in gone.stderr
    assert not (two_bases / "kbs" / "zzb").exists() and doc_ids_of(cli, two_bases, "rst")
    refused = cli(two_bases, "kb", "remove", "default", "--yes", check_code=2, env=NO_SAMPLE)
    assert "不能删除" in refused.stderr


@pytest.mark.parametrize("name", ["../etc", "zzb/../rst", "x'; DROP TABLE bases;--", "组织部", "", "A" * 40])
def test_a_bad_base_name_is_refused_with_what_to_write(tmp_path, cli, name):
    result = cli(tmp_path / "var", "kb", "create", name, check_code=2, env=NO_SAMPLE)
    assert "知识库名称只能由小写字母、数字和下划线组成" in result.stderr
    logged = json.loads(cli(tmp_path / "var", "audit", "--format", "json", check_code=0).stdout)[-1]
    assert logged["action"] == "kb_create" and logged["outcome"].startswith("denied: 知识库名称只能")
    assert not (tmp_path / "var" / "etc").exists() and not (tmp_path / "etc").exists()
    asked = cli(tmp_path / "var", "ask", EXEMPTION, "--kb", name or ",", check_code=2 if name else 0, env=NO_SAMPLE)
    if name:
        assert "知识库名称" in asked.stderr


def test_a_store_made_before_bases_existed_becomes_default_with_every_document(tmp_path, cli):
    from assistant import create_service

    data_dir = tmp_path / "old"
    before = create_service(make_settings(data_dir))  # the layout of every store made before #22: no kbs.sqlite3
    before.ensure_sample()
    documents = {d["doc_id"]: d["passages"] for d in before.documents()}
    answer = before.ask(EXEMPTION).to_dict()
    assert not (data_dir / "kbs.sqlite3").exists() and len(documents) == 4

    listed = json.loads(cli(data_dir, "kb", "list", "--json", check_code=0).stdout)
    assert [(b["name"], b["documents"]) for b in listed] == [("default", 4)]
    after = json.loads(cli(data_dir, "docs", "--kb", "default", "--json", check_code=0).stdout)
    assert {d["doc_id"]: d["passages"] for d in after} == documents and {d["kb"] for d in after} == {"default"}
    again = json.loads(cli(data_dir, "ask", EXEMPTION, "--json", check_code=0).stdout)
    assert again["answer"] == answer["answer"]
    assert [c["passage_id"] for c in again["citations"]] == [c["passage_id"] for c in answer["citations"]]
    assert "已导入内置示例文档" not in cli(data_dir, "ask", EXEMPTION, check_code=0).stderr, "nothing ingested again"


def test_the_api_serves_each_base_by_name(two_bases):
    from app import create_app

    settings = make_settings(two_bases, admin_keys=ADMIN, ingest_sample_when_empty=False)
    auth = {"Authorization": f"Bearer {ADMIN}"}
    with served(create_app(settings)) as url:
        kbs = httpx.get(url + "/api/v1/kbs", headers=auth).json()["kbs"]
        assert [(b["name"], b["title"], b["writable"]) for b in kbs] == [("default", "默认知识库", True), ("rst", "人社厅", True), ("zzb", "组织部", True)]
        upload = httpx.post(url + "/api/v1/documents", headers=auth, data={"kb": "rst"},
                            files={"file": ("rst-second.txt", "关于工伤认定时限的通知\n一、认定时限\n社会保险行政部门应当自受理工伤认定申请之日起60日内作出工伤认定的决定。\n".encode())})
        assert upload.status_code == 201
        new_doc = upload.json()["doc_ids"][0]
        rst_docs = {d["doc_id"] for d in httpx.get(url + "/api/v1/documents?kb=rst", headers=auth).json()["documents"]}
        assert new_doc in rst_docs and len(rst_docs) == 2
        zzb_docs = {d["doc_id"] for d in httpx.get(url + "/api/v1/documents", params={"kb": "zzb"}, headers=auth).json()["documents"]}
        assert new_doc not in zzb_docs

        asked = httpx.post(url + "/api/v1/ask", headers=auth, timeout=60,
                           json={"question": "工伤认定决定应当在多少日内作出？", "kb": "rst"}).json()
        assert "60日" in asked["answer"] and {c["doc_id"] for c in asked["citations"]} <= rst_docs
        searched = httpx.post(url + "/api/v1/search", headers=auth, json={"query": "容错免责", "kb": ["zzb"]}).json()["passages"]
        assert searched and {p["metadata"]["kb"] for p in searched} == {"zzb"}

        models = [m["id"] for m in httpx.get(url + "/v1/models", headers=auth).json()["data"]]
        assert models == ["policyqa", "policyqa/default", "policyqa/rst", "policyqa/zzb"]
        chat = httpx.post(url + "/v1/chat/completions", headers=auth, timeout=60,
                          json={"model": "policyqa/zzb", "messages": [{"role": "user", "content": EXEMPTION}]}).json()
        assert TRUE_QUOTE in chat["choices"][0]["message"]["content"] and {c["kb"] for c in chat["citations"]} == {"zzb"}
        elsewhere = httpx.post(url + "/v1/chat/completions", headers=auth, timeout=60,
                               json={"model": "policyqa/rst", "messages": [{"role": "user", "content": EXEMPTION}]}).json()
        assert elsewhere["refused"] is True and elsewhere["citations"] == []

        removed = httpx.delete(url + f"/api/v1/documents/{new_doc}", params={"kb": "zzb"}, headers=auth)
        assert removed.status_code == 404, "the document is in rst, not zzb"
        assert httpx.delete(url + f"/api/v1/documents/{new_doc}?kb=rst", headers=auth).status_code == 200
        missing = httpx.get(url + "/api/v1/documents?kb=nope", headers=auth)
        assert missing.status_code == 404 and "没有知识库 nope" in missing.json()["detail"]
        traversal = httpx.get(url + "/api/v1/documents", params={"kb": "../zzb"}, headers=auth)
        assert traversal.status_code == 422 and "知识库名称" in traversal.json()["detail"]


def test_sample_goes_into_default_only(tmp_path, cli):
    cli(tmp_path / "var", "kb", "create", "zzb", check_code=0)
    cli(tmp_path / "var", "ask", EXEMPTION, check_code=0)
    listed = {b["name"]: b["documents"] for b in json.loads(cli(tmp_path / "var", "kb", "list", "--json", check_code=0).stdout)}
    assert listed == {"default": 4, "zzb": 0}, "the bundled sample (two files, four documents) fills default alone"
