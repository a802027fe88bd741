"""The passage store: a Chroma collection (embedded or a server), the lexical index that mirrors it, and document texts.

Chroma is the one source of truth. Beside the passages it holds a one-record state collection with
a change stamp, rewritten before every change, and on a shared server a collection of each
document's cleaned text (an embedded store keeps those as files in the data folder: Chroma slows
down on large documents). The lexical index and the passage table live in memory, are updated in
place, and are saved under the data directory with the stamp they reflect: at start they are
loaded when the stamp and the passage count agree with Chroma, and otherwise brought in line with
Chroma (only the passages that differ are read and tokenised; a damaged index is rebuilt). Several
processes sharing one Chroma server notice each other's changes through the stamp
(`refresh_if_changed`).
"""

import errno
import hashlib
import logging
import re
import shutil
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from langchain_chroma import Chroma
from langchain_core.embeddings import Embeddings

from ingest.model import Passage, PolicyDocument
from vectorstore.lexical import IndexFileError, LexicalIndex, write_atomically

log = logging.getLogger(__name__)

ADD_BATCH = 1024
READ_BATCH = 5000
PASSAGE_FIELDS = ("doc_id", "title", "section", "start", "end", "kind", "order", "source")
# Document metadata copied onto each passage, for citations and filters ('' when the text does not say).
DOCUMENT_FIELDS = ("issuer", "date", "doc_number")
STAMP_ID = "stamp"
# Another process's change is looked for at most this often (seconds) before a retrieval.
CHECK_INTERVAL = 1.0
# An embedded Chroma can stall, not fail, when its disk fills mid-write; a write is refused up front
# unless this much room is left beyond a generous estimate of what it adds (text, vectors, indexes).
MIN_FREE_BYTES = 64 * 1024 * 1024
BYTES_PER_PASSAGE_CHAR = 16


class StoreError(RuntimeError):
    """The store cannot do what was asked; the message says why and what to do."""


class StoreUnavailable(StoreError):
    """The Chroma server cannot be reached (the API answers 503)."""


class StoreWriteError(StoreError):
    """The store's folder cannot be written (disk full, read-only); what was stored before is intact."""


@dataclass(frozen=True)
class StoredPassage:
    """A passage as read back from the store."""

    passage_id: str
    text: str
    doc_id: str
    title: str
    section: str
    start: int
    end: int
    kind: str
    order: int
    source: str
    issuer: str = ""
    date: str = ""
    doc_number: str = ""


STORED_FIELDS = ("text", *PASSAGE_FIELDS, *DOCUMENT_FIELDS)


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


def make_store(settings, embeddings: Embeddings, model_label: str, client=None) -> Chroma:
    """The Chroma vector store: embedded under the data directory, or on the server named by settings.chroma_url.

    The collection records the model that makes its vectors (`settings.embed_model`), so that a
    store can be answered from, and re-embedded, after the configured model changes.
    """
    from vectorstore.migrate import MODEL_KEY

    name = collection_name(settings.collection, model_label)
    with translated_errors(settings.chroma_url, Path(settings.data_dir)):
        client = client or chroma_client(settings)
        known = {c if isinstance(c, str) else c.name for c in client.list_collections()}
        return Chroma(
            collection_name=name,
            embedding_function=embeddings,
            client=client,
            # only a new collection is given its metadata: opening a stored one writes nothing (a read-only store still answers)
            collection_metadata=None if name in known else {MODEL_KEY: settings.embed_model},
            collection_configuration={"hnsw": {"space": "cosine"}},
        )


def passage_metadata(passage: Passage, document: PolicyDocument) -> dict:
    """The Chroma metadata of one passage (scalars only), its document's metadata included."""
    return {
        **{k: str(document.metadata.get(k, "")) for k in DOCUMENT_FIELDS},
        "doc_id": passage.doc_id,
        "title": passage.title,
        "section": passage.section,
        "start": passage.start,
        "end": passage.end,
        "kind": passage.kind,
        "order": passage.order,
        "source": document.source,
    }


def stored_passage(passage_id: str, text: str, meta: dict) -> StoredPassage:
    """A stored passage from Chroma's text and metadata of it."""
    return StoredPassage(
        passage_id=passage_id,
        text=text,
        **{k: meta[k] for k in PASSAGE_FIELDS},
        **{k: meta.get(k, "") for k in DOCUMENT_FIELDS},
    )


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
            raise StoreWriteError(
                f"无法写入知识库（{folder}）：{type(error).__name__}: {str(error)[:200]}。"
                "磁盘可能已满或目录只读：请腾出磁盘空间或恢复目录写权限后重试；已存入的文档不受影响。"
            ) from error
        raise


def server_address(vectors: Chroma) -> str:
    """The address of the Chroma server behind a vector store ('' for an embedded store)."""
    settings = vectors._client.get_settings()
    if "fastapi" not in str(settings.chroma_api_impl).lower():
        return ""
    return f"http://{settings.chroma_server_host}:{settings.chroma_server_http_port}"


class PassageStore:
    """Passages in Chroma with a lexical index kept in step, and each document's cleaned text."""

    def __init__(self, vectors: Chroma, documents_dir: Path, server_url: str = "", index_dir: Path | None = None) -> None:
        self.vectors = vectors
        self.documents_dir = Path(documents_dir)
        self.server_url = server_url or server_address(vectors)
        self.documents_dir.parent.mkdir(parents=True, exist_ok=True)
        name = vectors._collection.name
        self.index_dir = index_dir or self.documents_dir.parent / "lexical" / name
        with self._translated():
            self.state = vectors._client.get_or_create_collection(f"{name}-state", embedding_function=None)
            self.shared_texts = (
                vectors._client.get_or_create_collection(f"{name}-documents", embedding_function=None) if self.server_url else None
            )
        self.lexical = LexicalIndex()
        self._passages: dict[str, StoredPassage] = {}
        self._by_document: dict[str, list[StoredPassage]] = {}
        self._by_source: dict[str, set[str]] = {}
        self._stamp: str | None = None
        self._checked = 0.0
        self.version = 0
        self.open()

    def _translated(self):
        return translated_errors(self.server_url, self.documents_dir.parent)

    # Loading and keeping in step with Chroma

    def open(self) -> None:
        """Load the saved index when it matches Chroma, else bring it in line (reading only what differs)."""
        with self._translated():
            stamp, count = self._shared_stamp(), self.vectors._collection.count()
        try:
            index, manifest = LexicalIndex.load(self.index_dir)
        except IndexFileError as error:
            if self.index_dir.exists():
                log.warning("检索索引无法读取，将从向量库重建：%s", error)
            index, manifest = LexicalIndex(), {}
        self._adopt_index(index)
        if manifest.get("stamp") != stamp or manifest.get("passages") != count or stamp is None:
            self.synchronise()
        else:
            self._stamp = stamp
        self._checked = time.monotonic()

    def _adopt_index(self, index: LexicalIndex) -> None:
        self.lexical = index
        self._passages, self._by_document, self._by_source = {}, {}, {}
        self._table_add([StoredPassage(pid, *payload) for pid, payload in index.payloads()])
        self.version += 1

    def synchronise(self) -> None:
        """Make the in-memory view equal to Chroma: drop what Chroma lacks, read and index what it has anew."""
        with self._translated():
            stamp = self._shared_stamp()
            stored = set(self._all_ids())
            gone = [pid for pid in self._passages if pid not in stored]
            missing = [pid for pid in stored if pid not in self._passages]
            self._forget(gone)
            for start in range(0, len(missing), READ_BATCH):
                data = self.vectors.get(ids=missing[start : start + READ_BATCH], include=["documents", "metadatas"])
                self._remember([stored_passage(*row) for row in zip(data["ids"], data["documents"], data["metadatas"])])
        self._stamp = stamp
        self.version += 1
        self._save_index()

    def refresh_if_changed(self, max_age: float = CHECK_INTERVAL) -> bool:
        """Follow changes other processes made to a shared store (checked at most every `max_age` s); True when some were.

        Raises StoreUnavailable when the Chroma server does not answer.
        """
        if time.monotonic() - self._checked < max_age:
            return False
        with self._translated():
            stamp, count = self._shared_stamp(), self.vectors._collection.count()
        self._checked = time.monotonic()
        if stamp == self._stamp and count == len(self._passages):
            return False
        self.synchronise()
        return True

    def _all_ids(self) -> list[str]:
        ids, offset = [], 0
        while True:
            batch = self.vectors._collection.get(include=[], limit=READ_BATCH * 10, offset=offset)["ids"]
            ids += batch
            offset += len(batch)
            if len(batch) < READ_BATCH * 10:
                return ids

    def _shared_stamp(self) -> str | None:
        found = self.state.get(ids=[STAMP_ID], include=["metadatas"])
        return found["metadatas"][0].get("stamp") if found["ids"] else None

    def _new_stamp(self) -> str:
        """Mark the shared store as changing: a new stamp, written before the change it announces."""
        stamp = uuid.uuid4().hex
        self.state.upsert(ids=[STAMP_ID], embeddings=[[1.0]], metadatas=[{"stamp": stamp}])
        return stamp

    def _save_index(self) -> None:
        """Save the lexical index and passage table with the stamp they reflect (best effort: Chroma is the truth)."""
        try:
            self.lexical.save(self.index_dir, self._stamp)
        except OSError as error:
            log.warning("检索索引未能保存（下次启动时将按向量库补齐）：%s", error)

    # The in-memory passage table

    def _remember(self, passages: list[StoredPassage]) -> None:
        self.lexical.add(
            [p.passage_id for p in passages],
            [lexical_text(p) for p in passages],
            [[getattr(p, k) for k in STORED_FIELDS] for p in passages],
        )
        self._table_add(passages)

    def _table_add(self, passages: list[StoredPassage]) -> None:
        touched = set()
        for p in passages:
            self._passages[p.passage_id] = p
            self._by_document.setdefault(p.doc_id, []).append(p)
            self._by_source.setdefault(p.source, set()).add(p.doc_id)
            touched.add(p.doc_id)
        for doc_id in touched:
            self._by_document[doc_id].sort(key=lambda p: p.order)

    def _forget(self, passage_ids) -> None:
        gone = [self._passages.pop(pid) for pid in passage_ids if pid in self._passages]
        self.lexical.remove([p.passage_id for p in gone])
        for doc_id in {p.doc_id for p in gone}:
            kept = [p for p in self._by_document.get(doc_id, []) if p.passage_id in self._passages]
            if kept:
                self._by_document[doc_id] = kept
                continue
            self._by_document.pop(doc_id, None)
            for doc_ids in self._by_source.values():
                doc_ids.discard(doc_id)

    def reload(self) -> None:
        """Bring the in-memory view in line with Chroma now."""
        self.synchronise()

    # Reading

    def __len__(self) -> int:
        return len(self._passages)

    def passage(self, passage_id: str) -> StoredPassage:
        """One stored passage by id."""
        return self._passages[passage_id]

    def doc_ids(self) -> set[str]:
        """The ids of the stored documents (following other processes' changes to a shared store)."""
        self.refresh_if_changed()
        return set(self._by_document)

    def passages_of(self, doc_id: str) -> list[StoredPassage]:
        """A document's passages in document order."""
        return self._by_document.get(doc_id, [])

    def documents(self) -> list[dict]:
        """One summary per stored document: id, title, source, passage count."""
        self.refresh_if_changed()
        summary = []
        for doc_id, passages in self._by_document.items():
            first = passages[0]
            summary.append(
                {"doc_id": doc_id, "title": first.title, "source": first.source, "passages": len(passages)}
                | {k: getattr(first, k) for k in DOCUMENT_FIELDS}
            )
        return sorted(summary, key=lambda d: d["title"])

    def document_text(self, doc_id: str) -> str:
        """The cleaned text of a stored document, which passage offsets point into."""
        if self.shared_texts is None:
            return (self.documents_dir / f"{doc_id}.txt").read_text(encoding="utf-8")
        with self._translated():
            found = self.shared_texts.get(ids=[doc_id], include=["documents"])
        if not found["ids"]:
            raise FileNotFoundError(f"document {doc_id} has no stored text")
        return found["documents"][0]

    def dense_search(self, question: str, k: int, allowed: set[str] | None = None) -> list[tuple[str, float]]:
        """The k nearest passages by embedding, with cosine similarity (only `allowed` ids when given)."""
        if not self._passages or allowed == set():
            return []
        where = {"doc_id": {"$in": sorted({self._passages[i].doc_id for i in allowed})}} if allowed else None
        with self._translated():
            hits = self.vectors.similarity_search_with_score(question, k=min(k, len(self._passages)), filter=where)
        return [(doc.id, 1.0 - float(distance)) for doc, distance in hits if allowed is None or doc.id in allowed]

    def matching(self, doc_ids: list[str] | None = None, filters: dict | None = None) -> set[str] | None:
        """Ids of the passages in these documents and with these metadata values; None when nothing is filtered."""
        if not doc_ids and not filters:
            return None
        candidates = [p for d in doc_ids for p in self.passages_of(d)] if doc_ids else self._passages.values()
        return {
            p.passage_id for p in candidates if all(str(getattr(p, k, "")) == str(v) for k, v in (filters or {}).items())
        }

    def state_path(self, name: str) -> Path:
        """A file beside the stored documents for derived state (calibrations, the ingest manifest)."""
        return self.documents_dir.parent / name

    # Writing

    def add_document(self, document: PolicyDocument, passages: list[Passage]) -> int:
        """Store one document's passages; returns how many were new (0 when it was stored already)."""
        return self.add_documents([(document, passages)])[0]

    def add_documents(self, items: list[tuple[PolicyDocument, list[Passage]]]) -> list[int]:
        """Store several documents, replacing earlier versions from the same source; new passages per document.

        Raises StoreWriteError when the disk is full or the folder read-only, StoreUnavailable when
        the Chroma server does not answer; passages stored before stay intact either way.
        """
        self.refresh_if_changed(max_age=0)
        added, pending, obsolete, stale, queued = [], [], set(), set(), set()
        incoming: dict[str, set[str]] = {}
        for document, _ in items:
            incoming.setdefault(document.source, set()).add(document.doc_id)
        for source, doc_ids in incoming.items():
            stale |= self._by_source.get(source, set()) - doc_ids
        for document, passages in items:
            known = {p.passage_id for p in self.passages_of(document.doc_id)}
            new = [(p, document) for p in passages if p.passage_id not in known | queued]
            queued |= {p.passage_id for p, _ in new}
            pending.extend(new)
            obsolete |= known - {p.passage_id for p in passages}
            added.append(len(new))
        stale_passages = {p.passage_id for doc_id in stale for p in self.passages_of(doc_id)}
        if pending or obsolete or stale:
            self._write(items, pending, obsolete | stale_passages, stale)
        return added

    def _write(self, items, pending, removed: set[str], stale_documents: set[str]) -> None:
        """Write a change to Chroma (stamp first), then to the in-memory view, then save the index."""
        self._check_room(sum(len(p.text) for p, _ in pending) + sum(len(d.text) for d, _ in items))
        with self._translated(), self._resynchronised_on_failure():
            self._stamp = self._new_stamp()
            self._store_texts([d for d, _ in items])
            for start in range(0, len(pending), ADD_BATCH):
                batch = pending[start : start + ADD_BATCH]
                self.vectors.add_texts(
                    texts=[p.text for p, _ in batch],
                    metadatas=[passage_metadata(p, document) for p, document in batch],
                    ids=[p.passage_id for p, _ in batch],
                )
            if removed:
                self.vectors.delete(ids=sorted(removed))
            self._drop_texts(stale_documents)
        self._forget(removed)
        self._remember([
            stored_passage(p.passage_id, p.text, passage_metadata(p, document)) for p, document in pending
        ])
        self.version += 1
        self._save_index()

    def _check_room(self, chars: int) -> None:
        """Refuse a write to an embedded store whose disk is nearly full, before Chroma is touched."""
        if self.server_url:
            return
        folder = self.documents_dir.parent
        free = shutil.disk_usage(folder).free
        if free < MIN_FREE_BYTES + chars * BYTES_PER_PASSAGE_CHAR:
            raise StoreWriteError(
                f"磁盘空间不足：{folder} 所在磁盘只剩 {free >> 20} MB。请腾出磁盘空间后重试；已存入的文档不受影响。"
            )

    def _store_texts(self, documents: list[PolicyDocument]) -> None:
        """Each document's cleaned text: in a Chroma collection on a shared server, else as files in the data folder."""
        documents = list({d.doc_id: d for d in documents}.values())  # the same text in two files is one document
        if self.shared_texts is not None:
            self.shared_texts.upsert(
                ids=[d.doc_id for d in documents], embeddings=[text_key(d.doc_id) for d in documents], documents=[d.text for d in documents]
            )
            return
        self.documents_dir.mkdir(parents=True, exist_ok=True)
        for document in documents:
            write_atomically(self.documents_dir / f"{document.doc_id}.txt", document.text)

    def _drop_texts(self, doc_ids: set[str]) -> None:
        if not doc_ids:
            return
        if self.shared_texts is not None:
            self.shared_texts.delete(ids=sorted(doc_ids))
        for doc_id in doc_ids:
            (self.documents_dir / f"{doc_id}.txt").unlink(missing_ok=True)

    @contextmanager
    def _resynchronised_on_failure(self):
        """After a write that failed part-way, the next look at the store reads back what Chroma holds."""
        try:
            yield
        except BaseException:
            self._stamp, self._checked = None, 0.0
            raise

    def remove_document(self, doc_id: str) -> int:
        """Delete a document everywhere; returns how many passages went."""
        self.refresh_if_changed(max_age=0)
        ids = [p.passage_id for p in self.passages_of(doc_id)]
        with self._translated(), self._resynchronised_on_failure():
            self._stamp = self._new_stamp()
            if ids:
                self.vectors.delete(ids=ids)
            self._drop_texts({doc_id})
        self._forget(ids)
        self.version += 1
        self._save_index()
        return len(ids)


def text_key(doc_id: str) -> list[float]:
    """A small vector for a stored document text (the shared text collection never searches by vector)."""
    digest = hashlib.sha1(doc_id.encode("utf-8")).digest()
    return [int.from_bytes(digest[:4], "big") / 2**32, int.from_bytes(digest[4:8], "big") / 2**32]


def lexical_text(passage: StoredPassage) -> str:
    """What the lexical index sees of a passage: its document title, section path and text."""
    return f"{passage.title}\n{passage.section}\n{passage.text}"
