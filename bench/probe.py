"""One fresh process over stored data, as a server starting over an existing store: startup, query latency, memory.

    python -m bench.probe policyqa|naive DATA_DIR QUESTIONS_JSON STARTED_AT

Prints one JSON line: startup_seconds (from STARTED_AT, the time the parent launched this process,
to the first answer), query_ms {p50, p95} (retrieve and answer, each question once) and rss_mb
(peak resident memory of this process).
"""

import json
import resource
import sys
import time
from pathlib import Path

NAIVE_TOP_K = 5


def project_answerer(data_dir: Path):
    """The project's service over the stored data, answering as the chat does."""
    from assistant import create_service
    from settings import Settings

    service = create_service(Settings(data_dir=data_dir, ingest_sample_when_empty=False, chroma_url=""))
    return lambda question: service.ask(question), {"dense_weight": service.retriever.effective_dense_weight()}


def naive_answerer(data_dir: Path):
    """The textbook pipeline over its stored data: dense top 5, the chunks cited as they are."""
    import chromadb
    from langchain_chroma import Chroma

    from vectorstore.embeddings import SentenceTransformerEmbeddings, bundled_model_path

    client = chromadb.PersistentClient(path=str(data_dir), settings=chromadb.Settings(anonymized_telemetry=False))
    store = Chroma(collection_name="naive", embedding_function=SentenceTransformerEmbeddings(bundled_model_path()), client=client)

    def answer(question: str) -> str:
        hits = store.similarity_search(question, k=NAIVE_TOP_K)
        return "\n".join(f"[{n}] {hit.page_content}" for n, hit in enumerate(hits, start=1))

    return answer, {}


def peak_rss_mb() -> float:
    """Peak resident memory of this process image (VmHWM; ru_maxrss would count the parent's peak before exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def percentile(values: list[float], share: float) -> float:
    """The value at `share` of the way through the sorted values (0.0 when there are none)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] if ordered else 0.0


def main(pipeline: str, data_dir: str, question_file: str, started_at: str) -> dict:
    """Start, answer the first question (startup ends there), then time every question."""
    questions = json.loads(Path(question_file).read_text(encoding="utf-8"))
    answer, extra = (project_answerer if pipeline == "policyqa" else naive_answerer)(Path(data_dir))
    answer(questions[0])
    startup = time.time() - float(started_at)
    latencies = []
    for question in questions:
        began = time.perf_counter()
        answer(question)
        latencies.append((time.perf_counter() - began) * 1000)
    return {
        "startup_seconds": round(startup, 2),
        "query_ms": {"p50": round(percentile(latencies, 0.5), 1), "p95": round(percentile(latencies, 0.95), 1), "queries": len(latencies)},
        "rss_mb": peak_rss_mb(),
        **extra,
    }


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:5])))
