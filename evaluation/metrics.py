"""Per-question outcomes and the figures aggregated from them."""

import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

from ingest.clean import squeeze

QUOTE = re.compile(r"「(.+?)」", re.S)


@dataclass(frozen=True)
class Outcome:
    """What happened to one question."""

    qid: str
    question: str
    answerable: bool
    gold_answer: str | None
    gold_rank: int | None  # rank of the first retrieved passage of a gold document
    refused: bool
    answer_text: str
    cited_texts: tuple[tuple[str, int, str], ...]  # (doc_id, start, text) of each cited passage
    latency_ms: float
    evidence: float = 0.0
    similarity: float = 0.0

    def record(self) -> dict:
        """This outcome as one row of the per-question listing."""
        cited = cited_spans(self.cited_texts)
        return {
            "qid": self.qid,
            "question": self.question,
            "answerable": self.answerable,
            "gold_rank": self.gold_rank,
            "refused": self.refused,
            "evidence": round(self.evidence, 4),
            "similarity": round(self.similarity, 4),
            "gold_in_citations": None if not self.gold_answer else any(squeeze(self.gold_answer) in c for c in cited),
            "cited_doc_ids": sorted({doc_id for doc_id, _, _ in self.cited_texts}),
            "answer": self.answer_text,
        }


def gold_rank(retrieved_doc_ids: list[str], gold: tuple[str, ...]) -> int | None:
    """Where the first passage of any gold document stands among the retrieved passages."""
    for rank, doc_id in enumerate(retrieved_doc_ids):
        if doc_id in gold:
            return rank
    return None


def cited_spans(cited: tuple[tuple[str, int, str], ...]) -> list[str]:
    """Cited passages joined per document in document order (adjacent passages read as one)."""
    by_doc: dict[str, list[tuple[int, str]]] = {}
    for doc_id, start, text in cited:
        by_doc.setdefault(doc_id, []).append((start, squeeze(text)))
    return ["".join(t for _, t in sorted(parts)) for parts in by_doc.values()]


def answer_content(text: str) -> str:
    """What an answer says: its quotes when it quotes, else its whole text."""
    quotes = QUOTE.findall(text)
    return squeeze("".join(quotes) if quotes else text)


def char_f1(prediction: str, gold: str) -> float:
    """Character-bag F1 between two strings (whitespace ignored)."""
    p, g = Counter(squeeze(prediction)), Counter(squeeze(gold))
    common = sum((p & g).values())
    if not common:
        return 0.0
    precision, recall = common / sum(p.values()), common / sum(g.values())
    return 2 * precision * recall / (precision + recall)


def mean(values: list[float]) -> float | None:
    return round(float(np.mean(values)), 4) if values else None


def summarise(outcomes: list[Outcome], index_seconds: float) -> dict:
    """The figures of one run."""
    answerable = [o for o in outcomes if o.answerable]
    unanswerable = [o for o in outcomes if not o.answerable]
    with_span = [o for o in answerable if o.gold_answer]
    answered = [o for o in outcomes if not o.refused]
    latencies = [o.latency_ms for o in outcomes]
    return {
        "questions": len(outcomes),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "doc_recall@1": mean([o.gold_rank == 0 for o in answerable]),
        "doc_recall@5": mean([o.gold_rank is not None and o.gold_rank < 5 for o in answerable]),
        "mrr": mean([0.0 if o.gold_rank is None else 1 / (o.gold_rank + 1) for o in answerable]),
        "gold_in_citations": mean(
            [any(squeeze(o.gold_answer) in span for span in cited_spans(o.cited_texts)) for o in with_span]
        ),
        "gold_in_answer": mean([squeeze(o.gold_answer) in squeeze(o.answer_text) for o in with_span]),
        "answer_char_f1": mean([0.0 if o.refused else char_f1(answer_content(o.answer_text), o.gold_answer) for o in with_span]),
        "cited_passages_mean": mean([len(o.cited_texts) for o in answered]),
        "cited_chars_mean": mean([sum(len(t) for _, _, t in o.cited_texts) for o in answered]),
        "refusal_accuracy": mean([o.refused for o in unanswerable]),
        "false_refusal_rate": mean([o.refused for o in answerable]),
        "latency_ms": {
            "p50": round(float(np.percentile(latencies, 50)), 1) if latencies else None,
            "p95": round(float(np.percentile(latencies, 95)), 1) if latencies else None,
        },
        "index_seconds": round(index_seconds, 2),
    }


def refusal_threshold(outcomes: list[Outcome]) -> dict | None:
    """The evidence threshold that best separates answerable from unanswerable questions (balanced accuracy).

    Declining below the threshold; the threshold sits midway between two neighbouring evidence values.
    """
    answerable = sorted(o.evidence for o in outcomes if o.answerable)
    unanswerable = sorted(o.evidence for o in outcomes if not o.answerable)
    if not answerable or not unanswerable:
        return None
    values = sorted(set(answerable + unanswerable))
    cuts = [0.0] + [(a + b) / 2 for a, b in zip(values, values[1:])] + [values[-1] + 1e-6]
    best = None
    for cut in cuts:
        declined = sum(e < cut for e in unanswerable) / len(unanswerable)
        falsely = sum(e < cut for e in answerable) / len(answerable)
        balanced = (declined + 1 - falsely) / 2
        if best is None or balanced > best["balanced_accuracy"]:
            best = {
                "threshold": round(cut, 4),
                "balanced_accuracy": round(balanced, 4),
                "refusal_accuracy": round(declined, 4),
                "false_refusal_rate": round(falsely, 4),
            }
    return best
