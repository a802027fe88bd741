"""Users and roles: who may ask in, change, and manage which knowledge bases.

A reader asks and searches in its bases, an editor also uploads, corrects and removes documents there,
an admin does all of it in every base and manages bases and users. Users live in `users.sqlite3`
under the data directory; an API key is shown once when made and stored only as its SHA-256 (keys are
random 32-byte tokens, so a fast hash is enough), a page password as a salted scrypt hash.
"""

import hashlib
import hmac
import re
import secrets
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

ROLES = ("reader", "editor", "admin")
ROLE_LABELS = {"reader": "只读", "editor": "编辑", "admin": "管理员"}
USERS_FILE = "users.sqlite3"
KEY_PREFIX = "pqa_"
USER_PATTERN = re.compile(r"[\w.@-]{1,64}")
SCRYPT = {"n": 2**14, "r": 8, "p": 1}


class AccessDenied(Exception):
    """The caller may not do this; the message says so without telling whether the thing asked for exists."""


class UserError(ValueError):
    """A user change that cannot be made (bad name or role, taken name, no such user); the message says why."""


@dataclass(frozen=True)
class Principal:
    """Who is asking: a name for the audit log, a role, and the bases it may use (None: every base)."""

    name: str
    role: str
    kbs: frozenset[str] | None = None
    # "user" (from users.sqlite3), "key" (POLICYQA_API_KEYS / POLICYQA_ADMIN_KEYS), "local" or "cli".
    kind: str = "user"

    @property
    def owner(self) -> str:
        """Whose saved conversations these are: a user by name (kept across new keys), a configured key by its fingerprint."""
        return f"user:{self.name}" if self.kind == "user" else self.name

    def may_read(self, kb: str) -> bool:
        """Whether this caller may ask and search in base `kb`."""
        return self.kbs is None or kb in self.kbs

    def may_write(self, kb: str) -> bool:
        """Whether this caller may upload, correct and remove documents in base `kb`."""
        return self.role in ("editor", "admin") and self.may_read(kb)

    @property
    def may_manage(self) -> bool:
        """Whether this caller may create and remove bases and manage users."""
        return self.role == "admin"


def key_fingerprint(key: str) -> str:
    """The stored form of an API key: its SHA-256, hex."""
    return hashlib.sha256(key.encode()).hexdigest()


def password_hash(password: str, salt: bytes | None = None) -> str:
    """A salted scrypt hash of a password, as 'salt$hash' in hex."""
    salt = salt or secrets.token_bytes(16)
    return salt.hex() + "$" + hashlib.scrypt(password.encode(), salt=salt, **SCRYPT).hex()


def password_matches(password: str, stored: str | None) -> bool:
    """Whether a password is the one hashed in `stored`, compared in constant time."""
    if not stored or "$" not in stored:
        return False
    salt, _ = stored.split("$", 1)
    return hmac.compare_digest(password_hash(password, bytes.fromhex(salt)), stored)


def checked_user(name: str) -> str:
    """A user name as given when it is one (letters, digits, . _ @ -, up to 64); else UserError."""
    if not isinstance(name, str) or not USER_PATTERN.fullmatch(name):
        raise UserError(f"用户名只能由字母、汉字、数字和 . _ @ - 组成（至多 64 个字符）（收到：{str(name)[:60]!r}）")
    return name


def checked_role(role: str) -> str:
    """A role as given when it is one of reader, editor, admin; else UserError."""
    if role not in ROLES:
        raise UserError(f"角色只能是 reader（只读）、editor（编辑）或 admin（管理员）（收到：{role!r}）")
    return role


class UserStore:
    """The installation's users in SQLite: name, role, bases, hashed key and password; every change one transaction."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / USERS_FILE

    def _connect(self) -> sqlite3.Connection:
        """A connection for a change; the file and table are made on the first one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.execute("PRAGMA busy_timeout = 30000")
        db.execute(
            "CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, role TEXT NOT NULL, kbs TEXT NOT NULL,"
            " key_hash TEXT NOT NULL UNIQUE, password_hash TEXT, created_at TEXT NOT NULL)"
        )
        return db

    def _rows(self, sql: str, values=()) -> list[tuple]:
        """The rows of a query, read only ([] before any user was added: a read-only store still answers)."""
        if not self.path.exists():
            return []
        with closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)) as db:
            try:
                return db.execute(sql, values).fetchall()
            except sqlite3.OperationalError:  # the file exists but its table was never made
                return []

    def _changing(self, db: sqlite3.Connection):
        """A write transaction that takes the database's write lock at once (concurrent changes take turns)."""
        db.execute("BEGIN IMMEDIATE")
        return db

    def add(self, name: str, role: str, kbs: list[str], password: str | None = None) -> str:
        """Add a user; returns its new API key (shown once, stored hashed). Raises UserError for a bad or taken name."""
        checked_user(name)
        checked_role(role)
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        row = (name, role, ",".join(kbs), key_fingerprint(key), password_hash(password) if password else None, now())
        with closing(self._connect()) as db:
            self._changing(db)
            try:
                db.execute("INSERT INTO users VALUES (?, ?, ?, ?, ?, ?)", row)
                db.execute("COMMIT")
            except sqlite3.IntegrityError:
                db.execute("ROLLBACK")
                raise UserError(f"用户 {name} 已存在（换一个名字，或用 users key {name} 换发密钥）") from None
        return key

    def remove(self, name: str) -> None:
        """Remove a user: its key and password stop working at once. Raises UserError when there is no such user."""
        with closing(self._connect()) as db:
            self._changing(db)
            gone = db.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount
            db.execute("COMMIT")
        if not gone:
            raise UserError(f"没有用户 {name}")

    def new_key(self, name: str) -> str:
        """A new API key for a user; the old one stops working. Raises UserError when there is no such user."""
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        with closing(self._connect()) as db:
            self._changing(db)
            changed = db.execute("UPDATE users SET key_hash = ? WHERE name = ?", (key_fingerprint(key), name)).rowcount
            db.execute("COMMIT")
        if not changed:
            raise UserError(f"没有用户 {name}")
        return key

    def forget_base(self, kb: str) -> list[str]:
        """Take a removed base out of every user's bases (a new base of that name later is not theirs); who had it."""
        with closing(self._connect()) as db:
            self._changing(db)
            rows = db.execute("SELECT name, kbs FROM users").fetchall()
            had = [(name, [k for k in split(kbs) if k != kb]) for name, kbs in rows if kb in split(kbs)]
            db.executemany("UPDATE users SET kbs = ? WHERE name = ?", [(",".join(kept), name) for name, kept in had])
            db.execute("COMMIT")
        return [name for name, _ in had]

    def list(self) -> list[dict]:
        """Every user: name, role, bases, whether it has a page password, when it was added."""
        rows = self._rows("SELECT name, role, kbs, password_hash IS NOT NULL, created_at FROM users ORDER BY name")
        return [{"name": n, "role": r, "kbs": split(k), "password": bool(p), "created_at": c} for n, r, k, p, c in rows]

    def __bool__(self) -> bool:
        return bool(self._rows("SELECT 1 FROM users LIMIT 1"))

    def by_key(self, key: str) -> Principal | None:
        """The user whose API key this is, or None."""
        rows = self._rows("SELECT name, role, kbs FROM users WHERE key_hash = ?", (key_fingerprint(key),))
        return principal(*rows[0]) if rows else None

    def named(self, name: str) -> Principal | None:
        """The user of this name (a page login's), or None."""
        rows = self._rows("SELECT name, role, kbs FROM users WHERE name = ?", (name,))
        return principal(*rows[0]) if rows else None

    def with_passwords(self) -> bool:
        """Whether some user has a page password (the page then asks for a login)."""
        return bool(self._rows("SELECT 1 FROM users WHERE password_hash IS NOT NULL LIMIT 1"))

    def by_password(self, name: str, password: str) -> Principal | None:
        """The user when this is its page password, else None."""
        rows = self._rows("SELECT name, role, kbs, password_hash FROM users WHERE name = ?", (name,))
        if not rows or not password_matches(password or "", rows[0][3]):
            return None
        return principal(*rows[0][:3])


def principal(name: str, role: str, kbs: str) -> Principal:
    """A stored user as a Principal: an admin may use every base."""
    return Principal(name, role, None if role == "admin" else frozenset(split(kbs)), "user")


def split(value: str) -> list[str]:
    """The items of a stored comma-separated list."""
    return [item for item in value.split(",") if item]


def now() -> str:
    """The time now in UTC, to the second, ISO 8601."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def key_principal(key: str, admin_keys: list[str], read_keys: list[str], users: "UserStore") -> Principal | None:
    """Who an API key belongs to: a configured admin or read key (every base), else a user; None for an unknown key.

    Configured keys are named by their fingerprint, never by the key itself."""
    name = "key:" + key_fingerprint(key)[:24]
    if any(hmac.compare_digest(key.encode(), k.encode()) for k in admin_keys):
        return Principal(name, "admin", None, "key")
    if any(hmac.compare_digest(key.encode(), k.encode()) for k in read_keys):
        return Principal(name, "reader", None, "key")
    return users.by_key(key)
