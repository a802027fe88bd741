"""Knowledge bases: one installation, several departments' document collections that never mix.

Each base has its own Chroma passage collection (`<POLICYQA_COLLECTION>.kb.<name>-<model>`, beside
its state, text and correction collections) and its own folder `kbs/<name>/` under the data directory
(lexical index, stored texts, ingest manifest, curated answers): a search of one base reads only its
own collection and index, so no filter can let another base's passage through. The store made before
knowledge bases existed is the base `default` where it stands (collection `<POLICYQA_COLLECTION>-<model>`,
the data directory itself): registering it on first start moves and rewrites nothing.

A question asked of several bases is answered in each and the strongest answer is given; the other
bases' cited passages follow it under `related` (scores of different bases' indexes are not comparable,
so their passages are not fused into one ranking).
"""

import logging
import re
import shutil
import sqlite3
import threading
from contextlib import closing
from dataclasses import replace
from datetime import date, datetime, timezone
from pathlib import Path

from assistant.answer import Answer, Reply
from vectorstore.chroma import StoreWriteError

log = logging.getLogger(__name__)

DEFAULT = "default"
REGISTRY_FILE = "kbs.sqlite3"
BASES_DIR = "kbs"
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_]{0,31}")


class BaseNameError(ValueError):
    """A knowledge base name that is not allowed; the message says what to write instead."""


class UnknownBase(LookupError):
    """No knowledge base of that name."""


def checked_name(name: str) -> str:
    """A knowledge base name as given, when it is one (lower-case letters, digits, underscores); else BaseNameError."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise BaseNameError(
            "知识库名称只能由小写字母、数字和下划线组成（1–32 个字符，以字母或数字开头），如 zzb、rst_2025"
            f"（收到：{str(name)[:60]!r}）"
        )
    return name


def named_bases(value) -> list[str]:
    """The base names in a request: a name, "A,B", or a list of names; each checked, order kept, no repeats."""
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    return list(dict.fromkeys(checked_name(item.strip()) for item in items if str(item).strip()))


def answer_strength(answer: Answer) -> tuple:
    """How well an answer is supported, to choose among bases: answered first, then word coverage, then similarity."""
    return (not answer.refused, answer.evidence, answer.similarity)


def merged(replies: list[Reply]) -> Reply:
    """One reply from each base's: the strongest answer, the others' cited and related passages after its own related."""
    best = max(replies, key=lambda r: answer_strength(r.answer))
    others = [r for r in replies if r is not best]
    extra = [c for r in others for c in (*r.answer.citations, *r.answer.related)]
    start = len(best.answer.citations) + len(best.answer.related)
    related = (*best.answer.related, *(replace(c, n=start + i + 1) for i, c in enumerate(extra)))
    passages = tuple(p for r in (best, *others) for p in r.passages)
    return Reply(replace(best.answer, related=related), passages)


class KnowledgeBases:
    """The registry of knowledge bases and one assistant service per base, built when first used."""

    def __init__(self, settings, build) -> None:
        self.settings = settings
        self.root = Path(settings.data_dir)
        self.root.mkdir(parents=True, exist_ok=True)
        self._build = build  # assistant.build.create_service
        self._services: dict[str, object] = {}
        self._lock = threading.RLock()
        self._embeddings = None
        self._client = None
        self._path = self.root / REGISTRY_FILE
        if not self._registered():
            try:
                self._register_default()
            except StoreWriteError as error:  # a read-only store made before bases existed still answers, as `default`
                log.warning("知识库登记表无法写入，只提供 default：%s", error)

    def _registered(self) -> bool:
        """Whether the registry exists and holds `default` (read only: a read-only store still answers)."""
        if not self._path.exists():
            return False
        with closing(sqlite3.connect(f"file:{self._path}?mode=ro", uri=True, timeout=30)) as db:
            try:
                return db.execute("SELECT 1 FROM bases WHERE name = ?", (DEFAULT,)).fetchone() is not None
            except sqlite3.OperationalError:
                return False

    def _register_default(self) -> None:
        """Make the registry and register the store found in the data directory (or a new empty one) as `default`."""
        from vectorstore.chroma import translated_errors

        with translated_errors(self.settings.chroma_url, self.root), closing(self._connect()) as db, db:
            db.execute("CREATE TABLE IF NOT EXISTS bases (name TEXT PRIMARY KEY, title TEXT NOT NULL, created_at TEXT NOT NULL)")
            db.execute(
                "INSERT OR IGNORE INTO bases VALUES (?, ?, ?)", (DEFAULT, "默认知识库", datetime.now(timezone.utc).isoformat(timespec="seconds"))
            )
        if (self.root / "chroma").exists():
            log.warning("已将现有知识库登记为 %s（文档与向量原地保留，未移动）", DEFAULT)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self._path, timeout=30)

    def _rows(self, sql: str, values=()) -> list[tuple]:
        """Rows of the registry, read only; only `default` when the registry could not be made (a read-only store)."""
        if not self._path.exists():
            return [(DEFAULT, "默认知识库", "")]
        with closing(sqlite3.connect(f"file:{self._path}?mode=ro", uri=True, timeout=30)) as db:
            return db.execute(sql, values).fetchall()

    @classmethod
    def around(cls, service, build) -> "KnowledgeBases":
        """The bases of the installation whose `default` base is this service, already built."""
        bases = cls(service.settings, build)
        bases._services[DEFAULT] = service
        bases._embeddings, bases._client = service.store.vectors.embeddings, service.store.client
        return bases

    # The registry

    def names(self) -> list[str]:
        """Every base's name, `default` first."""
        return [r[0] for r in self._rows("SELECT name, title, created_at FROM bases ORDER BY name != ?, name", (DEFAULT,))]

    def titles(self) -> dict[str, str]:
        """Every base's title by name."""
        return {r[0]: r[1] for r in self._rows("SELECT name, title, created_at FROM bases")}

    def exists(self, name: str) -> bool:
        """Whether a base of this name is registered."""
        return name in self.names()

    def listing(self) -> list[dict]:
        """Every base with its title, creation time, and its documents and passages."""
        rows = self._rows("SELECT name, title, created_at FROM bases ORDER BY name != ?, name", (DEFAULT,))
        listed = []
        for name, title, created in rows:
            service = self.service(name)
            listed.append({"name": name, "title": title, "created_at": created, "documents": len(service.store.doc_ids()),
                           "passages": len(service.store)})
        return listed

    def create(self, name: str, title: str | None = None) -> dict:
        """Register a new empty base; raises BaseNameError for a bad name, FileExistsError for one taken."""
        checked_name(name)
        with closing(self._connect()) as db, db:
            try:
                db.execute("INSERT INTO bases VALUES (?, ?, ?)", (name, title or name, datetime.now(timezone.utc).isoformat(timespec="seconds")))
            except sqlite3.IntegrityError:
                raise FileExistsError(name) from None
        return next(b for b in self.listing() if b["name"] == name)

    def remove(self, name: str) -> int:
        """Delete a base with all its documents (not `default`); returns how many documents went."""
        checked_name(name)
        if name == DEFAULT:
            raise BaseNameError("默认知识库 default 不能删除（可删除其中的文档）")
        if not self.exists(name):
            raise UnknownBase(name)
        with self._lock:
            service = self.service(name)
            documents = len(service.store.doc_ids())
            prefix = self.settings_for(name).collection
            client = self._chroma()
            for listed in client.list_collections():
                collection = listed if isinstance(listed, str) else listed.name
                if collection.startswith(prefix + "-"):
                    client.delete_collection(collection)
            self._services.pop(name, None)
            with closing(self._connect()) as db, db:
                db.execute("DELETE FROM bases WHERE name = ?", (name,))
            shutil.rmtree(self.root / BASES_DIR / name, ignore_errors=True)
        return documents

    # The services

    def settings_for(self, name: str):
        """The settings of one base: its own folder and collection name; the bundled sample only for `default`."""
        if name == DEFAULT:
            return self.settings
        return self.settings.model_copy(update={
            "data_dir": self.root / BASES_DIR / checked_name(name), "collection": f"{self.settings.collection}.kb.{name}",
            "ingest_sample_when_empty": False,
        })

    def _chroma(self):
        """The one Chroma client every base's collections live in."""
        if self._client is None:
            from vectorstore.chroma import chroma_client, translated_errors

            with translated_errors(self.settings.chroma_url, self.root):
                self._client = chroma_client(self.settings)
        return self._client

    def service(self, name: str):
        """The assistant service of one registered base (the embedding model loaded once for all); UnknownBase otherwise."""
        with self._lock:
            found = self._services.get(name)
            if found is not None:
                return found
            if not self.exists(name):
                raise UnknownBase(name)
            service = self._build(self.settings_for(name), embeddings=self._embeddings, client=self._chroma(), name=name)
            self._embeddings = self._embeddings or service.store.vectors.embeddings
            self._services[name] = service
            return service

    def default(self):
        """The service of the base `default`."""
        return self.service(DEFAULT)

    def ensure_sample(self):
        """Ingest the bundled sample into an empty `default` base (as the settings allow)."""
        return self.default().ensure_sample()

    # Asking across bases

    def reply(self, names: list[str], question: str, doc_ids=None, filters=None, history=None, as_of: date | None = None) -> Reply:
        """The answer from these bases (each searched in its own collection and index) and the passages behind it."""
        return merged([self.service(n).reply(question, doc_ids, filters, history, as_of) for n in names])

    def ask(
        self, names: list[str], question: str, doc_ids=None, filters=None, history=None, as_of: date | None = None, suggest: bool = True
    ) -> Answer:
        """The answer to a question from these bases, with suggestions from the base that answered (unless not wanted)."""
        answer = self.reply(names, question, doc_ids, filters, history, as_of).answer
        if not suggest:
            return answer
        base = answering_base(answer, names)
        return replace(answer, suggestions=self.service(base).suggest(answer, doc_ids, filters, history, as_of))

    def search(self, names: list[str], query: str, k: int = 8, doc_ids=None, filters=None, as_of: date | None = None) -> list:
        """The passages retrieved for a query in each of these bases, each marked with its base, best fused score first."""
        found = [d for n in names for d in self.service(n).search(query, k, doc_ids, filters, as_of)]
        return sorted(found, key=lambda d: -(d.metadata.get("score") or 0.0))[:k] if len(names) > 1 else found

    def documents(self, names: list[str], as_of: date | None = None) -> list[dict]:
        """The documents of these bases, each with its base's name under `kb`."""
        return [d for n in names for d in self.service(n).documents(as_of=as_of)]

    def converse(self, names: list[str], question: str, owner: str, conversation_id=None, doc_ids=None, filters=None, as_of=None):
        """Answer as a turn of the owner's saved conversation (kept under the data directory for every base)."""
        from assistant.questions import clean_question

        store = self.default().conversations()
        history = store.history(owner, conversation_id, self.settings.conversation_turns) if conversation_id else None
        answer = self.ask(names, question, doc_ids, filters, history, as_of)
        return answer, store.record(owner, conversation_id, clean_question(question), answer.to_dict())


def answering_base(answer: Answer, names: list[str]) -> str:
    """The base an answer was composed in: its first citation's, else (declined) the first asked."""
    cited = [c.kb for c in (*answer.citations, *answer.related) if c.kb]
    return cited[0] if cited else names[0]
