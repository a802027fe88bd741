"""Hybrid retrieval: lexical and dense rankings fused into one, as a LangChain retriever."""

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, PrivateAttr

from vectorstore.calibration import MIN_PASSAGES, Calibration, load_or_calibrate
from vectorstore.evidence import weigh_terms
from vectorstore.store import PassageStore
from vectorstore.table import lexical_text

RRF_K = 60
# Each further passage of a document already ranked weighs this much less per passage before it, so
# the first places show several documents rather than one document's neighbouring passages (a
# second passage at fused rank 2 falls to about rank 8); the passages returned stay the best k.
# Measured: ncppolicies doc_recall@5 0.968 -> 0.975, govqa 0.789 -> 0.798, lecoqa 0.662 -> 0.668.
DOCUMENT_REPEAT_DECAY = 0.9
# Share of the stored passages that must come or go before the dense weight is measured again: a
# measurement embeds 150 pseudo-questions, too costly to repeat for every uploaded file.
RECALIBRATE_CHANGE = 0.1
# Questions embedded at once beside their lexical searches; more asked at once wait for a thread.
QUESTION_ENCODERS = 8
# The store's centroid (the direction every passage vector shares) is the mean of this many passages' vectors.
CENTROID_SAMPLE = 2000


def fuse_rankings(rankings: list[tuple[list[str], float]], limit: int) -> list[tuple[str, float]]:
    """Weighted reciprocal-rank fusion of several ranked id lists."""
    scores: dict[str, float] = {}
    for ids, weight in rankings:
        for rank, passage_id in enumerate(ids):
            scores[passage_id] = scores.get(passage_id, 0.0) + weight / (RRF_K + rank + 1)
    return sorted(scores.items(), key=lambda item: -item[1])[:limit]


@dataclass(frozen=True)
class ScoreFusion:
    """Fusion on scores, for a model whose similarities are measured: each candidate of either list scores

        similarity + lexical * coverage + lexical_rank / (61 + its BM25 rank) + dense_rank / (61 + its dense rank)

    (a passage outside the model's list gets the lowest similarity in it, one outside a list no rank
    term). Coverage is the IDF-weighted share of the question's words the passage holds. Measured by
    `python -m evaluation.fusion` on the three dev sets' questions, each half agreeing: rank fusion
    at any one weight loses up to 0.05 doc_recall@5 on one set or another (ncppolicies wants BM25,
    govqa the model); this rule loses at most 0.008 against the best weight of each set.
    """

    lexical: float = 0.07
    lexical_rank: float = 0.6
    dense_rank: float = 0.3

    def fuse(self, lexical: list[str], dense: list[tuple[str, float]], coverage: dict[str, float], limit: int) -> list[tuple[str, float]]:
        """The best `limit` candidates with their fused scores."""
        similarity = dict(dense)
        floor = min(similarity.values(), default=0.0)
        lexical_rank = {pid: rank for rank, pid in enumerate(lexical)}
        dense_rank = {pid: rank for rank, (pid, _) in enumerate(dense)}
        scores = {}
        for pid in dict.fromkeys([*lexical, *similarity]):
            score = similarity.get(pid, floor) + self.lexical * coverage.get(pid, 0.0)
            if pid in lexical_rank:
                score += self.lexical_rank / (RRF_K + 1 + lexical_rank[pid])
            if pid in dense_rank:
                score += self.dense_rank / (RRF_K + 1 + dense_rank[pid])
            scores[pid] = score
        return sorted(scores.items(), key=lambda item: -item[1])[:limit]


@dataclass(frozen=True)
class WordsOrMeaningFusion:
    """ScoreFusion for a question whose words the candidate passages hold; for one whose words none holds
    `below` of (the best IDF-weighted coverage), the model's list ranked with the store's common direction
    taken out and fused with less weight on the share of words and more on both lists' ranks.

    The vectors of e5 share one direction, and a passage close to it (a general provision, a heading) is
    near every question; a layperson's question, whose words the text does not use, is then answered
    from such hubs. For those questions each dense candidate's similarity loses `centre_weight` times
    its similarity to the store's centroid (relative to the centroid's own length, so the scale stays):
    the model's candidates, found with the question itself, are ordered as the question minus half the
    centroid would order them. The settings come from a small
    grid (centring 0.3 / 0.5, coverage cut 0.4-0.8, six weight triples) where the setting best on
    either half of the dev questions gives the other half 0.750 and 0.752. `python -m evaluation.fusion`
    (even / odd questions): lecoqa doc_recall@5 0.726 / 0.741 -> 0.750 / 0.752 (centring alone
    0.739 / 0.750, the weights alone 0.729 / 0.742); ncppolicies unchanged (0.983 / 0.957), govqa
    0.866 / 0.875 -> 0.864 / 0.875: their questions mostly share the text's words. Centring every
    question instead costs ncppolicies 0.03 (0.954 / 0.950).
    """

    words: ScoreFusion = ScoreFusion()
    meaning: ScoreFusion = ScoreFusion(lexical=0.04, lexical_rank=0.9, dense_rank=0.5)
    below: float = 0.5
    centre_weight: float = 0.5

    def by_meaning(self, coverage: dict[str, float]) -> bool:
        """Whether no candidate holds enough of the question's words for them to lead."""
        return max(coverage.values(), default=0.0) < self.below

    def fuse(
        self, lexical: list[str], dense: list[tuple[str, float]], coverage: dict[str, float], limit: int,
        centrality_of_dense: Callable[[], dict[str, float] | None] | None = None,
    ) -> list[tuple[str, float]]:
        """The best `limit` candidates. `centrality_of_dense` gives each dense candidate's similarity to the
        centroid less the centroid's own; it is asked only for a question found by meaning (None, or its
        None: no centroid, the words' fusion)."""
        centrality = centrality_of_dense() if centrality_of_dense is not None and self.by_meaning(coverage) else None
        if centrality is None:
            return self.words.fuse(lexical, dense, coverage, limit)
        centred = [(pid, similarity - self.centre_weight * centrality.get(pid, 0.0)) for pid, similarity in dense]
        return self.meaning.fuse(lexical, sorted(centred, key=lambda item: -item[1]), coverage, limit)


def centrality_of(vectors: dict[str, Sequence[float]], centroid: np.ndarray) -> dict[str, float]:
    """Each vector's similarity to the centroid, less the centroid's own squared length (0 for a typical passage)."""
    if not vectors:
        return {}
    ids = list(vectors)
    projected = np.asarray([vectors[pid] for pid in ids], dtype=np.float32) @ centroid - float(centroid @ centroid)
    return dict(zip(ids, projected.tolist()))


class Remeasured:
    """A figure measured on the stored passages, measured again once the store has grown or shrunk by a tenth.

    One thread measures while the others go on with the figure measured before; only the very first
    measurement is waited for.
    """

    def __init__(self, store: PassageStore, measure) -> None:
        self._store, self._measure = store, measure
        self._current: tuple[int, object] | None = None
        self._measuring = threading.Lock()

    def get(self):
        """The figure for the passages stored now."""
        current = self._current
        if current is not None and not self._due(current[0]):
            return current[1]
        # The store's read hold first, then the measuring lock: one order, so no deadlock with a waiting writer.
        with self._store.reading():
            if not self._measuring.acquire(blocking=current is None):
                return current[1]
            try:
                if self._current is None or self._due(self._current[0]):
                    self._current = (len(self._store), self._measure())
                return self._current[1]
            finally:
                self._measuring.release()

    def _due(self, passages_then: int) -> bool:
        return abs(len(self._store) - passages_then) > RECALIBRATE_CHANGE * max(passages_then, MIN_PASSAGES)


def spread_documents(fused: list[tuple[str, float]], doc_of) -> list[tuple[str, float]]:
    """The same passages re-ordered so that a document's later passages give way to other documents'."""
    seen: dict[str, int] = {}
    spread = []
    for passage_id, score in fused:
        doc_id = doc_of(passage_id)
        spread.append((passage_id, score * DOCUMENT_REPEAT_DECAY ** seen.get(doc_id, 0)))
        seen[doc_id] = seen.get(doc_id, 0) + 1
    return sorted(spread, key=lambda item: -item[1])


class HybridRetriever(BaseRetriever):
    """BM25 over Chinese tokens fused with dense similarity; each result carries its citation metadata."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: PassageStore
    k: int = 8
    candidates: int = 50
    dense_weight: float | None = None  # None: measured on the store's own passages
    model_label: str = ""
    # Fusion on scores for a model measured for it (the bundled e5); None: weighted rank fusion.
    score_fusion: WordsOrMeaningFusion | None = None
    calibration_path: Path | None = None
    _calibration: Remeasured | None = PrivateAttr(default=None)
    _centroid: Remeasured | None = PrivateAttr(default=None)
    # Threads that embed questions while the lexical search runs (one per question being asked at once).
    _embedding: ThreadPoolExecutor = PrivateAttr(
        default_factory=lambda: ThreadPoolExecutor(max_workers=QUESTION_ENCODERS, thread_name_prefix="question-vector")
    )

    def model_post_init(self, context) -> None:
        super().model_post_init(context)
        self._calibration = Remeasured(self.store, self._calibrate)
        self._centroid = Remeasured(self.store, self._measure_centroid)

    def calibration(self) -> Calibration | None:
        """The dense-weight calibration for the passages stored now (None below its minimum size)."""
        return self._calibration.get()

    def _calibrate(self) -> Calibration | None:
        path = self.calibration_path or self.store.state_path("calibration.json")
        return load_or_calibrate(self.store, fuse_rankings, self.model_label, path)

    def centroid(self) -> np.ndarray | None:
        """The mean vector of (a sample of) the stored passages; None below the calibration's minimum size."""
        return self._centroid.get()

    def _measure_centroid(self) -> np.ndarray | None:
        vectors = self.store.passage_vectors(self.store.sample_ids(CENTROID_SAMPLE))
        if len(vectors) < MIN_PASSAGES:
            return None
        return np.mean(np.asarray(list(vectors.values()), dtype=np.float32), axis=0)

    def effective_dense_weight(self) -> float:
        """The dense weight in use: the configured one, else the calibrated one (0 when too few passages)."""
        if self.dense_weight is not None:
            return self.dense_weight
        calibration = self.calibration()
        return calibration.dense_weight if calibration else 0.0

    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun,
        doc_ids: list[str] | None = None,
        filters: dict | None = None,
        k: int | None = None,
        dense_query: str | None = None,
    ) -> list[Document]:
        """The k best passages; `dense_query` is what the model is asked when it differs from the words
        searched (an English question searched lexically in the documents' Chinese words).

        The question is embedded on another thread while the lexical search runs: the model leaves
        the interpreter free while it computes, so the two overlap on two cores. That thread takes no
        hold on the store's lock (embedding reads nothing stored), so a change waiting for the lock
        cannot hold it up while this thread reads and waits for it.
        """
        self.store.refresh_if_changed()
        with self.store.reading():
            weight = self.effective_dense_weight()
            dense_query = dense_query or query
            vector = self._embedding.submit(self.store.question_vector, dense_query) if weight > 0 else None
            return self._best_passages(query, doc_ids, filters, k or self.k, dense_query, weight, vector)

    def _best_passages(self, query: str, doc_ids, filters, k: int, dense_query: str, weight: float, vector: Future | None) -> list[Document]:
        allowed = self.store.matching(doc_ids, filters)
        lexical = self.store.lexical.search(query, self.candidates, allowed)
        dense = self.store.dense_search(dense_query, self.candidates, allowed, vector.result()) if vector else []
        lexical_rank = {pid: rank for rank, (pid, _) in enumerate(lexical)}
        dense_rank = {pid: (rank, similarity) for rank, (pid, similarity) in enumerate(dense)}
        lexical_ids = [pid for pid, _ in lexical]
        if self.score_fusion is not None and dense:
            terms = weigh_terms(query, self.store.lexical.idf)
            coverage = {pid: terms.coverage(lexical_text(self.store.passage(pid))) for pid in {*lexical_ids, *dense_rank}}
            fused = self.score_fusion.fuse(lexical_ids, dense, coverage, k, lambda: self._centrality(dense))
        else:
            fused = fuse_rankings([(lexical_ids, 1.0), ([pid for pid, _ in dense], weight)], k)
        fused = spread_documents(fused, lambda pid: self.store.passage(pid).doc_id)
        return [self._document(pid, score, lexical_rank.get(pid), *dense_rank.get(pid, (None, None))) for pid, score in fused]

    def _centrality(self, dense: list[tuple[str, float]]) -> dict[str, float] | None:
        """The dense candidates' centrality (None without a centroid)."""
        centroid = self.centroid()
        if centroid is None:
            return None
        return centrality_of(self.store.passage_vectors([pid for pid, _ in dense]), centroid)

    def as_document(self, passage_id: str) -> Document:
        """A stored passage as the retriever returns passages (no retrieval score)."""
        return self._document(passage_id, 0.0, None, None, None)

    def _document(
        self, passage_id: str, score: float, lexical_rank: int | None, dense_rank: int | None, similarity: float | None
    ) -> Document:
        passage = self.store.passage(passage_id)
        metadata = {k: v for k, v in asdict(passage).items() if k != "text"}
        metadata.update(score=score, lexical_rank=lexical_rank, dense_rank=dense_rank, similarity=similarity)
        return Document(page_content=passage.text, metadata=metadata, id=passage_id)
