"""The eval command on real question sets written by others (a slice of ../shared/evalsets) and on the bundled gold set."""

import json
import os

import pytest

from settings import REPO_ROOT

EVALSETS = REPO_ROOT.parent / "shared" / "evalsets"
KEYS = (
    "questions answerable unanswerable doc_recall@1 doc_recall@5 mrr gold_in_citations gold_in_answer answer_char_f1 "
    "cited_passages_mean cited_chars_mean refusal_accuracy false_refusal_rate latency_ms index_seconds"
).split()

needs_evalsets = pytest.mark.skipif(not EVALSETS.is_dir(), reason="../shared/evalsets is not beside the repository")


@pytest.fixture
def run_eval(cli, tmp_path):
    """`app.py eval` with these arguments, in-process, sharing the run's embedding cache; fails unless it exits 0."""
    return lambda *args: cli(tmp_path / "var", "eval", *args, "--embed-cache", os.environ["POLICYQA_EMBED_CACHE"], check_code=0)


@needs_evalsets
def test_eval_slice_reports_every_figure_beside_the_naive_baseline(tmp_path, run_eval):
    questions = [json.loads(line) for line in (EVALSETS / "ncppolicies" / "qa.jsonl").read_text(encoding="utf-8").splitlines()[:8]]
    gold = {d for q in questions for d in q["gold_doc_ids"]}
    documents = [json.loads(line) for line in (EVALSETS / "ncppolicies" / "corpus.jsonl").read_text(encoding="utf-8").splitlines()]
    chosen = [d for d in documents if d["doc_id"] in gold] + [d for d in documents if d["doc_id"] not in gold][:12]
    corpus, qa, out = tmp_path / "corpus.jsonl", tmp_path / "qa.jsonl", tmp_path / "result.json"
    corpus.write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in chosen), encoding="utf-8")
    qa.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in questions), encoding="utf-8")

    result = run_eval(
        "--corpus", str(corpus), "--qa", str(qa), "--json", str(out), "--baseline", "naive",
        "--unanswerable-qa", str(EVALSETS / "govqa" / "qa.jsonl"), "--unanswerable-limit", "4",
    )
    assert "baseline_naive" in result.stdout and "doc_recall@5" in result.stdout
    report = json.loads(out.read_text(encoding="utf-8"))
    for key in KEYS:
        assert key in report and key in report["baseline"], key
    assert report["questions"] == 12 and report["answerable"] == 8 and report["unanswerable"] == 4
    assert set(report["latency_ms"]) == {"p50", "p95"}
    assert report["doc_recall@5"] > report["baseline"]["doc_recall@5"]
    assert report["baseline"]["refusal_accuracy"] == 0.0, "the textbook pipeline never declines"
    assert len(report["per_question"]) == 12


def test_bundled_gold_set_cites_the_right_document_and_declines_what_it_cannot_answer(tmp_path, run_eval):
    out = tmp_path / "bundled.json"
    run_eval("--corpus", str(REPO_ROOT / "data" / "corpus"), "--qa", str(REPO_ROOT / "eval" / "bundled_qa.jsonl"), "--json", str(out))
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["answerable"] >= 30 and report["unanswerable"] >= 10
    assert report["refusal_accuracy"] >= 0.9
    gold = {json.loads(line)["qid"]: json.loads(line) for line in (REPO_ROOT / "eval" / "bundled_qa.jsonl").read_text(encoding="utf-8").splitlines()}
    chinese = [r for r in report["per_question"] if r["answerable"] and not gold[r["qid"]]["question"].isascii()]
    wrong = [r["question"] for r in chinese if r["refused"] or not set(r["cited_doc_ids"]) & set(gold[r["qid"]]["gold_doc_ids"])]
    assert wrong == []
