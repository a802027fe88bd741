"""The Chroma side of the store: the client (embedded or a server), its collections, the change stamp, and its errors
turned into messages that say what to do."""

import errno
import re
import shutil
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from langchain_chroma import Chroma
from langchain_core.embeddings import Embeddings

STAMP_ID = "stamp"
# The collection metadata naming the model that made a passage collection's vectors.
MODEL_KEY = "policyqa_model"
# An embedded Chroma can stall, not fail, when its disk fills mid-write; a write is refused up front
# unless this much room is left beyond a generous estimate of what it adds (text, vectors, indexes).
MIN_FREE_BYTES = 64 * 1024 * 1024
BYTES_PER_PASSAGE_CHAR = 16
COSINE = {"hnsw": {"space": "cosine"}}


class StoreError(RuntimeError):
    """The store cannot do what was asked; the message says why and what to do."""


class StoreUnavailable(StoreError):
    """The Chroma server cannot be reached (the API answers 503)."""


class StoreWriteError(StoreError):
    """The store's folder cannot be written (disk full, read-only); what was stored before is intact."""


@dataclass(frozen=True)
class ChromaCollections:
    """What make_store opened: LangChain's vector store, the Chroma client and passage collection under it, the server's address."""

    vectors: Chroma
    client: object
    passages: object
    server_url: str

    def auxiliary(self, suffix: str):
        """A collection kept beside the passages (`-state`, `-documents`), made when missing; it never searches by vector."""
        return self.client.get_or_create_collection(f"{self.passages.name}-{suffix}", embedding_function=None)


def collection_name(base: str, model_label: str) -> str:
    """A Chroma collection name for this base name and embedding model (vectors of two models never mix)."""
    label = re.sub(r"[^A-Za-z0-9._-]+", "-", model_label).strip("-._") or "model"
    return f"{base}-{label}"[:120]


def chroma_client(settings):
    """A Chroma client: the server at settings.chroma_url, else the embedded store under the data directory."""
    import chromadb

    options = chromadb.Settings(anonymized_telemetry=False)
    if not settings.chroma_url:
        path = Path(settings.data_dir) / "chroma"
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=options)
    from urllib.parse import urlsplit

    url = urlsplit(settings.chroma_url if "//" in settings.chroma_url else f"http://{settings.chroma_url}")
    port = url.port or (443 if url.scheme == "https" else 8000)
    try:
        return chromadb.HttpClient(host=url.hostname, port=port, ssl=url.scheme == "https", settings=options)
    except Exception as error:  # noqa: BLE001 - refused, DNS, TLS: all mean "not reachable"
        raise unavailable(settings.chroma_url, error) from error


def unavailable(url: str, error: Exception) -> StoreUnavailable:
    """The error for a Chroma server that does not answer."""
    return StoreUnavailable(
        f"向量库不可用：无法连接 Chroma 服务器 {url}（{type(error).__name__}: {str(error)[:200]}）。"
        "请确认服务器正在运行（chroma run --path 数据目录 --host 地址 --port 端口）且 POLICYQA_CHROMA_URL 正确；恢复后无需重启本服务。"
    )


def make_store(settings, embeddings: Embeddings, model_label: str, client=None) -> ChromaCollections:
    """The Chroma collections of the store: embedded under the data directory, or on the server named by settings.chroma_url.

    The passage collection records the model that makes its vectors (`settings.embed_model`), so
    that a store can be answered from, and re-embedded, after the configured model changes.
    """
    name = collection_name(settings.collection, model_label)
    with translated_errors(settings.chroma_url, Path(settings.data_dir)):
        client = client or chroma_client(settings)
        known = {c if isinstance(c, str) else c.name for c in client.list_collections()}
        if name not in known:  # a stored collection is opened as it is: a read-only store still answers
            create_unless_there(client, name, metadata={MODEL_KEY: settings.embed_model}, configuration=COSINE)
        vectors = Chroma(collection_name=name, embedding_function=embeddings, client=client)
        return ChromaCollections(vectors, client, client.get_collection(name), server_address(client))


def create_unless_there(client, name: str, **options) -> None:
    """Create a collection, unless another process sharing the server created it first.

    Two apps started together over one Chroma server both find the collection missing; the second
    one's create is refused ("already exists") and it opens the first one's instead.
    """
    try:
        client.create_collection(name, **options)
    except Exception as refusal:  # noqa: BLE001 - the refusal's type differs by client: whether it is there now decides
        try:
            client.get_collection(name)
        except Exception:  # noqa: BLE001 - not there: the create failed for another reason, which is the one to show
            raise refusal from None


def server_address(client) -> str:
    """The address of the Chroma server a client talks to ('' for an embedded store)."""
    settings = client.get_settings()
    if "fastapi" not in str(settings.chroma_api_impl).lower():
        return ""
    return f"http://{settings.chroma_server_host}:{settings.chroma_server_http_port}"


class ChangeStamp:
    """The store's change stamp: one record in a state collection, rewritten before every change it announces and again once it is done.

    Several processes sharing one Chroma server notice each other's changes by it.
    """

    def __init__(self, collection) -> None:
        self.collection = collection

    def read(self) -> str | None:
        """The stamp now in the store (None before the first change)."""
        found = self.collection.get(ids=[STAMP_ID], include=["metadatas"])
        return found["metadatas"][0].get("stamp") if found["ids"] else None

    def renew(self) -> str:
        """Mark the store as changed: a new stamp, written before a change and after it."""
        stamp = uuid.uuid4().hex
        self.collection.upsert(ids=[STAMP_ID], embeddings=[[1.0]], metadatas=[{"stamp": stamp}])
        return stamp


def all_ids(collection, page: int = 50_000) -> list[str]:
    """Every id in a collection, read a page at a time."""
    ids, offset = [], 0
    while True:
        batch = collection.get(include=[], limit=page, offset=offset)["ids"]
        ids += batch
        offset += len(batch)
        if len(batch) < page:
            return ids


def is_write_failure(error: BaseException) -> bool:
    """True for errors that mean the disk is full or the folder cannot be written."""
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT):
        return True
    text = str(error).lower()
    return any(s in text for s in ("readonly", "read-only", "disk is full", "no space", "permission denied", "disk i/o"))


def is_connection_failure(error: BaseException) -> bool:
    """True for errors that mean a Chroma server did not answer."""
    names = {c.__name__ for c in type(error).__mro__}
    text = str(error).lower()
    return bool(names & {"ConnectError", "ConnectTimeout", "ReadTimeout", "RemoteProtocolError", "ConnectionError", "TimeoutException"}) or any(
        s in text for s in ("could not connect", "connection refused", "connect error", "failed to connect")
    )


@contextmanager
def translated_errors(server_url: str, folder: Path):
    """Turn Chroma and file-system failures into StoreUnavailable / StoreWriteError with what to do."""
    try:
        yield
    except StoreError:
        raise
    except Exception as error:  # noqa: BLE001 - Chroma raises many types; classified below
        if server_url and is_connection_failure(error):
            raise unavailable(server_url, error) from error
        if is_write_failure(error):
            cause = room_left(folder) if is_disk_full(error) else "磁盘可能已满或目录只读："
            raise StoreWriteError(
                f"无法写入知识库（{folder}）：{type(error).__name__}: {str(error)[:200]}。"
                f"{cause}请腾出磁盘空间或恢复目录写权限后重试；已存入的文档不受影响。"
            ) from error
        raise


def is_disk_full(error: BaseException) -> bool:
    """True for errors that mean the disk (or the quota) is full."""
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    return any(s in str(error).lower() for s in ("disk is full", "no space"))


def room_left(folder: Path) -> str:
    """What is left on the disk of `folder` (or of its nearest existing parent) beside what the store needs."""
    existing = next(p for p in (Path(folder), *Path(folder).parents) if p.exists())
    free = shutil.disk_usage(existing).free
    return f"磁盘空间不足：所在磁盘只剩 {free >> 20} MB，知识库至少需要留出约 {MIN_FREE_BYTES >> 20} MB。"


def check_room(folder: Path, chars: int) -> None:
    """Refuse a write of about `chars` characters to an embedded store whose disk is nearly full, before Chroma is touched."""
    free, needed = shutil.disk_usage(folder).free, MIN_FREE_BYTES + chars * BYTES_PER_PASSAGE_CHAR
    if free < needed:
        raise StoreWriteError(
            f"磁盘空间不足：{folder} 所在磁盘只剩 {free >> 20} MB，这次写入需要约 {-(-needed >> 20)} MB"
            f"（含留给向量库的 {MIN_FREE_BYTES >> 20} MB）。请腾出磁盘空间后重试；已存入的文档不受影响。"
        )
