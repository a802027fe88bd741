"""Measure the evidence threshold for declining, pooled over several evaluation sets.

    python -m evaluation.calibrate [--sets ncppolicies govqa lecoqa] [--evalsets ../shared/evalsets]

Each set is asked its own questions (answerable) and questions of the next set (which its corpus
cannot answer); the threshold that best separates the two pooled groups is printed. The default of
POLICYQA_MIN_EVIDENCE is this measured value.
"""

import argparse
import json
from pathlib import Path
from types import SimpleNamespace

from evaluation.datasets import as_unanswerable, load_corpus, load_questions
from evaluation.metrics import refusal_threshold
from evaluation.runner import run_project

FOREIGN_QUESTIONS = 200


def pooled_threshold(settings, evalsets: Path, names: list[str], limit: int | None) -> dict:
    """Run each set with foreign questions added and find the threshold on all outcomes together."""
    records, per_set = [], {}
    for index, name in enumerate(names):
        foreign = names[(index + 1) % len(names)]
        questions = load_questions(evalsets / name / "qa.jsonl", limit)
        questions += as_unanswerable(load_questions(evalsets / foreign / "qa.jsonl", FOREIGN_QUESTIONS), "foreign-")
        summary = run_project(settings, load_corpus(evalsets / name / "corpus.jsonl"), questions)
        records += summary["per_question"]
        per_set[name] = summary["best_min_evidence"]
    outcomes = [SimpleNamespace(evidence=r["evidence"], answerable=r["answerable"]) for r in records]
    return {"pooled": refusal_threshold(outcomes), "per_set": per_set, "questions": len(records)}


def main() -> None:
    from settings import Settings

    parser = argparse.ArgumentParser(description="measure the evidence threshold for declining")
    parser.add_argument("--evalsets", default="../shared/evalsets")
    parser.add_argument("--sets", nargs="+", default=["ncppolicies", "govqa", "lecoqa"])
    parser.add_argument("--limit", type=int, help="questions per set")
    args = parser.parse_args()
    result = pooled_threshold(Settings(), Path(args.evalsets), args.sets, args.limit)
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
