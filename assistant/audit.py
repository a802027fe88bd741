"""The audit log: who asked what, who changed which document, and every refusal of access.

Events go to `audit.sqlite3` under the data directory, appended by one writer thread so that an
answer never waits for the disk: `record` only puts the event in a queue. When the file cannot be
written (a full disk, a read-only folder) the events are held in memory (up to MAX_HELD, the oldest
then dropped and counted) and written when the disk has room again; the answer is given either way.

The table is append-only by SQLite triggers: no event can be changed, and one can be deleted only
once it is older than the prune floor, a date that only moves forward (`POLICYQA_AUDIT_RETENTION_DAYS`).
Whoever can write the file itself can still drop the triggers: they keep the program, not the file's
owner, from rewriting history.
"""

import csv
import io
import json
import logging
import queue
import sqlite3
import threading
import time
from collections import deque
from contextlib import closing
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

log = logging.getLogger(__name__)

AUDIT_FILE = "audit.sqlite3"
EVENT_KEYS = ("time", "user", "client", "kb", "action", "outcome", "question", "doc_ids")
MAX_HELD = 100_000
BATCH = 500
RETRY_SECONDS = 2.0
STOP = object()
PRUNE_EVERY_SECONDS = 24 * 3600
SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT NOT NULL, user TEXT NOT NULL, client TEXT NOT NULL, kb TEXT NOT NULL,
    action TEXT NOT NULL, outcome TEXT NOT NULL, question TEXT NOT NULL, doc_ids TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_time ON events (time);
CREATE TABLE IF NOT EXISTS prune_floor (id INTEGER PRIMARY KEY CHECK (id = 1), before TEXT NOT NULL);
INSERT OR IGNORE INTO prune_floor VALUES (1, '');
CREATE TRIGGER IF NOT EXISTS events_append_only BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_kept_until_pruned BEFORE DELETE ON events
    WHEN old.time >= (SELECT before FROM prune_floor) BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS prune_floor_only_rises BEFORE UPDATE ON prune_floor
    WHEN new.before < old.before BEGIN SELECT RAISE(ABORT, 'the prune floor only moves forward'); END;
CREATE TRIGGER IF NOT EXISTS prune_floor_kept BEFORE DELETE ON prune_floor
    BEGIN SELECT RAISE(ABORT, 'the prune floor cannot be removed'); END;
"""


def timestamp() -> str:
    """The time now in UTC, to the millisecond, ISO 8601 (sorts as text)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def storable(text) -> str:
    """Text as SQLite can store it: None as '', characters UTF-8 cannot encode (lone surrogates) as '?'."""
    return (text or "").encode("utf-8", "replace").decode("utf-8")


class AuditLog:
    """Append-only events in SQLite, written by a background thread; reading goes to the file directly."""

    def __init__(self, folder: Path, retention_days: int = 0, writing: bool = True) -> None:
        self.path = Path(folder) / AUDIT_FILE
        self.retention_days = retention_days
        self._queue: queue.Queue = queue.Queue()
        self._held: deque = deque(maxlen=MAX_HELD)
        self.dropped = 0  # events lost because more than MAX_HELD waited for the disk
        self._failing = False
        self._pruned = 0.0
        self._writer = threading.Thread(target=self._write_forever, name="audit-writer", daemon=True)
        if writing:
            self._writer.start()

    @classmethod
    def reader(cls, folder: Path) -> "AuditLog":
        """The log opened for reading only (no writer thread)."""
        return cls(folder, writing=False)

    def record(self, user: str, client: str, kb: str, action: str, outcome: str, question: str = "", doc_ids=()) -> None:
        """Queue one event (never blocks on the disk); text that cannot be stored (a lone surrogate) is replaced by '?'."""
        fields = (user, client, kb, action, outcome, question, json.dumps(list(doc_ids), ensure_ascii=False))
        self._queue.put((timestamp(), *(storable(f) for f in fields)))

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every event queued so far is written; False when some are still held for want of disk."""
        done = threading.Event()
        self._queue.put(done)
        done.wait(timeout)
        return done.is_set() and not self._held

    def close(self, timeout: float = 10.0) -> bool:
        """Write what is queued and stop the writer thread; later events are not written."""
        written = self.flush(timeout)
        self._queue.put(STOP)
        return written

    # Writing (the writer thread only)

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        db.executescript(SCHEMA)
        self._prune(db)
        return db

    def _prune(self, db: sqlite3.Connection) -> None:
        """Delete the events older than the retention days (at most once a day; never when 0)."""
        self._pruned = time.monotonic()
        if not self.retention_days:
            return
        cutoff = (datetime.now(timezone.utc) - timedelta(days=self.retention_days)).isoformat(timespec="milliseconds")
        with db:
            db.execute("UPDATE prune_floor SET before = max(before, ?)", (cutoff,))
            db.execute("DELETE FROM events WHERE time < ?", (cutoff,))

    def _write_forever(self) -> None:
        db = None
        while True:
            try:
                item = self._queue.get(timeout=RETRY_SECONDS if self._held else None)
            except queue.Empty:
                item = None
            flushes, events, items = [], [], [item, *self._drain()]
            for it in items:
                if isinstance(it, threading.Event):
                    flushes.append(it)
                elif it is not None and it is not STOP:
                    events.append(it)
            self.dropped += max(0, len(self._held) + len(events) - MAX_HELD)
            self._held.extend(events)
            db = self._write_held(db)
            for done in flushes:
                done.set()
            if any(it is STOP for it in items):
                if db is not None:
                    db.close()
                return

    def _drain(self) -> list:
        items = []
        while len(items) < BATCH:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return items

    def _write_held(self, db):
        """Write the held events in one transaction; on failure keep them held and close the connection."""
        if not self._held:
            return db
        rows = list(self._held)
        try:
            db = db or self._open()
            if time.monotonic() - self._pruned > PRUNE_EVERY_SECONDS:  # a server running for months prunes as it goes
                self._prune(db)
            with db:
                db.executemany(
                    "INSERT INTO events (time, user, client, kb, action, outcome, question, doc_ids) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows
                )
            self._held.clear()
            if self._failing:
                log.warning("审计日志已恢复写入 %s：暂存的 %d 条记录已补写", self.path, len(rows))
                self._failing = False
            return db
        except (sqlite3.Error, OSError) as error:
            if not self._failing:  # said once per outage, not at every retry
                log.warning("审计日志暂时无法写入 %s（%s）：记录暂存内存，磁盘恢复后补写", self.path, error)
                self._failing = True
            if db is not None:
                db.close()
            return None
        except Exception:  # noqa: BLE001 - an event SQLite refuses for itself would block the log for good: drop it, say so
            log.exception("审计日志有 %d 条记录无法写入，已丢弃", len(rows))
            self.dropped += len(rows)
            self._held.clear()
            return db

    # Reading

    def events(self, since: date | None = None, user: str | None = None, limit: int | None = None) -> list[dict]:
        """The events, oldest first: from a day on, of one user, at most the last `limit`; each with EVENT_KEYS."""
        if not self.path.exists():
            return []
        where, values = [], []
        if since is not None:
            where.append("time >= ?")
            values.append(since.isoformat())
        if user:
            where.append("user = ?")
            values.append(user)
        sql = "SELECT time, user, client, kb, action, outcome, question, doc_ids FROM events"
        sql += (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        with closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)) as db:
            rows = db.execute(sql, values).fetchall()
        return [dict(zip(EVENT_KEYS, (*row[:7], json.loads(row[7])))) for row in reversed(rows)]


def events_csv(events: list[dict]) -> str:
    """Events as CSV with a header row; cited documents joined by ';'."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EVENT_KEYS)
    for event in events:
        writer.writerow([*(event[k] for k in EVENT_KEYS[:-1]), ";".join(event["doc_ids"])])
    return out.getvalue()


def events_table(events: list[dict]) -> str:
    """Events as aligned text lines for the terminal."""
    lines = []
    for e in events:
        cited = ",".join(e["doc_ids"])
        lines.append("\t".join([e["time"][:19].replace("T", " "), e["user"], e["client"], e["kb"], e["action"], e["outcome"],
                                e["question"][:60], cited]))
    return "\n".join(lines)
