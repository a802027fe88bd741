"""Curated answers (FAQ): an editor's standard wording for a question, every 「quote」 in it checked against the documents.

An entry keeps its question's embedding, so a user's question that means the same is answered with it;
the entry's citations are the stored passages its quotes stand in. An entry whose cited document is
removed or repealed is flagged for review and no longer served.
"""

import json
import os
import re
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

QUOTE = re.compile(r"「([^「」]+)」")
ELLIPSIS = re.compile(r"……|…|\.{3,}|⋯+")
# Commas and the like are written half- or full-width in the same document; a quote matches either.
WIDTH = str.maketrans(",;:?!()", "，；：？！（）")
NO_QUOTE_NOTICE = "（此标准答案未引用政策文件原文，请以文件为准。）"
# SQLite's file header, up to and including its file change counter.
SQLITE_HEADER = 28
SCHEMA = """
CREATE TABLE IF NOT EXISTS faq (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL DEFAULT '',
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    citations TEXT NOT NULL,
    model TEXT NOT NULL,
    vector TEXT NOT NULL,
    review TEXT NOT NULL DEFAULT ''
)
"""


class QuoteNotFound(ValueError):
    """A curated answer quotes words that no stored document holds."""

    def __init__(self, quote: str) -> None:
        super().__init__(
            f"引文「{quote}」在知识库的文件中找不到：标准答案中「」内的文字须逐字摘自已导入的文件（中间可用……省略）"
        )
        self.quote = quote


@dataclass(frozen=True)
class FaqEntry:
    """One curated answer: the standard question, the answer's text with [n] markers, its citations as dicts."""

    id: int
    question: str
    answer: str
    citations: tuple[dict, ...]
    created_at: str
    created_by: str
    review: str
    model: str
    vector: tuple[float, ...]

    def to_dict(self) -> dict:
        """The entry as the API lists it."""
        return {
            "id": self.id, "question": self.question, "answer": self.answer, "citations": list(self.citations),
            "created_at": self.created_at, "created_by": self.created_by,
            "needs_review": bool(self.review), "review_reason": self.review,
        }

    def cited_documents(self) -> set[str]:
        """The documents the entry's quotes stand in."""
        return {c["doc_id"] for c in self.citations}


def quotes_in(answer: str) -> list[str]:
    """The 「quoted」 spans of a curated answer, in order."""
    return [q.strip() for q in QUOTE.findall(answer) if q.strip()]


def normalised(text: str) -> tuple[str, list[int]]:
    """The text with spaces dropped and punctuation of one width, and where each kept character stood."""
    kept, where = [], []
    for index, char in enumerate(text):
        if not char.isspace():
            kept.append(char.translate(WIDTH))
            where.append(index)
    return "".join(kept), where


def locate(quote: str, texts: dict[str, str]) -> tuple[str, int, int] | None:
    """The document and span holding a quote (its pieces in order, where …… leaves words out), or None."""
    pieces = [normalised(p)[0] for p in ELLIPSIS.split(quote)]
    pieces = [p for p in pieces if p]
    if not pieces:
        return None
    for doc_id, text in texts.items():
        flat, where = normalised(text)
        start = flat.find(pieces[0])
        while start >= 0:
            end = start + len(pieces[0])
            for piece in pieces[1:]:
                found = flat.find(piece, end)
                if found < 0:
                    break
                end = found + len(piece)
            else:
                return doc_id, where[start], where[end - 1] + 1
            start = flat.find(pieces[0], start + 1)
    return None


def marked(answer: str, quotes: list[str]) -> str:
    """The answer with a [n] marker after the n-th 「quote」, so the page links each to its citation."""
    count = iter(range(1, len(quotes) + 1))
    return QUOTE.sub(lambda m: f"{m.group(0)}[{next(count)}]" if m.group(1).strip() else m.group(0), answer)


class FaqStore:
    """Curated answers in one SQLite file; each call opens its own connection, so threads may share the store."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        # The entries as last read, and the file's version (`_version`) when they were: every question asks
        # for them, and reading SQLite again each time cost 1.5 ms, up to 20 ms on a busy disk.
        self._read: tuple[tuple | None, list[FaqEntry]] | None = None

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=10)
        connection.row_factory = sqlite3.Row
        connection.execute(SCHEMA)
        return connection

    def add(self, question: str, answer: str, citations: list[dict], model: str, vector: list[float], user: str = "") -> FaqEntry:
        """Store a checked entry; the entry as stored."""
        created = datetime.now(UTC).isoformat(timespec="seconds")
        with closing(self._connect()) as connection, connection:
            cursor = connection.execute(
                "INSERT INTO faq (created_at, created_by, question, answer, citations, model, vector) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (created, user, question, answer, json.dumps(citations, ensure_ascii=False), model, json.dumps(vector)),
            )
            entry_id = int(cursor.lastrowid)
        return self.get(entry_id)

    def entries(self) -> list[FaqEntry]:
        """Every entry, the newest first (read again only when the file has changed, by any process)."""
        version, cached = self._version(), self._read
        if cached is not None and version is not None and cached[0] == version:
            return list(cached[1])
        with closing(self._connect()) as connection:
            rows = connection.execute("SELECT * FROM faq ORDER BY id DESC").fetchall()
        entries = [entry_of(row) for row in rows]
        self._read = (version, entries)  # the version taken before reading: a change meanwhile is read next time
        return list(entries)

    def _version(self) -> tuple | None:
        """What changes with every committed change, by any process (None when there is no file yet): SQLite's
        file change counter (bytes 24-27 of its header, moved by every commit in its default rollback-journal
        mode, which this store uses), and the file's time and size."""
        try:
            with open(self.path, "rb") as database:
                found = os.fstat(database.fileno())
                header = database.read(SQLITE_HEADER)
        except FileNotFoundError:
            return None
        return header[24:28], found.st_mtime_ns, found.st_size

    def get(self, entry_id: int) -> FaqEntry:
        """One entry; KeyError when there is none of that id."""
        with closing(self._connect()) as connection:
            row = connection.execute("SELECT * FROM faq WHERE id = ?", (entry_id,)).fetchone()
        if row is None:
            raise KeyError(entry_id)
        return entry_of(row)

    def remove(self, entry_id: int) -> None:
        """Delete an entry; KeyError when there is none of that id."""
        with closing(self._connect()) as connection, connection:
            if connection.execute("DELETE FROM faq WHERE id = ?", (entry_id,)).rowcount == 0:
                raise KeyError(entry_id)

    def flag(self, entry_id: int, reason: str) -> None:
        """Mark an entry for review (it is no longer served) and say why."""
        with closing(self._connect()) as connection, connection:
            connection.execute("UPDATE faq SET review = ? WHERE id = ? AND review = ''", (reason, entry_id))

    def revectored(self, entry: FaqEntry, model: str, vector: list[float]) -> None:
        """Keep an entry's question embedded by another model (after a model change)."""
        with closing(self._connect()) as connection, connection:
            connection.execute("UPDATE faq SET model = ?, vector = ? WHERE id = ?", (model, json.dumps(vector), entry.id))


def entry_of(row: sqlite3.Row) -> FaqEntry:
    """An entry from its stored row."""
    return FaqEntry(
        id=row["id"], question=row["question"], answer=row["answer"], citations=tuple(json.loads(row["citations"])),
        created_at=row["created_at"], created_by=row["created_by"], review=row["review"], model=row["model"],
        vector=tuple(json.loads(row["vector"])),
    )


def best_match(asked: np.ndarray, entries: list[FaqEntry]) -> tuple[FaqEntry | None, float]:
    """The entry whose question is most alike the asked one (cosine of normalised embeddings), and how alike."""
    if not entries:
        return None, 0.0
    scores = np.asarray([e.vector for e in entries]) @ asked
    best = int(np.argmax(scores))
    return entries[best], float(scores[best])
