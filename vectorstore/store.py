"""The passage store: Chroma's passages, the lexical index and passage table that mirror them, and document texts.

Chroma is the one source of truth; a change stamp (`ChangeStamp`) is rewritten before every change and again
once it is done. The in-memory index and table are saved with the stamp they reflect, loaded at start when
stamp and count agree with Chroma, else brought in line (only passages that differ are read; a damaged index
is rebuilt).
Processes sharing a Chroma server notice each other's changes through the stamp (`refresh_if_changed`).

The view changes under the exclusive side of a readers-writer lock, held only while memory changes, and a
retrieval reads under the shared side (`reading()`), never seeing half a change; changes take turns.
"""

import logging
import random
import threading
import time
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

from ingest.model import Passage, PolicyDocument
from vectorstore.chroma import ChangeStamp, ChromaCollections, all_ids, check_room, translated_errors
from vectorstore.lexical import IndexFileError, LexicalIndex
from vectorstore.locking import ReadWriteLock
from vectorstore.table import PassageTable, StoredPassage, lexical_text, passage_metadata, payload, stored_passage
from vectorstore.texts import CollectionTexts, FolderTexts

log = logging.getLogger(__name__)

ADD_BATCH = 1024
READ_BATCH = 5000
# Another process's change is looked for at most this often (seconds) before a retrieval.
CHECK_INTERVAL = 1.0
# How often (seconds) a look also counts the passages in Chroma. A finished change renews the stamp a
# second time, so the stamp alone shows it; the count is for a writer killed part-way, whose last
# passages came after this process looked. Counting costs 10-25 ms at 100 000 passages, which every
# look paid before: one question a second, the slowest 3% at the benchmark's pace.
COUNT_INTERVAL = 30.0


class PassageStore:
    """Passages in Chroma with a lexical index and passage table kept in step, and each document's cleaned text."""

    def __init__(self, chroma: ChromaCollections, documents_dir: Path) -> None:
        self.vectors, self.server_url, self._passages_collection = chroma.vectors, chroma.server_url, chroma.passages
        self.client = chroma.client
        self.collection_name = chroma.passages.name
        self.folder = Path(documents_dir).parent
        self.folder.mkdir(parents=True, exist_ok=True)
        self.index_dir = self.folder / "lexical" / self.collection_name
        with self._translated():
            self._stamp_record = ChangeStamp(chroma.auxiliary("state"))
            self.texts = CollectionTexts(chroma.auxiliary("documents")) if self.server_url else FolderTexts(documents_dir)
        self.lexical, self.table = LexicalIndex(), PassageTable()
        self._view, self._changing = ReadWriteLock(), threading.RLock()
        self._stamp: str | None = None
        self._checked = self._counted = 0.0
        self.open()

    def _translated(self):
        return translated_errors(self.server_url, self.folder)

    def reading(self):
        """Hold the in-memory view still while reading it (one retrieval sees no change half-made)."""
        return self._view.shared()

    # Loading and keeping in step with Chroma

    def open(self) -> None:
        """Load the saved index when it matches Chroma, else bring it in line (reading only what differs)."""
        with self._translated():
            stamp, count = self._stamp_record.read(), self._passages_collection.count()
        try:
            index, manifest = LexicalIndex.load(self.index_dir)
        except IndexFileError as error:
            if self.index_dir.exists():
                log.warning("检索索引无法读取，将从向量库重建：%s", error)
            index, manifest = LexicalIndex(), {}
        self.lexical = index
        self.table.add([StoredPassage(pid, *row) for pid, row in index.payloads()])
        if manifest.get("stamp") != stamp or manifest.get("passages") != count or stamp is None:
            self.synchronise()
        else:
            self._stamp = stamp
        self._checked = self._counted = time.monotonic()

    def synchronise(self) -> None:
        """Make the in-memory view equal to Chroma: drop what Chroma lacks, read and index what it has anew."""
        with self._changing, self._translated():
            stamp = self._stamp_record.read()
            stored = set(all_ids(self._passages_collection))
            gone = [pid for pid in self.table.ids() if pid not in stored]
            missing = [pid for pid in stored if pid not in self.table]
            read = []
            for start in range(0, len(missing), READ_BATCH):
                data = self.vectors.get(ids=missing[start : start + READ_BATCH], include=["documents", "metadatas"])
                read += [stored_passage(*row) for row in zip(data["ids"], data["documents"], data["metadatas"])]
            self._change_view(gone, read)
            self._stamp = stamp
            self._save_index()

    def refresh_if_changed(self, max_age: float | None = None) -> bool:
        """Follow changes other processes made to a shared store (checked at most every `max_age` s); True when some were.

        A look that would wait for a change under way here, or made while reading, is skipped (that change
        brings the view in line). Raises StoreUnavailable when the Chroma server does not answer."""
        max_age = CHECK_INTERVAL if max_age is None else max_age
        if time.monotonic() - self._checked < max_age or self._view.reads_here():
            return False
        if not self._changing.acquire(blocking=max_age == 0):
            return False
        try:
            counting = max_age == 0 or time.monotonic() - self._counted >= COUNT_INTERVAL
            with self._translated():
                stamp = self._stamp_record.read()
                count = self._passages_collection.count() if counting else len(self.table)
            self._checked = time.monotonic()
            if counting:
                self._counted = self._checked
            if stamp == self._stamp and count == len(self.table):
                return False
            self.synchronise()
            return True
        finally:
            self._changing.release()

    def _save_index(self) -> None:
        """Save the lexical index with the stamp it reflects (best effort: Chroma is the truth)."""
        try:
            self.lexical.save(self.index_dir, self._stamp)
        except OSError as error:
            log.warning("检索索引未能保存（下次启动时将按向量库补齐）：%s", error)

    def _change_view(self, removed, added: list[StoredPassage]) -> None:
        """Remove and add passages in index and table: one change, never seen half made."""
        with self._view.exclusive():
            self.lexical.remove(removed)
            self.table.remove(removed)
            self.lexical.add([p.passage_id for p in added], [lexical_text(p) for p in added], [payload(p) for p in added])
            self.table.add(added)

    # Reading

    def __len__(self) -> int:
        return len(self.table)

    def version(self) -> tuple:
        """Changes whenever the stored passages do (the change stamp and the view's size), at no cost."""
        return self._stamp, len(self.table)

    def check_reachable(self) -> None:
        """Ask Chroma itself (one count, never the in-memory view); raises StoreUnavailable when it does not answer."""
        with self._translated():
            self._passages_collection.count()

    def passage_ids(self) -> set[str]:
        """The ids of every passage answers are drawn from."""
        with self.reading():
            return set(self.table.ids())

    def passage(self, passage_id: str) -> StoredPassage:
        """One stored passage by id."""
        return self.table.get(passage_id)

    def doc_ids(self) -> set[str]:
        """The ids of the stored documents (following other processes' changes to a shared store)."""
        self.refresh_if_changed()
        with self.reading():
            return self.table.doc_ids()

    def passages_of(self, doc_id: str) -> list[StoredPassage]:
        """A document's passages in document order."""
        with self.reading():
            return self.table.of(doc_id)

    def documents(self) -> list[dict]:
        """One summary per stored document: id, title, source, passage count."""
        self.refresh_if_changed()
        with self.reading():
            return self.table.summaries()

    def document_text(self, doc_id: str) -> str:
        """The cleaned text of a stored document, which passage offsets point into."""
        with self._translated():
            return self.texts.get(doc_id)

    def question_vector(self, question: str) -> list[float]:
        """The question as the model embeds it for dense search (reads nothing stored: no lock is needed)."""
        return self.vectors.embeddings.embed_query(question)

    def dense_search(
        self, question: str, k: int, allowed: set[str] | None = None, vector: list[float] | None = None
    ) -> list[tuple[str, float]]:
        """The k nearest passages by embedding, with cosine similarity (only `allowed` ids when given).

        `vector` is the question's vector when it was embedded beforehand (`question_vector`). Only
        passages in the in-memory view are returned: Chroma holds a passage being added before the view does."""
        with self.reading():
            if not len(self.table) or allowed == set():
                return []
            where = {"doc_id": {"$in": sorted({self.table.get(i).doc_id for i in allowed})}} if allowed else None
            with self._translated():
                if vector is None:
                    vector = self.question_vector(question)
                # Ids and distances only: the passages' texts and metadata are in the table already, and
                # reading them back from Chroma's SQLite doubled the search's time (5 -> 10 ms at 100 000).
                found = self._passages_collection.query(
                    query_embeddings=[vector], n_results=min(k, len(self.table)), where=where, include=["distances"]
                )
            return [
                (pid, 1.0 - float(distance)) for pid, distance in zip(found["ids"][0], found["distances"][0])
                if pid in self.table and (allowed is None or pid in allowed)
            ]

    def passage_vectors(self, passage_ids: list[str]) -> dict[str, Sequence[float]]:
        """The stored vectors of these passages, by id (rows of Chroma's array; those it no longer holds are left out)."""
        if not passage_ids:
            return {}
        with self._translated():
            found = self._passages_collection.get(ids=list(passage_ids), include=["embeddings"])
        return dict(zip(found["ids"], found["embeddings"]))

    def sample_ids(self, n: int) -> list[str]:
        """Up to `n` passage ids drawn at random, the same ones for the same stored passages."""
        with self.reading():
            ids = sorted(self.table.ids())
        return random.Random(len(ids)).sample(ids, min(n, len(ids)))

    def matching(self, doc_ids: list[str] | None = None, filters: dict | None = None) -> set[str] | None:
        """Ids of the passages in these documents and with these metadata values; None when nothing is filtered."""
        with self.reading():
            return self.table.matching(doc_ids, filters)

    def count_matching(self, doc_ids: list[str] | None = None, filters: dict | None = None) -> int:
        """How many passages are in these documents and have these metadata values (all when nothing is filtered)."""
        with self.reading():
            return self.table.count_matching(doc_ids, filters)

    def state_path(self, name: str) -> Path:
        """A file beside the stored documents for derived state (calibrations, the ingest manifest)."""
        return self.folder / name

    # Writing

    def add_documents(self, items: list[tuple[PolicyDocument, list[Passage]]]) -> list[int]:
        """Store several documents, replacing earlier versions from the same source; new passages per document.

        Raises StoreWriteError when the disk is full or the folder read-only, StoreUnavailable when
        the Chroma server does not answer; passages stored before stay intact either way.
        """
        with self._changing:
            self.refresh_if_changed(max_age=0)
            change = self.table.change_for(items)
            if change.new or change.obsolete:
                self._write(items, change.new, change.obsolete, change.stale_documents)
            return change.added

    def _write(self, items, pending, removed: set[str], stale_documents: set[str]) -> None:
        """Write a change to Chroma (stamped before and after), then to the in-memory view, then save the index."""
        if not self.server_url:
            check_room(self.folder, sum(len(p.text) for p, _ in pending) + sum(len(d.text) for d, _ in items))
        with self._translated(), self._resynchronised_on_failure():
            opening = self._stamp = self._stamp_record.renew()
            self.texts.put({d.doc_id: d.text for d, _ in items})
            for start in range(0, len(pending), ADD_BATCH):
                batch = pending[start : start + ADD_BATCH]
                self.vectors.add_texts(
                    texts=[p.text for p, _ in batch],
                    metadatas=[passage_metadata(p, document) for p, document in batch],
                    ids=[p.passage_id for p, _ in batch],
                )
            if removed:
                self.vectors.delete(ids=sorted(removed))
            self.texts.drop(stale_documents)
            self._finish_change(opening)
        self._change_view(removed, [stored_passage(p.passage_id, p.text, passage_metadata(p, d)) for p, d in pending])
        self._save_index()

    def _finish_change(self, opening: str) -> None:
        """Renew the stamp once a change is written, so that a process that looked in its middle looks again.

        The new stamp is kept as seen only when the stamp was still this change's own: another process
        changing the store at the same time left its stamp there, and the next look here reads its change.
        """
        untouched = self._stamp_record.read() == opening
        closing = self._stamp_record.renew()
        self._stamp = closing if untouched else None

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
        with self._changing:
            self.refresh_if_changed(max_age=0)
            ids = [p.passage_id for p in self.table.of(doc_id)]
            with self._translated(), self._resynchronised_on_failure():
                opening = self._stamp = self._stamp_record.renew()
                if ids:
                    self.vectors.delete(ids=ids)
                self.texts.drop({doc_id})
                self._finish_change(opening)
            self._change_view(ids, [])
            self._save_index()
            return len(ids)
