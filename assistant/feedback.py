"""Readers' feedback on answers (👍/👎 with an optional reason), kept in SQLite for whoever maintains the knowledge base."""

import csv
import io
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

RATINGS = ("up", "down")
COLUMNS = ("id", "created_at", "user", "rating", "reason", "question", "answer", "citations")
SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    user TEXT NOT NULL DEFAULT '',
    rating TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    citations TEXT NOT NULL DEFAULT ''
)
"""


class FeedbackStore:
    """Feedback entries in one SQLite file; each call opens its own connection, so threads may share the store."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=10)
        connection.row_factory = sqlite3.Row
        connection.execute(SCHEMA)
        return connection

    def add(
        self, rating: str, question: str, answer: str, reason: str = "", citations: str = "", user: str = ""
    ) -> int:
        """Record one rating ("up" or "down") of an answer, by a logged-in user where known; returns the entry's id."""
        if rating not in RATINGS:
            raise ValueError(f"rating must be one of {RATINGS}, not {rating!r}")
        created = datetime.now(UTC).isoformat(timespec="seconds")
        with closing(self._connect()) as connection, connection:
            cursor = connection.execute(
                "INSERT INTO feedback (created_at, user, rating, reason, question, answer, citations)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (created, user, rating, reason, question, answer, citations),
            )
            return int(cursor.lastrowid)

    def restore(self, entries: list[dict]) -> int:
        """Add entries exported elsewhere (their time, user, rating, reason, question, answer, citations), each once; how many were new."""
        fields = COLUMNS[1:]
        added = 0
        with closing(self._connect()) as connection, connection:
            for entry in entries:
                values = tuple(str(entry.get(f, "")) for f in fields)
                known = connection.execute(
                    f"SELECT 1 FROM feedback WHERE {' AND '.join(f'{f} = ?' for f in fields)}", values
                ).fetchone()
                if known is None:
                    connection.execute(f"INSERT INTO feedback ({', '.join(fields)}) VALUES ({', '.join('?' * len(fields))})", values)
                    added += 1
        return added

    def set_reason(self, entry_id: int, reason: str) -> None:
        """Attach the reader's reason to an entry given a moment before."""
        with closing(self._connect()) as connection, connection:
            connection.execute("UPDATE feedback SET reason = ? WHERE id = ?", (reason, entry_id))

    def list(self, limit: int | None = None) -> list[dict]:
        """The entries, newest first."""
        query = f"SELECT {', '.join(COLUMNS)} FROM feedback ORDER BY id DESC"
        with closing(self._connect()) as connection:
            rows = connection.execute(query + (" LIMIT ?" if limit else ""), (limit,) if limit else ()).fetchall()
        return [dict(row) for row in rows]

    def export_csv(self) -> str:
        """All entries as CSV text (UTF-8 with a BOM when written, so Excel reads the Chinese)."""
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(reversed(self.list()))
        return buffer.getvalue()
