"""An optional cross-encoder that re-orders the fused candidates, when an operator has one on disk."""

import logging
from pathlib import Path

from langchain_core.documents import Document

from vectorstore.embeddings import local_model

log = logging.getLogger(__name__)


class CrossEncoderReranker:
    """Scores each (question, passage) pair with a sentence-transformers CrossEncoder and keeps the best."""

    def __init__(self, model, label: str) -> None:
        self.model = model
        self.label = label

    def rerank(self, question: str, documents: list[Document], k: int) -> list[Document]:
        """The k documents the cross-encoder scores highest, each carrying its `rerank_score`."""
        if not documents:
            return []
        pairs = [(question, f"{d.metadata.get('section', '')}\n{d.page_content}") for d in documents]
        scores = [float(s) for s in self.model.predict(pairs, show_progress_bar=False)]
        order = sorted(range(len(documents)), key=lambda i: (-scores[i], i))[:k]
        return [rescored(documents[i], scores[i]) for i in order]


def rescored(document: Document, score: float) -> Document:
    """A copy of a retrieved passage with its cross-encoder score added."""
    return Document(page_content=document.page_content, metadata={**document.metadata, "rerank_score": score}, id=document.id)


def make_reranker(settings) -> CrossEncoderReranker | None:
    """The cross-encoder named by POLICYQA_RERANK_MODEL, or None (unset, or not on this machine: a warning says so)."""
    if not settings.rerank_model:
        return None
    path = local_model(settings.rerank_model)
    if path is None:
        log.warning(
            "重排序模型 %s 不在本机（未找到目录或本地缓存），不做重排序。请把模型放到磁盘上并将 POLICYQA_RERANK_MODEL 设为其目录。",
            settings.rerank_model,
        )
        return None
    from sentence_transformers import CrossEncoder

    model = CrossEncoder(path, device=settings.embed_device, local_files_only=True)
    return CrossEncoderReranker(model, label=Path(path).name)
