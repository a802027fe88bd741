"""The gate every caller passes (command line, REST API, OpenAI-compatible API, the page): which knowledge bases the
caller may use for what, and one audit event for each ask, search, upload, removal, login and refusal.

A refusal never tells whether the base or document asked for exists: a base the caller may not use is
refused the same way whether it is there or not.
"""

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from assistant.access import AccessDenied, Principal, UserStore
from assistant.audit import AuditLog
from assistant.bases import DEFAULT, BaseNameError, KnowledgeBases, UnknownBase, checked_name, named_bases

# The local operator at the command line, and a caller on this machine when no key or user is configured.
LOCAL_ADMIN = Principal("local", "admin", None, "local")


@dataclass(frozen=True)
class Actor:
    """Who does something and from where (an address, or "cli")."""

    principal: Principal
    client: str = ""


def cited_documents(answer) -> list[str]:
    """The ids of the documents an answer cites, in order, no repeats."""
    return list(dict.fromkeys(c.doc_id for c in answer.citations))


class Gate:
    """Access rules and the audit log over the knowledge bases."""

    def __init__(self, bases: KnowledgeBases, users: UserStore, audit: AuditLog) -> None:
        self.bases, self.users, self.audit = bases, users, audit

    @classmethod
    def open(cls, bases: KnowledgeBases) -> "Gate":
        """The gate over these bases, with the users and audit log under the same data directory."""
        settings = bases.settings
        return cls(bases, UserStore(Path(settings.data_dir)), AuditLog(Path(settings.data_dir), settings.audit_retention_days))

    def record(self, actor: Actor, kb: str, action: str, outcome: str, question: str = "", doc_ids=()) -> None:
        """One audit event by this actor."""
        self.audit.record(actor.principal.name, actor.client, kb, action, outcome, question, doc_ids)

    def refuse(self, actor: Actor, kb: str, action: str, reason: str, question: str = "") -> AccessDenied:
        """Record a refusal of access and return the error to raise."""
        self.record(actor, kb, action, f"denied: {reason}", question)
        return AccessDenied(reason)

    # Which bases

    def readable(self, actor: Actor, asked, action: str, question: str = "") -> list[str]:
        """The bases to read: those asked for (each must be the caller's), else every base the caller may read."""
        principal = actor.principal
        try:
            names = named_bases(asked) if asked else []
        except BaseNameError as error:
            self.record(actor, str(asked)[:100], action, "denied: 知识库名称无效", question)
            raise
        if not names:
            names = [n for n in self.bases.names() if principal.may_read(n)]
            if not names:
                raise self.refuse(actor, "", action, "当前用户没有可用的知识库", question)
        for name in names:
            if not principal.may_read(name):
                raise self.refuse(actor, name, action, f"无权使用知识库 {name}", question)
            if not self.bases.exists(name):
                self.record(actor, name, action, "error: 没有该知识库", question)
                raise UnknownBase(name)
        return names

    def writable(self, actor: Actor, asked: str | None, action: str, what: str = "") -> str:
        """The one base to change (default `default`): the caller must be its editor or an admin."""
        name = asked or DEFAULT
        try:
            checked_name(name)
        except BaseNameError:
            self.record(actor, str(name)[:100], action, "denied: 知识库名称无效", what)
            raise
        if not actor.principal.may_write(name):
            raise self.refuse(actor, name, action, f"无权修改知识库 {name}", what)
        if not self.bases.exists(name):
            self.record(actor, name, action, "error: 没有该知识库", what)
            raise UnknownBase(name)
        return name

    def managing(self, actor: Actor, action: str, what: str = "") -> None:
        """Refuse (and record) a change to bases or users by anyone but an admin."""
        if not actor.principal.may_manage:
            raise self.refuse(actor, what, action, "只有管理员可以管理知识库和用户")

    # Reading

    def ask(
        self, actor: Actor, question: str, kb=None, doc_ids=None, filters=None, history=None, as_of: date | None = None,
        suggest: bool = True,
    ):
        """The answer from the caller's bases (or those asked for, if the caller's), recorded with what it cites."""
        names = self.readable(actor, kb, "ask", question)
        return self._answered(actor, names, question, lambda: self.bases.ask(names, question, doc_ids, filters, history, as_of, suggest))

    def converse(self, actor: Actor, question: str, kb=None, conversation_id=None, doc_ids=None, filters=None, as_of=None):
        """A turn of the caller's saved conversation, recorded like an ask; returns the answer and the conversation's id."""
        names = self.readable(actor, kb, "ask", question)
        found = {}

        def answer():
            found["answer"], found["id"] = self.bases.converse(
                names, question, actor.principal.owner, conversation_id, doc_ids, filters, as_of
            )
            return found["answer"]

        self._answered(actor, names, question, answer)
        return found["answer"], found["id"]

    def _answered(self, actor: Actor, names: list[str], question: str, answer):
        """Run `answer` and record the ask: answered with its cited documents, refused, or the error."""
        kb = ",".join(names)
        try:
            result = answer()
        except Exception as error:
            self.record(actor, kb, "ask", f"error: {str(error)[:200]}", question)
            raise
        self.record(actor, kb, "ask", "refused" if result.refused else "answered", question, cited_documents(result))
        return result

    def search(self, actor: Actor, query: str, kb=None, k: int = 8, doc_ids=None, filters=None, as_of=None) -> list:
        """The passages found for a query in the caller's bases, recorded with their documents."""
        names = self.readable(actor, kb, "search", query)
        try:
            found = self.bases.search(names, query, k, doc_ids, filters, as_of)
        except Exception as error:
            self.record(actor, ",".join(names), "search", f"error: {str(error)[:200]}", query)
            raise
        self.record(actor, ",".join(names), "search", "ok", query, list(dict.fromkeys(d.metadata["doc_id"] for d in found)))
        return found

    def documents(self, actor: Actor, kb=None, as_of=None) -> list[dict]:
        """The documents of the caller's bases (or those asked for)."""
        return self.bases.documents(self.readable(actor, kb, "list"), as_of)

    def page_image(self, actor: Actor, kb: str | None, doc_id: str, page: int, start=None, end=None) -> bytes:
        """A page of a document in one base the caller may read (default `default`), as a PNG (AssistantService.page_image)."""
        (name,) = self.readable(actor, kb or DEFAULT, "page", doc_id)
        return self.bases.service(name).page_image(doc_id, page, start, end)

    def knowledge_bases(self, actor: Actor) -> list[dict]:
        """The bases the caller may read, with their sizes, and whether the caller may change each."""
        listed = [b for b in self.bases.listing() if actor.principal.may_read(b["name"])]
        return [{**b, "writable": actor.principal.may_write(b["name"])} for b in listed]

    # Changing

    def ingest(self, actor: Actor, kb: str | None, paths: list[Path], progress=None, metadata=None):
        """Ingest files into one base the caller may change, recorded as one upload event."""
        name = self.writable(actor, kb, "upload", " ".join(str(p) for p in paths)[:200])
        return self._changed(actor, name, "upload", " ".join(str(p) for p in paths)[:200],
                             lambda: self.bases.service(name).ingest(paths, progress, metadata))

    def upload(self, actor: Actor, kb: str | None, filename: str, content: bytes, metadata=None):
        """Ingest an uploaded file into one base the caller may change, recorded."""
        name = self.writable(actor, kb, "upload", filename)
        return self._changed(actor, name, "upload", filename, lambda: self.bases.service(name).ingest_upload(filename, content, metadata))

    def _changed(self, actor: Actor, name: str, action: str, what: str, change):
        """Run an ingest and record it: ok with the documents it stored, or the error."""
        try:
            report = change()
        except Exception as error:
            self.record(actor, name, action, f"error: {str(error)[:200]}", what)
            raise
        outcome = "ok" if report.doc_ids or not report.errors else f"error: {'；'.join(report.errors)[:200]}"
        self.record(actor, name, action, outcome, what, report.doc_ids)
        return report

    def remove(self, actor: Actor, kb: str | None, doc_id: str) -> int:
        """Remove a document from one base the caller may change, recorded; KeyError when it is not there."""
        name = self.writable(actor, kb, "remove", doc_id)
        try:
            removed = self.bases.service(name).remove(doc_id)
        except KeyError:
            self.record(actor, name, "remove", "error: 没有该文档", doc_id, [doc_id])
            raise
        self.record(actor, name, "remove", "ok", doc_id, [doc_id])
        return removed

    def correct(self, actor: Actor, kb: str | None, doc_id: str, fields: dict) -> dict:
        """Correct a document's lifecycle fields in one base the caller may change, recorded."""
        name = self.writable(actor, kb, "correct", doc_id)
        try:
            listed = self.bases.service(name).correct_lifecycle(doc_id, fields)
        except (KeyError, ValueError) as error:
            self.record(actor, name, "correct", f"error: {str(error)[:200]}", doc_id, [doc_id])
            raise
        self.record(actor, name, "correct", "ok", doc_id, [doc_id])
        return listed

    # The audit log and the dashboard (admins only)

    def audit_events(self, actor: Actor, since: date | None = None, user: str | None = None, limit: int | None = None) -> list[dict]:
        """The audit events (see assistant.audit), for an admin; the refusal of anyone else is recorded."""
        self.managing(actor, "audit")
        return self.audit.events(since=since, user=user, limit=limit)

    def dashboard(self, actor: Actor, kb: str):
        """The use of one base (assistant.dashboard.BaseStatistics), for an admin."""
        from assistant.dashboard import base_statistics

        self.managing(actor, "dashboard", kb)
        service = self.bases.service(checked_name(kb))
        titles = {d["doc_id"]: d["title"] for d in service.documents()}
        return base_statistics(self.audit.events(), kb, titles, service.feedback().list())

    # Logging in

    def login(self, name: str, password: str, client: str, kb: str | None = None) -> Principal | None:
        """The user when the password is its own (and, given `kb`, it may read that base), else None; recorded either way."""
        found = self.users.by_password(name, password)
        who = Actor(found or Principal(str(name)[:64], "reader", frozenset(), "user"), client)
        if found is None:
            self.record(who, kb or "", "login", "denied: 用户名或密码错误")
            return None
        if kb is not None and not found.may_read(kb):
            self.record(who, kb, "login", f"denied: 无权使用知识库 {kb}")
            return None
        self.record(who, kb or "", "login", "ok")
        return found
