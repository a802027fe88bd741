"""Hybrid retrieval: lexical and dense rankings fused into one, as a LangChain retriever."""

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from vectorstore.store import PassageStore

RRF_K = 60


def fuse_rankings(rankings: list[tuple[list[str], float]], limit: int) -> list[tuple[str, float]]:
    """Weighted reciprocal-rank fusion of several ranked id lists."""
    scores: dict[str, float] = {}
    for ids, weight in rankings:
        for rank, passage_id in enumerate(ids):
            scores[passage_id] = scores.get(passage_id, 0.0) + weight / (RRF_K + rank + 1)
    return sorted(scores.items(), key=lambda item: -item[1])[:limit]


class HybridRetriever(BaseRetriever):
    """BM25 over Chinese tokens fused with dense similarity; each result carries its citation metadata."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: PassageStore
    k: int = 8
    candidates: int = 50
    dense_weight: float = 0.3

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        lexical = self.store.lexical.search(query, self.candidates)
        dense = self.store.dense_search(query, self.candidates) if self.dense_weight > 0 else []
        lexical_rank = {pid: rank for rank, (pid, _) in enumerate(lexical)}
        dense_rank = {pid: rank for rank, (pid, _) in enumerate(dense)}
        fused = fuse_rankings(
            [([pid for pid, _ in lexical], 1.0), ([pid for pid, _ in dense], self.dense_weight)], self.k
        )
        return [self._document(pid, score, lexical_rank.get(pid), dense_rank.get(pid)) for pid, score in fused]

    def _document(self, passage_id: str, score: float, lexical_rank: int | None, dense_rank: int | None) -> Document:
        passage = self.store.passage(passage_id)
        metadata = {
            "passage_id": passage_id,
            "doc_id": passage.doc_id,
            "title": passage.title,
            "section": passage.section,
            "start": passage.start,
            "end": passage.end,
            "kind": passage.kind,
            "source": passage.source,
            "score": score,
            "lexical_rank": lexical_rank,
            "dense_rank": dense_rank,
        }
        return Document(page_content=passage.text, metadata=metadata, id=passage_id)
