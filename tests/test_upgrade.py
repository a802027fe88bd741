"""Upgrading (#22): a store built by the code of the last commit before knowledge bases existed becomes the base
`default` on first start, every document answerable as before. Skipped where the repository's history is absent."""

import json
import os
import subprocess
import sys

import pytest

from settings import REPO_ROOT

BEFORE_BASES = "7e052d9"  # main just before issue 22
EXEMPTION = "先行先试中出现的失误能否免责？"


def old_code(folder) -> None:
    """The code of BEFORE_BASES, written out into `folder` (skips the test when git or that commit is missing)."""
    found = subprocess.run(["git", "-C", str(REPO_ROOT), "cat-file", "-e", f"{BEFORE_BASES}^{{commit}}"], capture_output=True)
    if found.returncode != 0:
        pytest.skip(f"commit {BEFORE_BASES} is not in this checkout")
    archive = subprocess.run(["git", "-C", str(REPO_ROOT), "archive", BEFORE_BASES], capture_output=True, check=True).stdout
    folder.mkdir()
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)


def run(code_dir, *args, env) -> str:
    """One command of an app.py, as a user runs it; its stdout."""
    done = subprocess.run([sys.executable, str(code_dir / "app.py"), *args], cwd=code_dir, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_a_store_built_by_the_code_before_bases_keeps_every_document_in_default(tmp_path):
    old = tmp_path / "old-code"
    old_code(old)
    env = {**os.environ, "POLICYQA_DATA_DIR": str(tmp_path / "var"), "HF_HUB_OFFLINE": "1"}
    run(old, "ingest", str(old / "data" / "corpus"), env=env)
    documents = json.loads(run(old, "docs", "--json", env=env))
    answer = json.loads(run(old, "ask", EXEMPTION, "--json", env=env))
    assert not (tmp_path / "var" / "kbs.sqlite3").exists() and len(documents) == 4

    bases = json.loads(run(REPO_ROOT, "kb", "list", "--json", env=env))
    assert [(b["name"], b["documents"], b["passages"]) for b in bases] == [("default", 4, sum(d["passages"] for d in documents))]
    after = json.loads(run(REPO_ROOT, "docs", "--kb", "default", "--json", env=env))
    assert [{k: v for k, v in d.items() if k != "kb"} for d in after] == documents
    again = json.loads(run(REPO_ROOT, "ask", EXEMPTION, "--json", env=env))
    assert again["answer"] == answer["answer"] and again["suggestions"] == answer["suggestions"]
    assert [c["passage_id"] for c in again["citations"]] == [c["passage_id"] for c in answer["citations"]]
    assert {c["kb"] for c in again["citations"]} == {"default"}
