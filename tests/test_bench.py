"""Smoke test of `app.py bench` on a tiny corpus: the JSON has every key, for both pipelines, with sane values (no timing thresholds)."""

import json
import os
import subprocess
import sys

from bench.scale import KEYS
from settings import REPO_ROOT

PASSAGES, SAMPLE = 120, 40


def test_bench_reports_every_figure_for_both_pipelines(tmp_path):
    out = tmp_path / "bench.json"
    command = [sys.executable, str(REPO_ROOT / "app.py"), "bench", "--passages", str(PASSAGES), "--embed-sample", str(SAMPLE), "--json", str(out)]
    done = subprocess.run(command, env={**os.environ, "HF_HUB_OFFLINE": "1"}, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text(encoding="utf-8"))
    assert "baseline (LangChain textbook)" in done.stdout and "query_ms.p95" in done.stdout

    for figures in (result, result["baseline"]):
        assert set(KEYS) <= set(figures)
        assert PASSAGES <= figures["passages"] < PASSAGES * 1.5
        assert 0 < figures["derived_vectors"] < figures["passages"]
        assert figures["ingest_seconds"] > 0 and figures["ingest_passages_per_s"] > 0 and figures["encode_ratio"] > 0
        assert 0 < figures["query_ms"]["p50"] <= figures["query_ms"]["p95"]
        assert figures["query_ms"]["queries"] > 1
        assert figures["startup_seconds"] > 0 and figures["rss_mb"] > 50
    assert result["index_chars_per_s"] > 0 and result["baseline"]["index_chars_per_s"] is None
    assert result["embed_sample"] == SAMPLE
