"""The in-memory passage table: every stored passage by id, each document's passages in order, the documents of each source."""

from dataclasses import dataclass, field

from ingest.lifecycle import STORED_LIFECYCLE_FIELDS
from ingest.model import Passage, PolicyDocument

PASSAGE_FIELDS = ("doc_id", "title", "section", "start", "end", "kind", "order", "source")
# Document metadata copied onto each passage, for citations and filters ('' when the text does not say).
DOCUMENT_FIELDS = ("issuer", "date", "doc_number", *STORED_LIFECYCLE_FIELDS)


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
    effective_date: str = ""
    expiry_date: str = ""
    repeals: str = ""  # JSON list of {"title", "doc_number"}
    amends: str = ""
    stated_status: str = ""


STORED_FIELDS = ("text", *PASSAGE_FIELDS, *DOCUMENT_FIELDS)


@dataclass
class Change:
    """What storing some documents changes: passages to add (with their document), passage ids to drop,
    documents a source no longer yields, and how many passages each document adds."""

    new: list[tuple[Passage, PolicyDocument]] = field(default_factory=list)
    obsolete: set[str] = field(default_factory=set)
    stale_documents: set[str] = field(default_factory=set)
    added: list[int] = field(default_factory=list)


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


def lexical_text(passage: StoredPassage) -> str:
    """What the lexical index sees of a passage: its document title, section path and text."""
    return f"{passage.title}\n{passage.section}\n{passage.text}"


def payload(passage: StoredPassage) -> list:
    """The fields the lexical index keeps with a passage, from which the table is rebuilt at start."""
    return [getattr(passage, k) for k in STORED_FIELDS]


class PassageTable:
    """Stored passages by id, by document (in document order) and by source file."""

    def __init__(self) -> None:
        self._passages: dict[str, StoredPassage] = {}
        self._by_document: dict[str, list[StoredPassage]] = {}
        self._by_source: dict[str, set[str]] = {}

    def __len__(self) -> int:
        return len(self._passages)

    def __contains__(self, passage_id: str) -> bool:
        return passage_id in self._passages

    def get(self, passage_id: str) -> StoredPassage:
        """One passage by id (KeyError when it is not stored)."""
        return self._passages[passage_id]

    def ids(self):
        """Every stored passage id."""
        return self._passages.keys()

    def of(self, doc_id: str) -> list[StoredPassage]:
        """A document's passages in document order ([] for an unknown document)."""
        return list(self._by_document.get(doc_id, ()))

    def doc_ids(self) -> set[str]:
        """The ids of the stored documents."""
        return set(self._by_document)

    def documents_from(self, source: str) -> set[str]:
        """The ids of the documents stored from one source file."""
        return set(self._by_source.get(source, ()))

    def summaries(self) -> list[dict]:
        """One summary per document: id, title, source, passage count and document metadata, by title."""
        summary = []
        for doc_id, passages in self._by_document.items():
            first = passages[0]
            summary.append(
                {"doc_id": doc_id, "title": first.title, "source": first.source, "passages": len(passages)}
                | {k: getattr(first, k) for k in DOCUMENT_FIELDS}
            )
        return sorted(summary, key=lambda d: d["title"])

    def matching(self, doc_ids: list[str] | None, filters: dict | None) -> set[str] | None:
        """Ids of the passages in these documents and with these metadata values; None when nothing is filtered."""
        if not doc_ids and not filters:
            return None
        candidates = [p for d in doc_ids for p in self._by_document.get(d, ())] if doc_ids else self._passages.values()
        return {
            p.passage_id for p in candidates if all(str(getattr(p, k, "")) == str(v) for k, v in (filters or {}).items())
        }

    def count_matching(self, doc_ids: list[str] | None, filters: dict | None) -> int:
        """How many passages `matching` would give (all of them when nothing is filtered), without building the set."""
        if not filters:
            return sum(len(self._by_document.get(d, ())) for d in set(doc_ids)) if doc_ids else len(self._passages)
        return len(self.matching(doc_ids, filters))

    def change_for(self, items: list[tuple[PolicyDocument, list[Passage]]]) -> Change:
        """What storing these documents would change: each replaces the earlier version of its document, and
        the documents a source yielded before but not now go."""
        change, queued, incoming = Change(), set(), {}
        for document, _ in items:
            incoming.setdefault(document.source, set()).add(document.doc_id)
        change.stale_documents = {d for source, ids in incoming.items() for d in self.documents_from(source) - ids}
        for document, passages in items:
            known = {p.passage_id for p in self.of(document.doc_id)}
            new = [(p, document) for p in passages if p.passage_id not in known | queued]
            queued |= {p.passage_id for p, _ in new}
            change.new.extend(new)
            change.obsolete |= known - {p.passage_id for p in passages}
            change.added.append(len(new))
        change.obsolete |= {p.passage_id for doc_id in change.stale_documents for p in self.of(doc_id)}
        return change

    def add(self, passages: list[StoredPassage]) -> None:
        """Add passages (an id already stored is replaced)."""
        self.remove([p.passage_id for p in passages if p.passage_id in self._passages])
        touched = set()
        for p in passages:
            self._passages[p.passage_id] = p
            self._by_document.setdefault(p.doc_id, []).append(p)
            self._by_source.setdefault(p.source, set()).add(p.doc_id)
            touched.add(p.doc_id)
        for doc_id in touched:
            self._by_document[doc_id].sort(key=lambda p: p.order)

    def remove(self, passage_ids) -> None:
        """Drop passages (unknown ids are ignored); a document left without passages goes too."""
        gone = [self._passages.pop(pid) for pid in set(passage_ids) if pid in self._passages]
        for doc_id in {p.doc_id for p in gone}:
            kept = [p for p in self._by_document.get(doc_id, []) if p.passage_id in self._passages]
            if kept:
                self._by_document[doc_id] = kept
                continue
            self._by_document.pop(doc_id, None)
            for source in [s for s, ids in self._by_source.items() if doc_id in ids]:
                self._by_source[source].discard(doc_id)
                if not self._by_source[source]:
                    del self._by_source[source]
