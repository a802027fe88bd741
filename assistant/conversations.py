"""Conversations kept on the server: each owner's questions and answers in SQLite, so a follow-up needs only the id."""

import json
import re
import sqlite3
import uuid
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

# A conversation's title: the start of its first question.
TITLE_CHARS = 40
ID_PATTERN = re.compile(r"[0-9a-f]{32}")
SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    title TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    turns INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS conversations_by_owner ON conversations (owner, updated_at);
CREATE TABLE IF NOT EXISTS turns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    time TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS turns_by_conversation ON turns (conversation_id, id);
"""


class ConversationNotFound(KeyError):
    """No conversation of this id belongs to the caller (whether it exists for someone else is not said)."""


def now() -> str:
    """The current time as the store writes it (UTC, seconds)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def title_of(question: str) -> str:
    """A conversation's title: its first question, cut to TITLE_CHARS characters."""
    question = " ".join(question.split())
    return question if len(question) <= TITLE_CHARS else question[: TITLE_CHARS - 1] + "…"


class ConversationStore:
    """Conversations in one SQLite file; each call opens its own connection, so threads may share the store."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=10)
        connection.row_factory = sqlite3.Row
        connection.execute("PRAGMA foreign_keys = ON")
        connection.executescript(SCHEMA)
        return connection

    def record(self, owner: str, conversation_id: str | None, question: str, answer: dict) -> str:
        """Add a turn (the question and its answer as JSON) to the owner's conversation, or to a new one; its id.

        Raises ConversationNotFound when the id is not one of the owner's conversations.
        """
        time = now()
        with closing(self._connect()) as connection, connection:
            if conversation_id is None:
                conversation_id = uuid.uuid4().hex
                connection.execute(
                    "INSERT INTO conversations (id, owner, title, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                    (conversation_id, owner, title_of(question), time, time),
                )
            self._owned(connection, owner, conversation_id)
            connection.execute(
                "INSERT INTO turns (conversation_id, time, question, answer) VALUES (?, ?, ?, ?)",
                (conversation_id, time, question, json.dumps(answer, ensure_ascii=False)),
            )
            connection.execute(
                "UPDATE conversations SET turns = turns + 1, updated_at = ? WHERE id = ?", (time, conversation_id)
            )
        return conversation_id

    @staticmethod
    def _owned(connection: sqlite3.Connection, owner: str, conversation_id: str) -> sqlite3.Row:
        """The conversation's row when the owner has it; ConversationNotFound otherwise."""
        row = None
        if isinstance(conversation_id, str) and ID_PATTERN.fullmatch(conversation_id):
            row = connection.execute(
                "SELECT id, title, created_at, updated_at, turns AS turn_count FROM conversations WHERE id = ? AND owner = ?",
                (conversation_id, owner),
            ).fetchone()
        if row is None:
            raise ConversationNotFound(conversation_id)
        return row

    def list_for(self, owner: str, limit: int = 200) -> list[dict]:
        """The owner's conversations, the most recently continued first: id, title, times and turn count."""
        with closing(self._connect()) as connection:
            rows = connection.execute(
                "SELECT id, title, created_at, updated_at, turns AS turn_count FROM conversations WHERE owner = ?"
                " ORDER BY updated_at DESC, rowid DESC LIMIT ?",
                (owner, limit),
            ).fetchall()
        return [dict(row) for row in rows]

    def get(self, owner: str, conversation_id: str, last: int | None = None) -> dict:
        """One of the owner's conversations with its turns (the `last` ones only when given), oldest first."""
        with closing(self._connect()) as connection:
            row = dict(self._owned(connection, owner, conversation_id))
            turns = self._turns(connection, conversation_id, last)
        return {**row, "turns": turns}

    @staticmethod
    def _turns(connection: sqlite3.Connection, conversation_id: str, last: int | None) -> list[dict]:
        """A conversation's turns (the last `last` of them), oldest first, each answer parsed back from JSON."""
        query = "SELECT time, question, answer FROM turns WHERE conversation_id = ? ORDER BY id DESC"
        rows = connection.execute(query + (" LIMIT ?" if last is not None else ""), (conversation_id, last) if last is not None else (conversation_id,))
        return [{"time": r["time"], "question": r["question"], "answer": json.loads(r["answer"])} for r in reversed(rows.fetchall())]

    def history(self, owner: str, conversation_id: str, turns: int) -> list[dict]:
        """The last `turns` turns as {"role", "content"} messages for a follow-up; older turns are left out of the search."""
        messages = []
        for turn in self.get(owner, conversation_id, last=turns)["turns"]:
            messages += [{"role": "user", "content": turn["question"]}, {"role": "assistant", "content": turn["answer"].get("answer", "")}]
        return messages

    def remove(self, owner: str, conversation_id: str) -> int:
        """Delete one of the owner's conversations with its turns; how many turns it had."""
        with closing(self._connect()) as connection, connection:
            row = self._owned(connection, owner, conversation_id)
            connection.execute("DELETE FROM turns WHERE conversation_id = ?", (conversation_id,))
            connection.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))
        return int(row["turn_count"])
