"""An ingest killed hard part-way and started again ends with every passage stored once, indexes agreeing."""

import json
import os
import signal
import subprocess
import sys

from conftest import HUBEI, XINHUA, eventually, make_settings
from ingest import load_policy_file
from settings import REPO_ROOT

# A first chunk of files (ingest.pipeline.CHUNK_FILES, 32) recorded, then a second of four, killed part-way.
FILES = 36


def write_policy_folder(folder):
    """Distinct policy files recombined from the bundled texts' sentences."""
    sentences = [
        s + "。"
        for path in (HUBEI, XINHUA)
        for s in path.read_text(encoding="utf-8").replace("\n", "").split("。")
        if len(s) > 20
    ]
    folder.mkdir()
    for number in range(FILES):
        picked = [sentences[(number * 7 + k * 3) % len(sentences)] for k in range(12)]
        body = "\n\n".join("".join(picked[i : i + 3]) for i in range(0, 12, 3))
        (folder / f"policy-{number:03d}.txt").write_text(f"第{number}号通知\n\n{body}\n", encoding="utf-8")


def last_change(folder) -> int:
    """When any file under a folder last changed (ns)."""
    return max((p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()), default=0)


def test_kill_nine_during_ingest_then_rerun_leaves_no_duplicate_and_nothing_missing(tmp_path):
    folder, data_dir = tmp_path / "inbox", tmp_path / "var"
    write_policy_folder(folder)
    env = {**os.environ, "POLICYQA_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, str(REPO_ROOT / "app.py"), "ingest", str(folder)]

    first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    manifest = data_dir / "sources.json"
    eventually(lambda: manifest.exists() or first.poll() is not None, timeout=240, interval=0.2, what="the first file recorded")
    assert first.poll() is None, "the ingest finished before it could be interrupted; give it more files"
    # killed once the next chunk has begun writing to Chroma (its change stamp goes first), not between chunks
    recorded = manifest.stat().st_mtime_ns
    eventually(
        lambda: last_change(data_dir / "chroma") > recorded or first.poll() is not None,
        timeout=240, interval=0.02, what="the next chunk writing to Chroma",
    )
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    done_before = len(json.loads(manifest.read_text(encoding="utf-8")))
    assert 0 < done_before < FILES

    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr

    from assistant import create_service

    service = create_service(make_settings(data_dir, ingest_sample_when_empty=False))
    expected = {p.passage_id for path in sorted(folder.iterdir()) for _, passages in load_policy_file(path) for p in passages}
    stored = service.store.vectors.get(include=[])["ids"]
    assert len(stored) == len(set(stored)) == len(expected)
    assert set(stored) == expected == service.store.passage_ids()
    assert len(json.loads(manifest.read_text(encoding="utf-8"))) == FILES
