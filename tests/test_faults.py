"""Faults at the store: a full disk and a read-only store folder give a clear error saying what to do, and lose nothing.

These run on a real small file system (tmpfs) mounted for the test, which needs root; elsewhere
they are skipped, and tests/test_store.py covers a failing index save with a simulated ENOSPC.
"""

import json
import os
import re
import subprocess
import sys

import pytest

from conftest import SAMPLE_DIR, make_settings
from settings import REPO_ROOT
from vectorstore.chroma import StoreWriteError

QUESTION = "先行先试中出现的失误能否免责？"
NEW_POLICY = (
    "关于农村户用厕所改造的补助办法\n\n"
    "一、补助标准\n\n"
    "农村户用厕所改造每户补助一千二百元，由县级财政在验收合格后三十日内拨付到户。\n"
)
NEW_QUESTION = "农村户用厕所改造每户补助多少？"


def mount(*arguments: str) -> bool:
    return subprocess.run(["mount", *arguments], capture_output=True).returncode == 0


@pytest.fixture
def small_disk(tmp_path):
    """A 96 MB tmpfs of its own, unmounted afterwards."""
    folder = tmp_path / "disk"
    folder.mkdir()
    if os.geteuid() != 0 or not mount("-t", "tmpfs", "-o", "size=96m", "tmpfs", str(folder)):
        pytest.skip("mounting a small file system needs root")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def fill(folder) -> None:
    """Write a filler file until the file system is full."""
    with open(folder / "filler", "wb") as handle:
        try:
            while True:
                handle.write(b"\0" * (1 << 20))
                handle.flush()
        except OSError:
            pass


def chroma_ids(service) -> set[str]:
    return set(service.store.vectors.get(include=[])["ids"])


def test_a_full_disk_stops_an_ingest_clearly_and_loses_nothing(small_disk):
    from assistant import create_service

    service = create_service(make_settings(small_disk / "var"))
    service.ensure_sample()
    stored, answer = chroma_ids(service), service.ask(QUESTION).text
    fill(small_disk)

    with pytest.raises(StoreWriteError, match="磁盘") as failure:
        service.ingest_texts([{"text": NEW_POLICY * 40, "source": "new.txt"}])
    assert "腾出磁盘空间" in str(failure.value)
    assert re.search(r"只剩 \d+ MB，这次写入需要约 \d+ MB", str(failure.value)), "it says how much room it needs"
    assert service.ask(QUESTION).text == answer
    assert stored <= chroma_ids(service)
    service.store.refresh_if_changed(max_age=0)
    assert service.store.passage_ids() == chroma_ids(service)

    (small_disk / "filler").unlink()
    report = service.ingest_texts([{"text": NEW_POLICY, "source": "new.txt"}])
    assert report.passages_added > 0
    assert "一千二百元" in service.ask(NEW_QUESTION).text
    assert stored <= chroma_ids(service) == service.store.passage_ids()


def test_a_read_only_store_folder_is_named_and_nothing_is_lost(small_disk):
    import chromadb

    from assistant import create_service

    data_dir = small_disk / "var"
    env = {**os.environ, "POLICYQA_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    ingest = [sys.executable, str(REPO_ROOT / "app.py"), "ingest", str(SAMPLE_DIR)]
    assert subprocess.run(ingest, env=env, capture_output=True, timeout=600).returncode == 0
    listing = [sys.executable, str(REPO_ROOT / "app.py"), "docs", "--json"]
    stored = json.loads(subprocess.run(listing, env=env, capture_output=True, text=True, timeout=600).stdout)
    assert mount("-o", "remount,ro", str(small_disk))

    with pytest.raises(StoreWriteError, match="写权限"):
        create_service(make_settings(data_dir, ingest_sample_when_empty=False))
    chromadb.api.client.SharedSystemClient.clear_system_cache()

    assert mount("-o", "remount,rw", str(small_disk))
    service = create_service(make_settings(data_dir, ingest_sample_when_empty=False))
    assert service.documents() == stored
    assert service.store.passage_ids() == chroma_ids(service)
    assert not service.ask(QUESTION).refused


def test_uploads_refused_for_a_full_disk_leave_no_file_behind_and_keep_the_earlier_one(small_disk):
    import httpx

    from assistant import create_service
    from serving import served
    from web.server import create_server

    settings = make_settings(small_disk / "var")
    service = create_service(settings)
    service.ensure_sample()
    uploads = small_disk / "var" / "uploads"
    with served(create_server(service, settings)) as url:
        def upload(name: str, text: str) -> httpx.Response:
            return httpx.post(url + "/api/v1/documents", files={"file": (name, text.encode())}, timeout=120)

        assert upload("补助办法.txt", NEW_POLICY).status_code == 201
        fill(small_disk)
        os.truncate(small_disk / "filler", (small_disk / "filler").stat().st_size - (4 << 20))
        for name in ("补助办法.txt", "另一个办法.txt"):
            refused = upload(name, NEW_POLICY.replace("一千二百元", "一千五百元") * 20)
            assert refused.status_code == 507 and "腾出磁盘空间" in refused.json()["detail"], refused.text
        assert sorted(p.name for p in uploads.rglob("*") if p.is_file()) == ["补助办法.txt"]
        assert (uploads / "补助办法.txt").read_text(encoding="utf-8") == NEW_POLICY
        assert "一千二百元" in service.ask(NEW_QUESTION).text

        (small_disk / "filler").unlink()
        assert upload("另一个办法.txt", NEW_POLICY.replace("户用厕所", "公共厕所")).status_code == 201


def test_a_start_on_a_full_disk_says_how_much_room_it_needs_and_the_documents_come_back(small_disk):
    data_dir = small_disk / "var"
    env = {**os.environ, "POLICYQA_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    assert subprocess.run([sys.executable, str(REPO_ROOT / "app.py"), "ingest", str(SAMPLE_DIR)], env=env, capture_output=True, timeout=600).returncode == 0
    fill(small_disk)

    asking = [sys.executable, str(REPO_ROOT / "app.py"), "ask", QUESTION]
    refused = subprocess.run(asking, env=env, capture_output=True, text=True, timeout=600)
    assert refused.returncode != 0
    assert re.search(r"磁盘空间不足：所在磁盘只剩 \d+ MB，知识库至少需要留出约 \d+ MB", refused.stderr), refused.stderr[-2000:]
    assert str(REPO_ROOT) not in refused.stderr

    (small_disk / "filler").unlink()
    answered = subprocess.run(asking, env=env, capture_output=True, text=True, timeout=600)
    assert answered.returncode == 0 and "可以不予或者免于追究责任" in answered.stdout
