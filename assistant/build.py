"""Building the assistant service from one settings object: the embedding model, the store, the retriever."""

import logging
from pathlib import Path

from assistant.lifecycle import Lifecycles
from assistant.llm import make_llm
from assistant.service import AssistantService
from vectorstore.corrections import DocumentCorrections
from vectorstore.embeddings import E5_MODEL
from vectorstore.retriever import HybridRetriever, WordsOrMeaningFusion
from vectorstore.store import PassageStore

log = logging.getLogger(__name__)

# The bundled model's weight where rank fusion is used (its answers use score fusion: WordsOrMeaningFusion).
E5_DENSE_WEIGHT = 1.0


def dense_weight(settings, embeddings) -> float | None:
    """The dense weight to fuse with: the configured one; for `auto`, the measured one of the bundled e5,
    else None (measured on the store's passages); 0 when the model cannot be used."""
    from vectorstore.embeddings import UnavailableEmbeddings

    if isinstance(embeddings, UnavailableEmbeddings):
        return 0.0
    if settings.dense_weight != "auto":
        return float(settings.dense_weight)
    return E5_DENSE_WEIGHT if embeddings.label == E5_MODEL else None


def uses_score_fusion(settings, embeddings) -> bool:
    """Whether retrieval fuses on scores: the bundled e5 (whose similarities were measured) under `auto`."""
    return settings.dense_weight == "auto" and embeddings.label == E5_MODEL and dense_weight(settings, embeddings) != 0


def create_service(settings, embeddings=None, client=None, name: str = "default") -> AssistantService:
    """Build the store, the embedding model and the retriever from the settings.

    `embeddings`, when given, stands in for the configured model (a benchmark's sampled one, or the model
    already loaded for another knowledge base); `client` is a Chroma client already open on the store;
    `name` is the knowledge base the service answers for (its citations carry it).
    """
    from vectorstore.embeddings import make_embeddings
    from vectorstore.migrate import answering_collection
    from vectorstore.rerank import make_reranker
    from vectorstore.chroma import chroma_client, collection_name, make_store, translated_errors

    embeddings = embeddings or make_embeddings(settings)
    with translated_errors(settings.chroma_url, Path(settings.data_dir)):
        client = client or chroma_client(settings)
        previous = answering_collection(client, settings.collection, collection_name(settings.collection, embeddings.label))
    pending = None
    if previous is not None:  # the store was built with another model and is not re-embedded yet
        log.warning(
            "知识库是用 %s 建立的，尚未用 %s 重建：继续用 %s 作答。运行 python app.py reindex 重建（期间照常作答）。",
            previous.model, embeddings.label, previous.model,
        )
        pending = settings.embed_model
        settings = settings.model_copy(update={"embed_model": previous.model})
        embeddings = make_embeddings(settings)
    store = PassageStore(make_store(settings, embeddings, embeddings.label, client), Path(settings.data_dir) / "documents")
    # Corrections belong to the documents, not to one model's vectors: one collection per base, kept across reindex.
    corrections = DocumentCorrections(client.get_or_create_collection(f"{settings.collection}-corrections", embedding_function=None))
    retriever = HybridRetriever(
        store=store,
        k=settings.top_k,
        candidates=settings.candidates,
        dense_weight=dense_weight(settings, embeddings),
        model_label=embeddings.label,
        score_fusion=WordsOrMeaningFusion() if uses_score_fusion(settings, embeddings) else None,
        calibration_path=store.state_path(f"calibration-{embeddings.label}.json"),
    )
    service = AssistantService(
        settings, store, retriever, llm=make_llm(settings), reranker=make_reranker(settings),
        lifecycles=Lifecycles(store.documents, corrections, version=store.version), name=name,
    )
    service.reindex_pending = pending
    return service
