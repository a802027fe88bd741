"""Measure rank fusion and the decline rule on real questions, each half of them checking the other.

    python -m evaluation.fusion [--sets ncppolicies govqa lecoqa] [--evalsets ../shared/evalsets] [--json OUT]

Each set's corpus is ingested once (embeddings from the evaluation cache); every question, its own
and 100 of the next set's (which the corpus cannot answer), is searched by BM25 and by the
embedding model, 50 passages each. Then, without searching again, it prints doc_recall@5 of
BM25 alone, the model alone and each fusion weight, on the even and the odd questions; and for
the decline rule (answer when the lexical evidence or the model's similarity is high enough) the
balanced accuracy of each pair of thresholds, pooled over the sets, on both halves; then the rule
the service uses, a similarity threshold growing with log2 of the passages searched, over a grid of
its settings, per set and half. A setting is kept only where both halves agree.
"""

import argparse
import itertools
import json
import pickle
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evaluation.datasets import as_unanswerable, load_corpus, load_questions
from vectorstore.retriever import ScoreFusion, WordsOrMeaningFusion, centrality_of, fuse_rankings, spread_documents

DEPTH = 50
TOP_K = 8
FOREIGN = 100
WEIGHTS = (0.0, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0, 5.0, 1e6)


@dataclass
class Searched:
    """One question's two rankings and the evidence measures of the passages in them."""

    qid: str
    answerable: bool
    gold: tuple[str, ...]
    lexical: list[str]
    dense: list[str]
    dense_scores: list[float]
    doc_of: dict[str, str]
    coverage: dict[str, float]
    passages: int = 0  # how many passages the question searched (the whole store)
    centrality: dict[str, float] | None = None  # each dense candidate's, against the store's centroid


def search_set(settings, corpus: list[dict], questions) -> list[Searched]:
    """Ingest the corpus into a fresh store and record both rankings for every question."""
    from assistant import create_service
    from vectorstore.evidence import passage_context, weigh_terms

    with tempfile.TemporaryDirectory(prefix="policyqa-fusion-") as folder:
        scoped = settings.model_copy(update={"data_dir": Path(folder), "ingest_sample_when_empty": False})
        service = create_service(scoped)
        service.ingest_texts(corpus)
        store = service.store
        centroid = service.retriever.centroid()
        rows = []
        for q in questions:
            lexical = [pid for pid, _ in store.lexical.search(q.question, DEPTH)]
            dense_hits = store.dense_search(q.question, DEPTH)
            terms = weigh_terms(q.question, store.lexical.idf)
            seen = dict.fromkeys(lexical + [pid for pid, _ in dense_hits])
            documents = {pid: service.retriever.as_document(pid) for pid in seen}
            rows.append(Searched(
                qid=q.qid, answerable=q.answerable, gold=q.gold_doc_ids, lexical=lexical,
                dense=[pid for pid, _ in dense_hits], dense_scores=[s for _, s in dense_hits],
                doc_of={pid: d.metadata["doc_id"] for pid, d in documents.items()},
                coverage={pid: terms.coverage(passage_context(d)) for pid, d in documents.items()},
                passages=len(store),
                centrality=None if centroid is None else centrality_of(store.passage_vectors([pid for pid, _ in dense_hits]), centroid),
            ))
        return rows


def fused(row: Searched, weight: float, k: int = TOP_K) -> list[str]:
    """The passages the retriever would return for this question at this dense weight."""
    ranked = fuse_rankings([(row.lexical, 1.0), (row.dense, weight)], k)
    return [pid for pid, _ in spread_documents(ranked, row.doc_of.get)]


def score_fused(row: Searched, k: int = TOP_K, fusion: WordsOrMeaningFusion = WordsOrMeaningFusion()) -> list[str]:
    """The passages the retriever returns with the bundled model's score fusion."""
    ranked = fusion.fuse(row.lexical, list(zip(row.dense, row.dense_scores)), row.coverage, k, lambda: row.centrality)
    return [pid for pid, _ in spread_documents(ranked, row.doc_of.get)]


# The rule's parts, each measured beside it: words' fusion for every question; centring alone; the meaning
# fusion without centring; every question centred.
FUSION_VARIANTS = {
    "words only": WordsOrMeaningFusion(below=0.0),
    "centring only": WordsOrMeaningFusion(meaning=ScoreFusion()),
    "no centring": WordsOrMeaningFusion(centre_weight=0.0),
    "all centred": WordsOrMeaningFusion(below=2.0),
}


def recall_at(rows: list[Searched], ranking, depth: int = 5) -> float:
    """Share of answerable questions with a gold document among the first `depth` passages."""
    hits = [any(row.doc_of[p] in row.gold for p in ranking(row)[:depth]) for row in rows if row.answerable]
    return round(float(np.mean(hits)), 4) if hits else float("nan")


def halves(rows: list) -> tuple[list, list]:
    return rows[0::2], rows[1::2]


def recall_table(per_set: dict[str, list[Searched]]) -> dict:
    """doc_recall@5 of BM25 alone, the model alone and each fusion weight, per set and half."""
    table = {}
    for name, rows in per_set.items():
        entry = {"bm25": [recall_at(h, lambda r: spread(r, r.lexical)) for h in halves(rows)],
                 "dense": [recall_at(h, lambda r: spread(r, r.dense)) for h in halves(rows)]}
        for weight in WEIGHTS:
            entry[f"fused {weight:g}"] = [recall_at(h, lambda r, w=weight: fused(r, w)) for h in halves(rows)]
        entry["score fusion"] = [recall_at(h, score_fused) for h in halves(rows)]
        for label, variant in FUSION_VARIANTS.items():
            entry[f"score fusion, {label}"] = [recall_at(h, lambda r, f=variant: score_fused(r, fusion=f)) for h in halves(rows)]
        table[name] = entry
    return table


def spread(row: Searched, ranked: list[str]) -> list[str]:
    """One retriever's ranking as the answer would see it (several documents in the first places)."""
    scored = [(pid, 1.0 / (60 + rank + 1)) for rank, pid in enumerate(ranked[:TOP_K])]
    return [pid for pid, _ in spread_documents(scored, row.doc_of.get)]


def evidence(row: Searched, ranking) -> tuple[float, float]:
    """The two decline measures over the returned passages: the best lexical coverage and the best similarity."""
    returned = ranking(row)
    similarity = dict(zip(row.dense, row.dense_scores))
    return max((row.coverage[p] for p in returned), default=0.0), max((similarity.get(p, 0.0) for p in returned), default=0.0)


def decline_table(per_set: dict[str, list[Searched]], ranking) -> list[dict]:
    """Balanced accuracy of each (lexical, similarity) threshold pair, pooled over the sets, per half."""
    pooled = [[], []]
    for rows in per_set.values():
        for i, half in enumerate(halves(rows)):
            pooled[i] += [(*evidence(r, ranking), r.answerable) for r in half]
    results = []
    lexical_cuts = np.round(np.arange(0.30, 0.80, 0.02), 2)
    dense_cuts = np.round(np.arange(0.80, 0.95, 0.005), 3).tolist() + [2.0]
    for lex_cut, dense_cut in itertools.product(lexical_cuts, dense_cuts):
        scores = [balanced_accuracy(half, lex_cut, dense_cut) for half in pooled]
        results.append({"min_evidence": float(lex_cut), "min_similarity": float(dense_cut), "halves": scores})
    return sorted(results, key=lambda r: -min(s["balanced_accuracy"] for s in r["halves"]))


def balanced_accuracy(rows: list[tuple[float, float, bool]], lex_cut: float, dense_cut: float) -> dict:
    """How well 'answer when either measure reaches its threshold' separates answerable questions from the rest."""
    answered = [(lex >= lex_cut or sim >= dense_cut, ok) for lex, sim, ok in rows]
    refusals = float(np.mean([not a for a, ok in answered if not ok]))
    false = float(np.mean([not a for a, ok in answered if ok]))
    return {"balanced_accuracy": round((refusals + 1 - false) / 2, 4), "refusal_accuracy": round(refusals, 4),
            "false_refusal_rate": round(false, 4)}


def size_aware_table(per_set: dict[str, list[Searched]], ranking) -> list[dict]:
    """The decline rule the service uses with the bundled e5 (answer when the best similarity reaches a threshold
    that grows with log2 of the passages searched, or words alone cover min_evidence) over a grid of its
    settings: false refusals and refusal accuracy per set and half, the settings whose worst set and half
    keeps the most margin on the targets (false refusals <= 0.10, refusal accuracy >= 0.85) first."""
    from assistant.service import similarity_needed

    measured = {name: [[(*evidence(r, ranking), r.answerable, r.passages) for r in half] for half in halves(rows)] for name, rows in per_set.items()}
    results = []
    for base, slope, lex_cut in itertools.product((0.890, 0.893, 0.895, 0.897, 0.90), (0.0, 0.0035, 0.006, 0.008, 0.01), (0.64, 0.75, 0.85, 2.0)):
        cells = {}
        for name, parts in measured.items():
            cells[name] = []
            for part in parts:
                answered = [(lex >= lex_cut or sim >= similarity_needed(n, base, slope), ok)
                            for lex, sim, ok, n in part]
                cells[name].append({"false_refusals": round(float(np.mean([not a for a, ok in answered if ok])), 3),
                                    "refusal_accuracy": round(float(np.mean([not a for a, ok in answered if not ok])), 3)})
        margin = min(min(0.10 - c["false_refusals"], c["refusal_accuracy"] - 0.85) for cs in cells.values() for c in cs)
        results.append({"similarity": base, "per_doubling": slope, "min_evidence": lex_cut, "worst_margin": round(margin, 3), "sets": cells})
    return sorted(results, key=lambda r: -r["worst_margin"])


def main() -> None:
    from settings import Settings

    parser = argparse.ArgumentParser(description="measure rank fusion and the decline rule on the evaluation sets")
    parser.add_argument("--evalsets", default="../shared/evalsets")
    parser.add_argument("--sets", nargs="+", default=["ncppolicies", "govqa", "lecoqa"])
    parser.add_argument("--weight", type=float, help="measure the decline rule under rank fusion at this weight (default: score fusion)")
    parser.add_argument("--json", help="write the tables to this file")
    parser.add_argument("--features", help="keep the searched rankings in this file and reuse them (no new search)")
    args = parser.parse_args()
    settings = Settings()
    settings = settings.model_copy(update={"embed_cache": settings.embed_cache or str(Path(settings.data_dir) / "eval-embeddings.sqlite3")})
    root, per_set = Path(args.evalsets), {}
    saved = Path(args.features) if args.features else None
    if saved and saved.is_file():
        per_set = pickle.loads(saved.read_bytes())
    for index, name in enumerate(args.sets):
        if name in per_set:
            continue
        foreign = args.sets[(index + 1) % len(args.sets)]
        questions = load_questions(root / name / "qa.jsonl")
        questions += as_unanswerable(load_questions(root / foreign / "qa.jsonl", FOREIGN), "foreign-")
        per_set[name] = search_set(settings, load_corpus(root / name / "corpus.jsonl"), questions)
    if saved:
        saved.write_bytes(pickle.dumps(per_set))
    per_set = {name: per_set[name] for name in args.sets}
    recalls = recall_table(per_set)
    for name, entry in recalls.items():
        print(name, "  ".join(f"{k}: {v[0]:.3f}/{v[1]:.3f}" for k, v in entry.items()))
    if args.weight is not None:
        label, ranking = f"rank fusion at weight {args.weight:g}", lambda r: fused(r, args.weight)
    else:
        label, ranking = "score fusion", score_fused
    declines = decline_table(per_set, ranking)
    print(f"decline with {label}:", json.dumps(declines[:5], ensure_ascii=False))
    best = declines[0]
    for name, rows in per_set.items():
        shown = [(*evidence(r, ranking), r.answerable) for r in rows]
        print(name, json.dumps(balanced_accuracy(shown, best["min_evidence"], best["min_similarity"])))
    sized = size_aware_table(per_set, ranking)
    print("decline by a similarity growing with the passages searched, best first (false refusals / refusal accuracy, even and odd):")
    for row in sized[:8]:
        cells = "  ".join(f"{name} " + " ".join(f"{c['false_refusals']:.3f}/{c['refusal_accuracy']:.2f}" for c in cs) for name, cs in row["sets"].items())
        print(f"  {row['similarity']:.3f} + {row['per_doubling']:.4f}/doubling, words {row['min_evidence']:.2f}: margin {row['worst_margin']:+.3f}  {cells}")
    if args.json:
        Path(args.json).write_text(json.dumps({"recall@5": recalls, "ranking": label, "decline": declines[:50], "size_aware": sized[:50]},
                                              ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
