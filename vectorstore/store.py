"""The passage store: a persistent Chroma collection, the lexical index that mirrors it, and document texts."""

import re
from dataclasses import dataclass
from pathlib import Path

from langchain_core.embeddings import Embeddings
from langchain_chroma import Chroma

from ingest.model import Passage, PolicyDocument
from vectorstore.lexical import LexicalIndex

ADD_BATCH = 512
PASSAGE_FIELDS = ("doc_id", "title", "section", "start", "end", "kind", "order", "source")
# Document metadata copied onto each passage, for citations and filters ('' when the text does not say).
DOCUMENT_FIELDS = ("issuer", "date", "doc_number")


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


def collection_name(base: str, model_label: str) -> str:
    """A Chroma collection name for this base name and embedding model (vectors of two models never mix)."""
    label = re.sub(r"[^A-Za-z0-9._-]+", "-", model_label).strip("-._") or "model"
    return f"{base}-{label}"[:120]


def make_store(settings, embeddings: Embeddings, model_label: str) -> Chroma:
    """The persistent (embedded) Chroma vector store under the data directory."""
    import chromadb

    path = Path(settings.data_dir) / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    client = chromadb.PersistentClient(path=str(path), settings=chromadb.Settings(anonymized_telemetry=False))
    return Chroma(
        collection_name=collection_name(settings.collection, model_label),
        embedding_function=embeddings,
        client=client,
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


class PassageStore:
    """Passages in Chroma with a lexical index kept in step, and each document's cleaned text on disk."""

    def __init__(self, vectors: Chroma, documents_dir: Path) -> None:
        self.vectors = vectors
        self.documents_dir = Path(documents_dir)
        self.documents_dir.mkdir(parents=True, exist_ok=True)
        self.lexical = LexicalIndex()
        self._passages: dict[str, StoredPassage] = {}
        self.version = 0
        self.reload()

    def reload(self) -> None:
        """Read all passages back from Chroma and rebuild the lexical index from them."""
        data = self.vectors.get(include=["documents", "metadatas"])
        passages = [
            StoredPassage(
                passage_id=pid,
                text=text,
                **{k: meta[k] for k in PASSAGE_FIELDS},
                **{k: meta.get(k, "") for k in DOCUMENT_FIELDS},
            )
            for pid, text, meta in zip(data["ids"], data["documents"], data["metadatas"])
        ]
        passages.sort(key=lambda p: (p.doc_id, p.order))
        self._passages = {p.passage_id: p for p in passages}
        self._by_document: dict[str, list[StoredPassage]] = {}
        self._by_source: dict[str, set[str]] = {}
        for p in passages:
            self._by_document.setdefault(p.doc_id, []).append(p)
            self._by_source.setdefault(p.source, set()).add(p.doc_id)
        self.lexical.rebuild([p.passage_id for p in passages], [lexical_text(p) for p in passages])
        self.version += 1

    def __len__(self) -> int:
        return len(self._passages)

    def passage(self, passage_id: str) -> StoredPassage:
        """One stored passage by id."""
        return self._passages[passage_id]

    def doc_ids(self) -> set[str]:
        """The ids of the stored documents."""
        return set(self._by_document)

    def passages_of(self, doc_id: str) -> list[StoredPassage]:
        """A document's passages in document order."""
        return self._by_document.get(doc_id, [])

    def add_document(self, document: PolicyDocument, passages: list[Passage]) -> int:
        """Store one document's passages; returns how many were new (0 when it was stored already)."""
        return self.add_documents([(document, passages)])[0]

    def add_documents(self, items: list[tuple[PolicyDocument, list[Passage]]]) -> list[int]:
        """Store several documents, replacing earlier versions from the same source; new passages per document."""
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
            (self.documents_dir / f"{document.doc_id}.txt").write_text(document.text, encoding="utf-8")
            added.append(len(new))
        for start in range(0, len(pending), ADD_BATCH):
            batch = pending[start : start + ADD_BATCH]
            self.vectors.add_texts(
                texts=[p.text for p, _ in batch],
                metadatas=[passage_metadata(p, document) for p, document in batch],
                ids=[p.passage_id for p, _ in batch],
            )
        if obsolete:
            self.vectors.delete(ids=sorted(obsolete))
        for doc_id in stale:
            self._delete_document(doc_id)
        if pending or obsolete or stale:
            self.reload()
        return added

    def remove_document(self, doc_id: str) -> int:
        """Delete a document everywhere; returns how many passages went."""
        removed = self._delete_document(doc_id)
        self.reload()
        return removed

    def _delete_document(self, doc_id: str) -> int:
        ids = [p.passage_id for p in self.passages_of(doc_id)]
        if ids:
            self.vectors.delete(ids=ids)
        (self.documents_dir / f"{doc_id}.txt").unlink(missing_ok=True)
        return len(ids)

    def documents(self) -> list[dict]:
        """One summary per stored document: id, title, source, passage count."""
        summary: dict[str, dict] = {}
        for p in self._passages.values():
            entry = summary.setdefault(
                p.doc_id,
                {"doc_id": p.doc_id, "title": p.title, "source": p.source, "passages": 0}
                | {k: getattr(p, k) for k in DOCUMENT_FIELDS},
            )
            entry["passages"] += 1
        return sorted(summary.values(), key=lambda d: d["title"])

    def document_text(self, doc_id: str) -> str:
        """The cleaned text of a stored document, which passage offsets point into."""
        return (self.documents_dir / f"{doc_id}.txt").read_text(encoding="utf-8")

    def dense_search(self, question: str, k: int, allowed: set[str] | None = None) -> list[tuple[str, float]]:
        """The k nearest passages by embedding, with cosine similarity (only `allowed` ids when given)."""
        if not self._passages or allowed == set():
            return []
        where = {"doc_id": {"$in": sorted({self._passages[i].doc_id for i in allowed})}} if allowed else None
        hits = self.vectors.similarity_search_with_score(question, k=min(k, len(self._passages)), filter=where)
        return [(doc.id, 1.0 - float(distance)) for doc, distance in hits if allowed is None or doc.id in allowed]

    def matching(self, doc_ids: list[str] | None = None, filters: dict | None = None) -> set[str] | None:
        """Ids of the passages in these documents and with these metadata values; None when nothing is filtered."""
        if not doc_ids and not filters:
            return None
        wanted = set(doc_ids or [])
        return {
            pid
            for pid, p in self._passages.items()
            if (not wanted or p.doc_id in wanted) and all(str(getattr(p, k, "")) == str(v) for k, v in (filters or {}).items())
        }

    def state_path(self, name: str) -> Path:
        """A file beside the stored documents for derived state (calibrations)."""
        return self.documents_dir.parent / name


def lexical_text(passage: StoredPassage) -> str:
    """What the lexical index sees of a passage: its document title, section path and text."""
    return f"{passage.title}\n{passage.section}\n{passage.text}"
