"""Running an evaluation: the project's real pipeline, and the textbook baseline beside it."""

import tempfile
import time
from pathlib import Path

from evaluation.datasets import Question
from evaluation.metrics import Outcome, gold_rank, refusal_threshold, summarise

NAIVE_CHUNK_SIZE, NAIVE_CHUNK_OVERLAP, NAIVE_TOP_K = 500, 50, 5


def outcome(
    q: Question, ranked_doc_ids: list[str], refused: bool, text: str, cited: tuple, latency: float, evidence: float,
    similarity: float = 0.0,
) -> Outcome:
    """What happened to one question, in the form the metrics read."""
    return Outcome(
        qid=q.qid,
        question=q.question,
        answerable=q.answerable,
        gold_answer=q.answer if q.answerable else None,
        gold_rank=gold_rank(ranked_doc_ids, q.gold_doc_ids),
        refused=refused,
        answer_text=text,
        cited_texts=cited,
        latency_ms=latency,
        evidence=evidence,
        similarity=similarity,
    )


def run_project(settings, corpus: list[dict], questions: list[Question]) -> dict:
    """Ingest the corpus into a fresh temporary store and ask every question through the chat's answer path."""
    from assistant import create_service

    with tempfile.TemporaryDirectory(prefix="policyqa-eval-") as folder:
        scoped = settings.model_copy(update={"data_dir": Path(folder), "ingest_sample_when_empty": False})
        service = create_service(scoped)
        began = time.perf_counter()
        report = service.ingest_texts(corpus)
        index_seconds = time.perf_counter() - began
        outcomes = []
        for q in questions:
            began = time.perf_counter()
            reply = service.reply(q.question)
            answer, documents = reply.answer, reply.passages
            latency = (time.perf_counter() - began) * 1000
            cited = tuple((c.doc_id, c.start, c.text) for c in answer.citations)
            ranked = [d.metadata["doc_id"] for d in documents]
            outcomes.append(outcome(q, ranked, answer.refused, answer.text, cited, latency, answer.evidence, answer.similarity))
        summary = summarise(outcomes, index_seconds)
        summary["passages"] = len(service.store)
        summary["ingest_errors"] = len(report.errors)
        summary["dense_weight"] = service.retriever.effective_dense_weight()
        summary["fusion"] = "score" if service.retriever.score_fusion else "rank"
        summary["model"] = service.retriever.model_label
        summary["best_min_evidence"] = refusal_threshold(outcomes)
        summary["per_question"] = [o.record() for o in outcomes]
        return summary


def run_naive(settings, corpus: list[dict], questions: list[Question]) -> dict:
    """The textbook LangChain pipeline: 500/50 recursive chunks, Chroma, the bundled model, dense top 5 cited."""
    import chromadb
    from langchain_chroma import Chroma
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from vectorstore.embeddings import SentenceTransformerEmbeddings, bundled_model_path

    splitter = RecursiveCharacterTextSplitter(chunk_size=NAIVE_CHUNK_SIZE, chunk_overlap=NAIVE_CHUNK_OVERLAP)
    chunks = splitter.create_documents(
        [c["text"] for c in corpus], metadatas=[{"doc_id": c["doc_id"]} for c in corpus]
    )
    with tempfile.TemporaryDirectory(prefix="policyqa-naive-") as folder:
        client = chromadb.PersistentClient(path=folder, settings=chromadb.Settings(anonymized_telemetry=False))
        store = Chroma(
            collection_name="naive",
            embedding_function=SentenceTransformerEmbeddings(bundled_model_path(), device=settings.embed_device),
            client=client,
        )
        began = time.perf_counter()
        for start in range(0, len(chunks), 512):
            store.add_documents(chunks[start : start + 512])
        index_seconds = time.perf_counter() - began
        outcomes = []
        for q in questions:
            began = time.perf_counter()
            hits = store.similarity_search(q.question, k=NAIVE_TOP_K)
            text = "\n".join(f"[{n}] {hit.page_content}" for n, hit in enumerate(hits, start=1))
            latency = (time.perf_counter() - began) * 1000
            cited = tuple((h.metadata["doc_id"], 0, h.page_content) for h in hits)
            ranked = [h.metadata["doc_id"] for h in hits]
            outcomes.append(outcome(q, ranked, False, text, cited, latency, 0.0))
        summary = summarise(outcomes, index_seconds)
        summary["passages"] = len(chunks)
        return summary


def format_table(results: dict[str, dict]) -> str:
    """The figures of each run side by side, one metric a row."""
    names = list(results)
    shown = [k for k in results[names[0]] if k not in ("latency_ms", "per_question", "best_min_evidence")]
    metrics = shown + ["latency_ms.p50", "latency_ms.p95"]
    rows = [["metric", *names]]
    for metric in metrics:
        if metric.startswith("latency_ms."):
            values = [results[n]["latency_ms"][metric.split(".")[1]] for n in names]
        else:
            values = [results[n].get(metric) for n in names]
        rows.append([metric, *("-" if v is None else str(v) for v in values)])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in rows)
