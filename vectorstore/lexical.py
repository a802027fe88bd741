"""BM25 over Chinese tokens, kept in step with the passages in the vector store."""

import math
from collections import Counter

import bm25s
import numpy as np

from vectorstore.tokenize import WORD_PREFIX, index_tokens, query_tokens

BM25_K1 = 1.5
BM25_B = 0.75


class LexicalIndex:
    """An in-memory BM25 index over passage ids, rebuilt from the store's passages."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self._position: dict[str, int] = {}
        self.document_frequency: Counter[str] = Counter()
        self._bm25: bm25s.BM25 | None = None
        self._vocabulary: set[str] = set()

    def __len__(self) -> int:
        return len(self.ids)

    def rebuild(self, ids: list[str], texts: list[str]) -> None:
        """Index these passages, replacing whatever was indexed before."""
        tokenized = [index_tokens(text) for text in texts]
        self.document_frequency = Counter(token for tokens in tokenized for token in set(tokens))
        self.ids = list(ids)
        self._position = {passage_id: index for index, passage_id in enumerate(self.ids)}
        if not ids:
            self._bm25, self._vocabulary = None, set()
            return
        bm25 = bm25s.BM25(k1=BM25_K1, b=BM25_B)
        bm25.index(tokenized, show_progress=False)
        self._bm25, self._vocabulary = bm25, set(bm25.vocab_dict)

    def search(self, question: str, k: int, allowed: set[str] | None = None) -> list[tuple[str, float]]:
        """The k best passage ids for a question, with their BM25 scores (positive only; only `allowed` ids when given)."""
        tokens = [t for t in query_tokens(question) if t in self._vocabulary]
        if self._bm25 is None or not tokens:
            return []
        scores = self._bm25.get_scores(tokens)
        if allowed is not None:
            mask = np.zeros(len(self.ids), dtype=bool)
            mask[[self._position[i] for i in allowed if i in self._position]] = True
            scores = np.where(mask, scores, 0.0)
        k = min(k, len(self.ids))
        top = np.argpartition(-scores, k - 1)[:k]
        ranked = sorted(top, key=lambda i: -scores[i])
        return [(self.ids[i], float(scores[i])) for i in ranked if scores[i] > 0]

    def idf(self, word: str) -> float:
        """Inverse document frequency of a word among indexed passages (unseen words weigh most)."""
        count = self.document_frequency.get(WORD_PREFIX + word, 0)
        if count == 0 and len(word) == 2:
            count = self.document_frequency.get(word, 0)
        total = max(len(self.ids), 1)
        return math.log(1 + (total - count + 0.5) / (count + 0.5))
