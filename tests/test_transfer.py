"""A knowledge base moved between machines: export-kb on one store, import-kb on a fresh one, the same documents and answers."""

import io
import json
import tarfile

from conftest import SAMPLE_DIR
from test_lifecycle import EXPIRING, write

EXEMPTION = "先行先试中出现的失误能否免责？"
NO_SAMPLE = {"POLICYQA_INGEST_SAMPLE_WHEN_EMPTY": "false"}


def documents(cli, data) -> list[dict]:
    return json.loads(cli(data, "docs", "--json", check_code=0, env=NO_SAMPLE).stdout)


def test_export_then_import_gives_the_same_documents_answers_corrections_and_feedback(tmp_path, cli):
    from assistant import create_service
    from conftest import make_settings

    source, target, archive = tmp_path / "source", tmp_path / "target", tmp_path / "知识库.tar.gz"
    files = write(tmp_path / "files", {"notice.txt": EXPIRING.replace("，有效期至2023年12月31日", "")})
    cli(source, "ingest", SAMPLE_DIR, files, check_code=0, env=NO_SAMPLE)
    service = create_service(make_settings(source))
    notice = next(d for d in service.documents() if d["title"].startswith("关于疫情期间"))
    service.correct_lifecycle(notice["doc_id"], {"expiry_date": "2023-12-31"})
    service.feedback().add("down", EXEMPTION, "……", reason="引用不对", user="张三")

    exported = cli(source, "export-kb", archive, check_code=0)
    assert "已导出 5 篇文档" in exported.stdout and "1 项效力更正" in exported.stdout and "1 条反馈" in exported.stdout
    imported = cli(target, "import-kb", archive, check_code=0, env=NO_SAMPLE)
    assert "沿用导出包中的向量" in imported.stdout and "与导出时一致" in imported.stdout

    assert documents(cli, target) == documents(cli, source)
    moved = next(d for d in documents(cli, target) if d["doc_id"] == notice["doc_id"])
    assert moved["status"] == "expired" and moved["expiry_date"] == "2023-12-31", "the correction moved with the documents"
    here = json.loads(cli(source, "ask", EXEMPTION, "--json", check_code=0).stdout)
    there = json.loads(cli(target, "ask", EXEMPTION, "--json", check_code=0).stdout)
    assert here == there and not there["refused"] and "先行先试" in there["answer"]
    (entry,) = create_service(make_settings(target)).feedback().list()
    assert entry["user"] == "张三" and entry["reason"] == "引用不对"
    again = cli(target, "import-kb", archive, check_code=0, env=NO_SAMPLE)
    assert "0 条新反馈" in again.stdout and documents(cli, target) == documents(cli, source), "importing twice adds nothing"


def test_a_damaged_or_foreign_archive_is_refused_and_nothing_stored_is_lost(tmp_path, cli):
    source, target, archive = tmp_path / "source", tmp_path / "target", tmp_path / "kb.tar.gz"
    cli(source, "ingest", SAMPLE_DIR, check_code=0, env=NO_SAMPLE)
    cli(source, "export-kb", archive, check_code=0)
    cli(target, "ingest", write(tmp_path / "files", {"notice.txt": EXPIRING}), check_code=0, env=NO_SAMPLE)
    before = documents(cli, target)

    with tarfile.open(archive) as original:
        members = {m.name: original.extractfile(m).read() for m in original.getmembers()}
    members["documents.jsonl"] = members["documents.jsonl"].replace("先行先试".encode(), "后行后试".encode())
    tampered = tmp_path / "tampered.tar.gz"
    with tarfile.open(tampered, "w:gz") as out:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))
    refused = cli(target, "import-kb", tampered, check_code=1, env=NO_SAMPLE)
    assert "documents.jsonl 的校验和不符" in refused.stderr

    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    assert "不是完整的知识库导出包" in cli(target, "import-kb", truncated, check_code=1, env=NO_SAMPLE).stderr
    assert "文件不存在" in cli(target, "import-kb", tmp_path / "missing.tar.gz", check_code=1, env=NO_SAMPLE).stderr
    assert documents(cli, target) == before
