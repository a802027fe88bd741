"""Measure the similarity at which a question is taken to mean the same as a curated (FAQ) one.

    python -m evaluation.faq [--pairs eval/faq_pairs.jsonl] [--evalsets ../shared/evalsets]

Positives are hand-written pairs (a standard question, and the same question in a user's words or in
English). Negatives are the dev sets' different questions about the same document (near misses: the
same topic, another question), every standard question against the other pairs' wordings, and
questions of different sets. Prints each group's cosine distribution and, per threshold, the share
of positives matched and of each negative group wrongly matched. Serving a curated answer to a
question it does not answer is the costly error, so the threshold is the lowest at which no more than
1% of near misses match.

Then the whole rule is run on the bundled texts (`--bundled`): each gold question curated with its
gold answer as the quote, every other question asked, and the curated answer served counted right
when the asked question's gold answer stands in the passage it quotes, wrong otherwise.
"""

import argparse
import itertools
import json
import random
from collections import defaultdict
from pathlib import Path

import numpy as np

from evaluation.datasets import load_questions, read_jsonl

NEAR_PAIRS_PER_SET = 400
CROSS_PAIRS = 1000
THRESHOLDS = tuple(round(0.84 + 0.01 * i, 2) for i in range(13))
MAX_NEAR_MISS_RATE = 0.01


def cosines(embeddings, pairs: list[tuple[str, str]]) -> np.ndarray:
    """The model's query-to-query cosine of each pair."""
    texts = sorted({t for pair in pairs for t in pair})
    vectors = {t: np.asarray(embeddings.embed_query(t)) for t in texts}
    return np.array([float(vectors[a] @ vectors[b]) for a, b in pairs])


def near_misses(evalsets: Path, names: list[str], rng: random.Random) -> list[tuple[str, str]]:
    """Pairs of different questions that share a gold document, from each dev set."""
    pairs = []
    for name in names:
        by_document = defaultdict(list)
        for question in load_questions(evalsets / name / "qa.jsonl"):
            for doc_id in question.gold_doc_ids[:1]:
                by_document[doc_id].append(question.question)
        same = [(a, b) for qs in by_document.values() for a, b in itertools.combinations(sorted(set(qs)), 2)]
        pairs += rng.sample(same, min(NEAR_PAIRS_PER_SET, len(same)))
    return pairs


def across_sets(evalsets: Path, names: list[str], rng: random.Random) -> list[tuple[str, str]]:
    """Pairs of questions from two different dev sets."""
    questions = {name: [q.question for q in load_questions(evalsets / name / "qa.jsonl")] for name in names}
    pairs = []
    for _ in range(CROSS_PAIRS):
        first, second = rng.sample(names, 2)
        pairs.append((rng.choice(questions[first]), rng.choice(questions[second])))
    return pairs


def served_rates(service, questions: list) -> dict:
    """The whole rule (cosine, fact kind, retrieval agreement) on the bundled texts: each answerable question in turn
    is curated with its gold answer quoted, every other question asked; served to one whose gold answer stands in
    the same passage is right, to any other is wrong."""
    from assistant.faq import QuoteNotFound

    answerable = [q for q in questions if q.answerable and q.answer]
    right = wrong = same_passage = 0
    wrong_pairs = []
    for standard in answerable:
        try:
            entry = service.curated.add(standard.question, f"「{standard.answer}」")
        except QuoteNotFound:
            continue
        cited = entry["citations"][0]
        for asked in questions:
            if asked is standard:
                continue
            holds = bool(asked.answer) and asked.answer in cited["text"]
            same_passage += holds
            if service.ask(asked.question).source == "faq":
                right += holds
                wrong += not holds
                if not holds:
                    wrong_pairs.append((standard.question, asked.question))
        service.curated.remove(entry["id"])
    asked_pairs = len(answerable) * (len(questions) - 1)
    return {"pairs": asked_pairs, "same_passage": same_passage, "served_right": right, "served_wrong": wrong, "wrong_pairs": wrong_pairs}


def report(groups: dict[str, np.ndarray]) -> dict:
    """Each group's distribution, and per threshold the share of each group at or above it."""
    distributions = {
        name: {"n": len(v), **{f"p{p}": round(float(np.percentile(v, p)), 4) for p in (5, 25, 50, 75, 95, 99)}}
        for name, v in groups.items()
    }
    rates = {t: {name: round(float((v >= t).mean()), 4) for name, v in groups.items()} for t in THRESHOLDS}
    chosen = next((t for t in THRESHOLDS if rates[t]["near_misses"] <= MAX_NEAR_MISS_RATE), THRESHOLDS[-1])
    return {"distributions": distributions, "rates": rates, "chosen": chosen}


def main() -> None:
    from settings import Settings
    from vectorstore.embeddings import make_embeddings

    parser = argparse.ArgumentParser(description="measure the FAQ matching threshold")
    parser.add_argument("--pairs", default="eval/faq_pairs.jsonl")
    parser.add_argument("--evalsets", default="../shared/evalsets")
    parser.add_argument("--sets", nargs="+", default=["ncppolicies", "govqa", "lecoqa"])
    parser.add_argument("--bundled", default="eval/bundled_qa.jsonl", help="gold set on the bundled texts for the whole rule ('' skips it)")
    args = parser.parse_args()
    rng = random.Random(7)
    hand = [(p["standard"], p["asked"]) for p in read_jsonl(Path(args.pairs))]
    others = [(a, b2) for (a, _), (a2, b2) in itertools.permutations(hand, 2) if a != a2]
    embeddings = make_embeddings(Settings())
    groups = {
        "paraphrases": cosines(embeddings, hand),
        "near_misses": cosines(embeddings, near_misses(Path(args.evalsets), args.sets, rng)),
        "other_standard": cosines(embeddings, others),
        "across_sets": cosines(embeddings, across_sets(Path(args.evalsets), args.sets, rng)),
    }
    result = report(groups)
    for name, row in result["distributions"].items():
        print(f"{name:15s} " + "  ".join(f"{k}={v}" for k, v in row.items()))
    print("threshold  " + "  ".join(f"{name:>14s}" for name in groups))
    for threshold, row in result["rates"].items():
        print(f"{threshold:9.2f}  " + "  ".join(f"{row[name]:14.3f}" for name in groups))
    print(json.dumps({"near_miss_bound_threshold": result["chosen"]}))
    if args.bundled:
        import tempfile

        from assistant import create_service

        with tempfile.TemporaryDirectory() as folder:
            service = create_service(Settings(data_dir=Path(folder), suggestions=0))
            service.ensure_sample()
            print(json.dumps(served_rates(service, load_questions(Path(args.bundled))), ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
