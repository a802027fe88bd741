"""Speed and scale, this project beside the textbook LangChain pipeline, in one run.

    python app.py bench [--passages N] [--embed-sample M] [--ocr-pages P] [--model-sample S] [--queries Q] [--json OUT]

Both pipelines ingest a generated corpus of N passages (bench/corpus.py) into a fresh store. The
first M passages get real embeddings from the bundled model; the ingest rate over them, against
the raw `model.encode` rate on the same texts, gives `encode_ratio`. Passages beyond M carry
vectors derived from the real ones (a real vector plus a little noise), so that a million
passages can be stored in minutes: the scale figures measure the stores and indexes, not the
model (`derived_vectors` says how many). Startup, query latency (retrieve and answer) and memory
are measured in a fresh process over the stored data, as a server starting over an existing store.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from bench.corpus import corpus, questions
from settings import REPO_ROOT

NAIVE_CHUNK_SIZE, NAIVE_CHUNK_OVERLAP, NAIVE_TOP_K, NAIVE_BATCH = 500, 50, 5, 512
INGEST_FILES_PER_RUN = 2000
QUERIES = 200
# Passages on which every built-in model's encode rate is measured, side by side.
MODEL_SAMPLE = 40
# Pages drawn from the corpus and read by OCR for the pages-per-second figure.
OCR_PAGES = 3
KEYS = ("passages", "ingest_seconds", "ingest_passages_per_s", "encode_ratio", "index_chars_per_s", "query_ms", "startup_seconds", "rss_mb")


class SampledEmbeddings(Embeddings):
    """The real model for the first `sample` passages embedded, then vectors derived from those real ones."""

    def __init__(self, real: Embeddings, sample: int, seed: int = 7) -> None:
        self.real = real
        self.label = real.label
        self.sample = sample
        self.vectors: list[np.ndarray] = []
        self.derived = 0
        self.rng = np.random.default_rng(seed)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Real vectors while the sample lasts, derived ones after it."""
        room = max(self.sample - len(self.vectors), 0)
        real = [np.asarray(v, dtype=np.float32) for v in self.real.embed_documents(list(texts[:room]))] if room else []
        self.vectors += real
        rest = len(texts) - len(real)
        self.derived += rest
        return [v.tolist() for v in real] + self._derive(rest)

    def _derive(self, count: int) -> list[list[float]]:
        if not count:
            return []
        base = np.stack(self.vectors)[self.rng.integers(0, len(self.vectors), count)]
        noisy = base + self.rng.normal(0, 0.05, base.shape).astype(np.float32)
        return (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).tolist()

    def embed_query(self, text: str) -> list[float]:
        """Questions are always embedded by the real model."""
        return self.real.embed_query(text)


def raw_encode_rate(embeddings, texts: list[str]) -> float:
    """Passages per second of the bare model on these texts, as the store's embedder calls it."""
    began = time.perf_counter()
    embeddings.embed_documents(texts)
    return len(texts) / (time.perf_counter() - began)


def model_encode_rates(settings, texts: list[str]) -> dict[str, int]:
    """Characters per second of each built-in embedding model on the same passages (after one warm-up call)."""
    from vectorstore.embeddings import BUILT_IN_SUMMARY, make_embeddings

    rates = {}
    for name in BUILT_IN_SUMMARY:
        model = make_embeddings(settings.model_copy(update={"embed_model": name, "embed_cache": ""}))
        model.embed_documents(texts[:2])
        began = time.perf_counter()
        model.embed_documents(texts)
        rates[name] = round(sum(map(len, texts)) / (time.perf_counter() - began))
    return rates


def ocr_pages_per_second(texts: list[str], pages: int = OCR_PAGES) -> float:
    """Pages per second the OCR reads: A4 pages of these texts drawn at 144 dpi (the scale scans are read at)."""
    from PIL import Image, ImageDraw

    from ingest.ocr import PDF_SCALE, image_lines, ocr_engine
    from ingest.pages import cjk_font

    width, height, size = round(595 * PDF_SCALE), round(842 * PDF_SCALE), 22
    characters = "".join(texts)
    per_line, lines = (width - 200) // size, (height - 200) // (size * 2)
    drawn = []
    for number in range(pages):
        image = Image.new("RGB", (width, height), "white")
        draw = ImageDraw.Draw(image)
        start = number * per_line * lines
        for line in range(lines):
            piece = characters[start + line * per_line : start + (line + 1) * per_line]
            draw.text((100, 100 + line * size * 2), piece, fill="black", font=cjk_font(size))
        drawn.append(np.asarray(image))
    ocr_engine()
    began = time.perf_counter()
    for image in drawn:
        image_lines(image)
    return round(pages / (time.perf_counter() - began), 3)


def write_documents(folder: Path, documents: list[dict]) -> list[Path]:
    """The generated documents as UTF-8 text files, the form users ingest."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for document in documents:
        path = folder / f"{document['doc_id']}.txt"
        path.write_text(document["text"], encoding="utf-8")
        paths.append(path)
    return paths


def split_by_sample(documents: list[dict], sample: int) -> tuple[list[dict], list[dict]]:
    """The first documents holding about `sample` passages, and the rest."""
    total = 0
    for index, document in enumerate(documents):
        if total >= sample:
            return documents[:index], documents[index:]
        total += document["paragraphs"]
    return documents, []


def ingest_project(settings, documents: list[dict], sample: int, folder: Path, warm_question: str) -> dict:
    """Ingest through the project's own path (files, splitter, Chroma, lexical index); throughput figures."""
    from assistant import create_service
    from ingest import parse_policy_text
    from vectorstore.embeddings import make_embeddings
    from vectorstore.tokenize import index_tokens

    head, tail = split_by_sample(documents, sample)
    texts = [p.text for d in head for p in parse_policy_text(d["text"], d["doc_id"], settings.passage_max_chars)[1]]
    real = make_embeddings(settings)
    sampled = SampledEmbeddings(real, len(texts))
    service = create_service(settings, embeddings=sampled)
    head_files = write_documents(folder / "sample", head)
    encode_rate = raw_encode_rate(real, texts)
    index_tokens("预热")  # loads the jieba dictionary, which is not indexing
    began = time.perf_counter()
    report = service.ingest(head_files)
    sample_seconds = time.perf_counter() - began
    rest_seconds = 0.0
    for start in range(0, len(tail), INGEST_FILES_PER_RUN):
        files = write_documents(folder / f"rest-{start}", tail[start : start + INGEST_FILES_PER_RUN])
        began = time.perf_counter()
        service.ingest(files)
        rest_seconds += time.perf_counter() - began
    service.ask(warm_question)  # measures the dense weight once, as the first question after an ingest does
    stats = service.store.lexical.stats
    return {
        "passages": len(service.store),
        "ingest_seconds": round(sample_seconds + rest_seconds, 2),
        "ingest_passages_per_s": round(report.passages_added / sample_seconds, 1),
        "encode_passages_per_s": round(encode_rate, 1),
        "encode_ratio": round(report.passages_added / sample_seconds / encode_rate, 3),
        "index_chars_per_s": round(stats["chars"] / stats["seconds"]) if stats["seconds"] else None,
        "derived_vectors": sampled.derived,
        "dense_weight": service.retriever.effective_dense_weight(),
        "model": service.retriever.model_label,
    }


def ingest_naive(settings, documents: list[dict], passages: int, sample: int, folder: Path) -> dict:
    """The textbook pipeline: RecursiveCharacterTextSplitter 500/50 into Chroma with the bundled model, dense only."""
    import chromadb
    from langchain_chroma import Chroma
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from vectorstore.embeddings import SentenceTransformerEmbeddings, bundled_model_path

    splitter = RecursiveCharacterTextSplitter(chunk_size=NAIVE_CHUNK_SIZE, chunk_overlap=NAIVE_CHUNK_OVERLAP)
    chunks = []
    for document in documents:
        if len(chunks) >= passages:
            break
        chunks += splitter.create_documents([document["text"]], metadatas=[{"doc_id": document["doc_id"]}])
    chunks = chunks[:passages]
    real = SentenceTransformerEmbeddings(bundled_model_path(), device=settings.embed_device)
    sampled = SampledEmbeddings(real, sample)
    client = chromadb.PersistentClient(path=str(folder), settings=chromadb.Settings(anonymized_telemetry=False))
    store = Chroma(collection_name="naive", embedding_function=sampled, client=client)
    head = [c.page_content for c in chunks[:sample]]
    real.embed_documents(["预热"])
    encode_rate = raw_encode_rate(real, head)
    seconds = {"sample": 0.0, "rest": 0.0}
    starts = [*range(0, len(head), NAIVE_BATCH), *range(len(head), len(chunks), NAIVE_BATCH)]
    for start, stop in zip(starts, [*starts[1:], len(chunks)]):
        began = time.perf_counter()
        store.add_documents(chunks[start:stop])
        seconds["sample" if start < len(head) else "rest"] += time.perf_counter() - began
    return {
        "passages": len(chunks),
        "ingest_seconds": round(seconds["sample"] + seconds["rest"], 2),
        "ingest_passages_per_s": round(len(head) / seconds["sample"], 1),
        "encode_passages_per_s": round(encode_rate, 1),
        "encode_ratio": round(len(head) / seconds["sample"] / encode_rate, 3),
        "index_chars_per_s": None,
        "derived_vectors": sampled.derived,
    }


def probe(pipeline: str, data_dir: Path, question_file: Path) -> dict:
    """Start a fresh process over the stored data, as a server would; startup, query latency and memory."""
    began = time.time()
    command = [sys.executable, "-m", "bench.probe", pipeline, str(data_dir), str(question_file), str(began)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"bench probe failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(
    settings, passages: int = 100_000, embed_sample: int = 5000, ocr_pages: int = OCR_PAGES, model_sample: int = MODEL_SAMPLE,
    queries: int = QUERIES, log=print,
) -> dict:
    """Both pipelines over the same generated corpus; the figures of each under the same keys."""
    with tempfile.TemporaryDirectory(prefix="policyqa-bench-") as folder:
        root = Path(folder)
        question_file = root / "questions.json"
        question_file.write_text(json.dumps(questions(queries), ensure_ascii=False), encoding="utf-8")
        documents = corpus(passages, settings.passage_max_chars)
        log(f"语料：{len(documents)} 篇，约 {sum(d['paragraphs'] for d in documents)} 段；真实嵌入 {embed_sample} 段")
        sample_texts = [p for d in documents for p in d["text"].split("\n") if len(p) > 100][:model_sample]
        rates = model_encode_rates(settings, sample_texts)
        log(f"各模型编码速度（同一批 {len(sample_texts)} 段，字/秒）：{json.dumps(rates, ensure_ascii=False)}")
        ocr_rate = ocr_pages_per_second(sample_texts, ocr_pages)
        log(f"文字识别（OCR）：{ocr_rate} 页/秒（A4，144 dpi）")
        scoped = settings.model_copy(
            update={"data_dir": root / "policyqa", "ingest_sample_when_empty": False, "chroma_url": "", "embed_cache": ""}
        )
        ours = ingest_project(scoped, documents, embed_sample, root / "inbox", questions(1)[0])
        log(f"本项目导入完成：{ours['passages']} 段，{ours['ingest_seconds']} 秒")
        ours.update(probe("policyqa", root / "policyqa", question_file))
        log(f"本项目：{json.dumps(ours, ensure_ascii=False)}")
        naive_documents = documents + corpus(passages, settings.passage_max_chars, seed=2)  # the baseline's bigger chunks need more text
        baseline = ingest_naive(scoped, naive_documents, passages, embed_sample, root / "naive")
        log(f"基线导入完成：{baseline['passages']} 段，{baseline['ingest_seconds']} 秒")
        baseline.update(probe("naive", root / "naive", question_file))
        log(f"基线：{json.dumps(baseline, ensure_ascii=False)}")
    return {
        **ours, "embed_sample": embed_sample, "model_chars_per_s": rates, "ocr_pages_per_s": ocr_rate, "machine": machine(),
        "baseline": baseline,
    }


def machine() -> dict:
    """What the figures were measured on."""
    import platform

    return {"cpus": os.cpu_count(), "python": platform.python_version(), "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)}


def format_table(result: dict) -> str:
    """Our figures beside the baseline's, one key a row."""
    rows = [("", "policyqa", "baseline (LangChain textbook)")]
    for key in (*KEYS, "encode_passages_per_s", "derived_vectors"):
        ours, theirs = result.get(key), result["baseline"].get(key)
        if key == "query_ms":
            rows += [(f"query_ms.{q}", str(ours[q]), str(theirs[q])) for q in ("p50", "p95")]
        else:
            rows.append((key, "-" if ours is None else str(ours), "-" if theirs is None else str(theirs)))
    rows += [(f"encode chars/s {name}", str(rate), "") for name, rate in result.get("model_chars_per_s", {}).items()]
    if "ocr_pages_per_s" in result:
        rows.append(("ocr pages/s (A4, 144 dpi)", str(result["ocr_pages_per_s"]), "- (reads no scans)"))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) for row in rows)
