"""BM25 over Chinese tokens, kept in step with the passages in the vector store, updated in place and saved on disk.

The index is a short list of segments, each the term-major (CSC) term-frequency matrix of a batch
of passages added together: adding tokenises only the new passages, removing marks rows dead, and
the newest segments are merged when they grow alike (as in an LSM tree), so each passage is written
a logarithmic number of times. BM25 weights are computed at query time from the frequencies, the
live document frequencies and the live average length, so nothing has to be rebuilt when the
collection changes. The formula is bm25s' default (Lucene) variant, which the tests check.
"""

import json
import math
import os
import time
import uuid
from collections import Counter
from itertools import chain
from pathlib import Path

import numpy as np
from scipy import sparse

from vectorstore.tokenize import WORD_PREFIX, bigram_code, bigram_codes, bigram_text, passage_word_tokens, query_tokens

BM25_K1 = 1.5
BM25_B = 0.75
MANIFEST = "manifest.json"
VOCABULARY = "vocabulary.txt"
FORMAT = 1


class IndexFileError(Exception):
    """A saved index that is missing, unreadable or not the one expected."""


class Segment:
    """Passages added together: their ids, payloads, lengths, live flags and term-major frequency matrix."""

    def __init__(self, ids, payloads, lengths, indptr, rows, tf, name=None) -> None:
        self.ids = list(ids)
        self.payloads = list(payloads)
        self.lengths = np.asarray(lengths, dtype=np.int32)
        self.indptr = np.asarray(indptr, dtype=np.int64)
        self.rows = np.asarray(rows, dtype=np.int32)
        self.tf = np.asarray(tf, dtype=np.uint16)
        self.alive = np.ones(len(self.ids), dtype=bool)
        self.name = name or f"seg-{uuid.uuid4().hex[:12]}"
        self.saved = False

    @property
    def width(self) -> int:
        return len(self.indptr) - 1

    def live_count(self) -> int:
        return int(self.alive.sum())

    def column_counts(self, alive_only: bool = True) -> np.ndarray:
        """How many (live) rows hold each term."""
        if not alive_only or self.alive.all():
            return np.diff(self.indptr)
        cols = np.repeat(np.arange(self.width), np.diff(self.indptr))
        return np.bincount(cols[self.alive[self.rows]], minlength=self.width)

    def row_terms(self, local_rows: np.ndarray) -> np.ndarray:
        """Term ids of the given rows, one entry per (row, term) pair."""
        hit = np.isin(self.rows, local_rows)
        return np.searchsorted(self.indptr, np.flatnonzero(hit), side="right") - 1


def term_matrix(rows: np.ndarray, cols: np.ndarray, height: int, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """indptr, rows and frequencies of the term-major matrix with one count for each (row, term id) pair."""
    matrix = sparse.csc_matrix((np.ones(len(cols), dtype=np.float32), (rows, cols)), shape=(height, width))
    matrix.sum_duplicates()
    return matrix.indptr, matrix.indices, matrix.data


def live_part(segment: Segment, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The live rows of a segment, renumbered from 0, as (indptr over `width` terms, rows, frequencies, kept rows)."""
    if segment.alive.all():  # the common case while ingesting: nothing to drop or renumber
        indptr = np.concatenate([segment.indptr, np.full(width - segment.width, segment.indptr[-1])])
        return indptr, segment.rows, segment.tf, np.arange(len(segment.ids))
    live = np.flatnonzero(segment.alive)
    keep = segment.alive[segment.rows]
    columns = np.repeat(np.arange(segment.width, dtype=np.int64), np.diff(segment.indptr))
    counts = np.bincount(columns[keep], minlength=width)
    renumber = np.cumsum(segment.alive, dtype=np.int64) - 1
    indptr = np.concatenate([[0], np.cumsum(counts)])
    return indptr, renumber[segment.rows[keep]].astype(np.int32), segment.tf[keep], live


def merge_segments(first: Segment, second: Segment, width: int) -> Segment:
    """One segment holding the live rows of two, in order (columns interleaved without sorting).

    In each column of the merged matrix the first segment's entries come before the second's, so an
    entry of the first moves by the second's entries in earlier columns, and one of the second by
    the first's entries up to and including its column.
    """
    indptr_a, rows_a, tf_a, live_a = live_part(first, width)
    indptr_b, rows_b, tf_b, live_b = live_part(second, width)
    size = len(rows_a) + len(rows_b)
    rows, tf = np.empty(size, dtype=np.int32), np.empty(size, dtype=first.tf.dtype)
    places_a = np.arange(len(rows_a), dtype=np.int64) + np.repeat(indptr_b[:-1], np.diff(indptr_a))
    places_b = np.arange(len(rows_b), dtype=np.int64) + np.repeat(indptr_a[1:], np.diff(indptr_b))
    rows[places_a], tf[places_a] = rows_a, tf_a
    rows[places_b], tf[places_b] = rows_b + len(live_a), tf_b
    if len(live_a) == len(first.ids) and len(live_b) == len(second.ids):
        ids, payloads = first.ids + second.ids, first.payloads + second.payloads
    else:
        ids = [first.ids[i] for i in live_a] + [second.ids[i] for i in live_b]
        payloads = [first.payloads[i] for i in live_a] + [second.payloads[i] for i in live_b]
    lengths = np.concatenate([first.lengths[live_a], second.lengths[live_b]])
    return Segment(ids, payloads, lengths, indptr_a + indptr_b, rows, tf)


def sorted_by_code(codes: np.ndarray, terms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bigram codes and their term ids, in the order of the codes (for searchsorted)."""
    order = np.argsort(codes, kind="stable")
    return codes[order], terms[order]


class Vocabulary(dict):
    """Token → term id. Subscripting with a new token gives it the next id (lookups that must not add use `in` or get)."""

    def __init__(self, terms: list[str] = ()) -> None:
        super().__init__((token, term) for term, token in enumerate(terms))
        self.terms = list(terms)

    def __missing__(self, token: str) -> int:
        term = self[token] = len(self.terms)
        self.terms.append(token)
        return term


class LexicalIndex:
    """A BM25 index over passage ids that grows and shrinks in place; each passage may carry a payload."""

    def __init__(self) -> None:
        self.vocabulary = Vocabulary()
        self._grams: tuple[np.ndarray, np.ndarray] | None = None
        self._saved_terms = 0
        self._saved_bytes = 0
        self.document_counts = np.zeros(0, dtype=np.int64)
        self.segments: list[Segment] = []
        self._where: dict[str, tuple[Segment, int]] = {}
        self._total_length = 0
        self._ids: list[str] | None = None
        self.stats = {"chars": 0, "seconds": 0.0}

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, passage_id: str) -> bool:
        return passage_id in self._where

    @property
    def ids(self) -> list[str]:
        """The indexed passage ids, oldest first."""
        if self._ids is None:
            self._ids = [pid for s in self.segments for pid, live in zip(s.ids, s.alive) if live]
        return self._ids

    def payloads(self):
        """(passage id, payload) of every indexed passage."""
        for segment in self.segments:
            for pid, payload, live in zip(segment.ids, segment.payloads, segment.alive):
                if live:
                    yield pid, payload

    def add(self, ids: list[str], texts: list[str], payloads: list | None = None) -> None:
        """Index new passages (ids already indexed are replaced)."""
        self.remove([pid for pid in ids if pid in self._where])
        if not ids:
            return
        began = time.perf_counter()
        words = [passage_word_tokens(text) for text in texts]
        word_counts = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
        gram_cols, gram_rows = self._gram_term_ids(texts)
        rows = np.concatenate([np.repeat(np.arange(len(texts)), word_counts), gram_rows])
        cols = np.concatenate([self._term_ids(list(chain.from_iterable(words))), gram_cols])
        lengths = word_counts + np.bincount(gram_rows, minlength=len(texts))
        indptr, rows, tf = term_matrix(rows, cols, len(texts), len(self.vocabulary))
        self._grow_counts()
        self.document_counts[: len(indptr) - 1] += np.diff(indptr)
        segment = Segment(ids, payloads or [None] * len(ids), lengths, indptr, rows, tf)
        self._total_length += int(lengths.sum())
        self._append(segment)
        self.stats["chars"] += sum(map(len, texts))
        self.stats["seconds"] += time.perf_counter() - began

    def _gram_term_ids(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Term ids of the texts' CJK bigrams and the text each stands in, found by their codes (see bigram_codes)."""
        codes, rows = bigram_codes(texts)
        known_codes, known_terms = self._known_bigrams()
        distinct, which = np.unique(codes, return_inverse=True)
        places = np.searchsorted(known_codes, distinct)
        found = places < len(known_codes)
        found[found] = known_codes[places[found]] == distinct[found]
        terms = np.empty(len(distinct), dtype=np.int64)
        terms[found] = known_terms[places[found]]
        new = np.flatnonzero(~found)
        if len(new):
            terms[new] = [self.vocabulary[bigram_text(code)] for code in distinct[new].tolist()]
            self._grams = sorted_by_code(np.concatenate([known_codes, distinct[new]]), np.concatenate([known_terms, terms[new]]))
        return terms[which.ravel()], rows

    def _known_bigrams(self) -> tuple[np.ndarray, np.ndarray]:
        """Codes and term ids of every bigram in the vocabulary, sorted by code (read from it on the first add)."""
        if self._grams is None:
            known = [(code, term) for term, code in enumerate(map(bigram_code, self.vocabulary.terms)) if code is not None]
            codes, terms = (np.asarray(column, dtype=np.int64) for column in zip(*known)) if known else (np.zeros(0, np.int64),) * 2
            self._grams = sorted_by_code(codes, terms)
        return self._grams

    def _term_ids(self, tokens: list[str]) -> np.ndarray:
        """The term id of each token, new words added to the vocabulary in the order they first come."""
        return np.fromiter(map(self.vocabulary.__getitem__, tokens), dtype=np.int64, count=len(tokens))

    def _grow_counts(self) -> None:
        if len(self.document_counts) < len(self.vocabulary):
            grown = np.zeros(max(len(self.vocabulary), 2 * len(self.document_counts)), dtype=np.int64)
            grown[: len(self.document_counts)] = self.document_counts
            self.document_counts = grown

    def _append(self, segment: Segment) -> None:
        self.segments.append(segment)
        self._ids = None
        for row, pid in enumerate(segment.ids):
            self._where[pid] = (segment, row)
        while len(self.segments) >= 2 and self.segments[-1].live_count() * 2 >= self.segments[-2].live_count():
            second, first = self.segments.pop(), self.segments.pop()
            merged = merge_segments(first, second, len(self.vocabulary))
            self.segments.append(merged)
            for row, pid in enumerate(merged.ids):
                self._where[pid] = (merged, row)

    def remove(self, ids) -> None:
        """Drop passages from the index (unknown ids are ignored)."""
        by_segment: dict[int, tuple[Segment, list[int]]] = {}
        for pid in ids:
            found = self._where.pop(pid, None)
            if found:
                by_segment.setdefault(id(found[0]), (found[0], []))[1].append(found[1])
        for segment, rows in by_segment.values():
            local = np.asarray(rows, dtype=np.int32)
            np.subtract.at(self.document_counts, segment.row_terms(local), 1)
            self._total_length -= int(segment.lengths[local].sum())
            segment.alive[local] = False
        if by_segment:
            self._ids = None
            self.segments = [s for s in self.segments if s.alive.any()]

    def term_weights(self, question: str) -> dict[int, float]:
        """Term id → IDF × how often the question holds it, for the question's tokens the index knows."""
        vocabulary = self.vocabulary
        counts = Counter(vocabulary[t] for t in query_tokens(question) if t in vocabulary)
        total = len(self)
        return {
            term: repeat * math.log(1 + (total - self.document_counts[term] + 0.5) / (self.document_counts[term] + 0.5))
            for term, repeat in counts.items()
            if self.document_counts[term] > 0
        }

    def search(self, question: str, k: int, allowed: set[str] | None = None) -> list[tuple[str, float]]:
        """The k best passage ids for a question, with their BM25 scores (positive only; only `allowed` ids when given)."""
        weights = self.term_weights(question)
        if not weights or not len(self) or k <= 0:
            return []
        average = self._total_length / len(self)
        hits: list[tuple[float, str]] = []
        permitted = self._rows_by_segment(allowed) if allowed is not None else None
        for segment in self.segments:
            scores = self._segment_scores(segment, weights, average)
            scores[~segment.alive] = 0.0
            if permitted is not None:
                mask = np.zeros(len(segment.ids), dtype=bool)
                mask[permitted.get(id(segment), [])] = True
                scores[~mask] = 0.0
            top = np.argpartition(-scores, k - 1)[:k] if len(scores) > k else np.arange(len(scores))
            hits += [(float(scores[i]), segment.ids[i]) for i in top if scores[i] > 0]
        hits.sort(key=lambda hit: -hit[0])
        return [(pid, score) for score, pid in hits[:k]]

    def _rows_by_segment(self, allowed: set[str]) -> dict[int, list[int]]:
        rows: dict[int, list[int]] = {}
        for pid in allowed:
            found = self._where.get(pid)
            if found:
                rows.setdefault(id(found[0]), []).append(found[1])
        return rows

    @staticmethod
    def _segment_scores(segment: Segment, weights: dict[int, float], average: float) -> np.ndarray:
        starts, stops, factors = [], [], []
        for term, weight in weights.items():
            if term < segment.width and segment.indptr[term + 1] > segment.indptr[term]:
                starts.append(segment.indptr[term])
                stops.append(segment.indptr[term + 1])
                factors.append(weight)
        if not starts:
            return np.zeros(len(segment.ids))
        rows = np.concatenate([segment.rows[a:b] for a, b in zip(starts, stops)])
        tf = np.concatenate([segment.tf[a:b] for a, b in zip(starts, stops)])
        idf = np.repeat(np.asarray(factors, dtype=np.float32), np.asarray(stops) - np.asarray(starts))
        norm = BM25_K1 * ((1 - BM25_B) + BM25_B * segment.lengths[rows] / average)
        return np.bincount(rows, weights=idf * tf / (tf + norm), minlength=len(segment.ids))

    def idf(self, word: str) -> float:
        """Inverse document frequency of a word among indexed passages (unseen words weigh most)."""
        count = self._count(WORD_PREFIX + word)
        if count == 0 and len(word) == 2:
            count = self._count(word)
        total = max(len(self), 1)
        return math.log(1 + (total - count + 0.5) / (count + 0.5))

    def passages_holding(self, word: str) -> np.ndarray:
        """Where the live passages that hold this word (as a jieba word, else every character bigram of it)
        stand among all passages, sorted: numbers, not ids, so that comparing the passages of two words
        (as an English question's translation does) stays cheap at a million passages."""
        tokens = [WORD_PREFIX + word] if WORD_PREFIX + word in self.vocabulary else [word[i : i + 2] for i in range(len(word) - 1)]
        found: np.ndarray | None = None
        for token in tokens:
            holding = self._positions_holding(self.vocabulary.get(token))
            found = holding if found is None else np.intersect1d(found, holding, assume_unique=True)
        return np.zeros(0, dtype=np.int64) if found is None else found

    def _positions_holding(self, term: int | None) -> np.ndarray:
        """Sorted positions, numbering the rows of all segments in order, of the live rows holding a term."""
        parts, offset = [], 0
        for segment in self.segments:
            if term is not None and term < segment.width:
                rows = segment.rows[segment.indptr[term] : segment.indptr[term + 1]]
                parts.append(np.sort(rows[segment.alive[rows]]).astype(np.int64) + offset)
            offset += len(segment.ids)
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def _count(self, token: str) -> int:
        term = self.vocabulary.get(token)
        return 0 if term is None else int(self.document_counts[term])

    def save(self, folder: Path, stamp: str | None) -> None:
        """Write new segments, new words and dead-row flags, then the manifest naming them (atomically), then drop old files."""
        folder.mkdir(parents=True, exist_ok=True)
        for segment in self.segments:
            if not segment.saved:
                write_segment(folder, segment)
        vocabulary_bytes = self._append_vocabulary(folder / VOCABULARY)
        flags = {s.name: s.alive for s in self.segments if not s.alive.all()}
        alive_name = None
        if flags:
            alive_name = f"alive-{uuid.uuid4().hex[:12]}.npz"
            with open(folder / alive_name, "wb") as handle:
                np.savez(handle, **flags)
                handle.flush()
                os.fsync(handle.fileno())
        manifest = {
            "format": FORMAT,
            "stamp": stamp,
            "passages": len(self),
            "segments": [s.name for s in self.segments],
            "alive": alive_name,
            "vocabulary_terms": len(self.vocabulary),
            "vocabulary_bytes": vocabulary_bytes,
        }
        write_atomically(folder / MANIFEST, json.dumps(manifest))
        keep = {MANIFEST, VOCABULARY, alive_name} | {f"{s.name}{ext}" for s in self.segments for ext in (".npz", ".json")}
        for path in folder.iterdir():
            if path.name not in keep:
                path.unlink(missing_ok=True)

    def _append_vocabulary(self, path: Path) -> int:
        """Append the words added since the last save to the word list (one per line); its size in bytes."""
        new = self.vocabulary.terms[self._saved_terms :]
        with open(path, "ab") as handle:
            handle.truncate(self._saved_bytes)
            handle.seek(self._saved_bytes)
            if new:
                handle.write(("\n".join(new) + "\n").encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
            self._saved_bytes = handle.tell()
        self._saved_terms = len(self.vocabulary)
        return self._saved_bytes

    @classmethod
    def load(cls, folder: Path) -> tuple["LexicalIndex", dict]:
        """A saved index and its manifest; IndexFileError when it is missing or damaged."""
        try:
            manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
            if manifest.get("format") != FORMAT:
                raise IndexFileError(f"unknown index format {manifest.get('format')}")
            index = cls()
            with open(folder / VOCABULARY, "rb") as handle:
                words = handle.read(manifest["vocabulary_bytes"]).decode("utf-8").split("\n")[:-1]
            if len(words) != manifest["vocabulary_terms"]:
                raise IndexFileError(f"{folder}: the word list is shorter than the manifest says")
            index.vocabulary = Vocabulary(words)
            index._saved_terms, index._saved_bytes = len(words), manifest["vocabulary_bytes"]
            index.document_counts = np.zeros(len(words), dtype=np.int64)
            flags = np.load(folder / manifest["alive"]) if manifest["alive"] else {}
            for name in manifest["segments"]:
                segment = read_segment(folder, name)
                if name in flags:
                    segment.alive = flags[name].copy()
                index._adopt(segment)
        except IndexFileError:
            raise
        except Exception as error:  # noqa: BLE001 - a damaged file fails in many ways (zip, JSON, shapes)
            raise IndexFileError(f"{folder}: {error}") from error
        if len(index) != manifest["passages"] or any(s.width > len(words) for s in index.segments):
            raise IndexFileError(f"{folder}: the saved index does not add up")
        return index, manifest

    def _adopt(self, segment: Segment) -> None:
        self.segments.append(segment)
        self.document_counts[: segment.width] += segment.column_counts()
        self._total_length += int(segment.lengths[segment.alive].sum())
        for row, (pid, live) in enumerate(zip(segment.ids, segment.alive)):
            if live:
                self._where[pid] = (segment, row)


def write_segment(folder: Path, segment: Segment) -> None:
    """One segment as an .npz of its arrays and a .json of its ids and payloads."""
    arrays = {"lengths": segment.lengths, "indptr": segment.indptr, "rows": segment.rows, "tf": segment.tf}
    with open(folder / f"{segment.name}.npz", "wb") as handle:
        np.savez(handle, **arrays)
        handle.flush()
        os.fsync(handle.fileno())
    write_atomically(folder / f"{segment.name}.json", json.dumps([segment.ids, segment.payloads], ensure_ascii=False))
    segment.saved = True


def read_segment(folder: Path, name: str) -> Segment:
    """A segment written by write_segment."""
    ids, payloads = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
    with np.load(folder / f"{name}.npz") as arrays:
        segment = Segment(ids, payloads, arrays["lengths"], arrays["indptr"], arrays["rows"], arrays["tf"], name=name)
    if not (len(segment.ids) == len(segment.payloads) == len(segment.lengths)) or len(segment.rows) != segment.indptr[-1]:
        raise ValueError(f"segment {name} is inconsistent")
    segment.saved = True
    return segment


def write_atomically(path: Path, text: str) -> None:
    """Write a file so that a crash leaves either the old or the new content, never a part."""
    temporary = path.with_name(f"{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
