"""Which stored document is in force on a day, what replaced it, and answers marked accordingly.

Each document states its dates and the documents it repeals or amends (ingest.lifecycle); a user's
corrections lie over that. A repealing document takes effect on its effective date (else its issue
date); a reference finds the documents it names by 文号, else by exact title among those issued
before the referring one. On a given day a document is, in this order: as stated by a user;
尚未施行 before its effective date; 已废止 once a repealing document is in effect; 已失效 after its
expiry date; 已修订 once an amending document is in effect; else 现行有效.
"""

import json
import logging
import time
from dataclasses import dataclass, replace
from datetime import date

from assistant.answer import Answer
from ingest.lifecycle import CORRECTABLE_FIELDS, STATUSES, given_lifecycle, is_provisional, normal_number

log = logging.getLogger(__name__)

# Searched on a day: a document repealed by one then in effect, or issued after that day, is left
# out (its successor answers); one expired or amended is still quoted, and marked.
LEFT_OUT = ("repealed", "unissued")
# Taught by default: a lesson is on the rules in force (an amended document is, but for what changed).
TAUGHT = ("in_force", "amended")
# How long a built view of the documents serves before the store and the corrections are read again.
REFRESH_SECONDS = 2.0


@dataclass(frozen=True)
class Lifecycle:
    """One document's dates, links and stated status."""

    doc_id: str
    title: str
    doc_number: str
    date: str
    effective_date: str
    expiry_date: str
    stated_status: str
    repeals: tuple[str, ...] = ()  # doc ids found for its references
    amends: tuple[str, ...] = ()
    repealed_by: tuple[str, ...] = ()
    amended_by: tuple[str, ...] = ()

    @property
    def start(self) -> str:
        """The day it takes effect: its effective date, else its issue date ('' when neither is known)."""
        return self.effective_date or self.date


def parsed_references(value: str) -> list[dict]:
    """References stored as JSON ([] when none or unreadable)."""
    try:
        refs = json.loads(value) if value else []
    except ValueError:
        return []
    return [r for r in refs if isinstance(r, dict)]


def title_key(title: str) -> str:
    """A title as references are matched: without 《》 and spaces."""
    return title.strip("《》 ").replace(" ", "")


def resolve(summaries: list[dict]) -> dict[str, Lifecycle]:
    """Every document's lifecycle with its references resolved to stored documents, both ways."""
    by_number, by_title = {}, {}
    for summary in summaries:
        if summary.get("doc_number"):
            by_number.setdefault(normal_number(summary["doc_number"]), []).append(summary["doc_id"])
        by_title.setdefault(title_key(summary.get("title", "")), []).append(summary)
    links = {s["doc_id"]: {"repeals": [], "amends": [], "repealed_by": [], "amended_by": []} for s in summaries}
    for summary in summaries:
        for kind, back in (("repeals", "repealed_by"), ("amends", "amended_by")):
            for ref in parsed_references(summary.get(kind, "")):
                for target in referred(ref, summary, by_title, by_number):
                    links[summary["doc_id"]][kind].append(target)
                    links[target][back].append(summary["doc_id"])
    return {
        s["doc_id"]: Lifecycle(
            doc_id=s["doc_id"], title=s.get("title", ""), doc_number=s.get("doc_number", ""), date=s.get("date", ""),
            effective_date=s.get("effective_date", ""), expiry_date=s.get("expiry_date", ""),
            stated_status=s.get("stated_status", ""), **{k: tuple(dict.fromkeys(v)) for k, v in links[s["doc_id"]].items()},
        )
        for s in summaries
    }


def referred(ref: dict, referring: dict, by_title: dict, by_number: dict) -> list[str]:
    """The stored documents a reference names: by 文号, else by exact title among those issued before the referring one."""
    own = referring["doc_id"]
    if ref.get("doc_number"):
        found = [d for d in by_number.get(normal_number(ref["doc_number"]), []) if d != own]
        if found or not ref.get("title"):
            return found
    issued = referring.get("date", "")
    return [
        s["doc_id"] for s in by_title.get(title_key(ref.get("title", "")), [])
        if s["doc_id"] != own and (not issued or not s.get("date") or s["date"] < issued)
    ]


class Lifecycles:
    """The stored documents' lifecycles, read from the store's document summaries and the users' corrections."""

    def __init__(self, summaries, corrections=None, version=None) -> None:
        """`summaries()` lists the stored documents (with their lifecycle fields); `corrections` keeps users' fields by
        doc_id; `version()` changes whenever the stored documents do (the view is then built again at once)."""
        self._summaries = summaries
        self.corrections = corrections
        self._version = version or (lambda: None)
        # (when checked, the documents' version, the corrections, the lifecycles built from them)
        self._built: tuple[float, object, dict, dict[str, Lifecycle]] | None = None
        self._left_out: tuple[tuple, set[str]] | None = None

    def all(self) -> dict[str, Lifecycle]:
        """Every stored document's lifecycle (built again when the documents change, after a correction, and at least
        every REFRESH_SECONDS for other processes' corrections)."""
        built, version = self._built, self._version()
        if built is not None and built[1] == version and time.monotonic() - built[0] < REFRESH_SECONDS:
            return built[3]
        # No lock is held while the store is read: a thread asking under the store's read lock and one listing
        # documents outside it would otherwise wait on each other behind a waiting writer. Two threads may
        # build the same view at once; either result is right.
        corrected = self._corrected(built[2] if built is not None else {})
        if built is not None and built[1] == version and built[2] == corrected:
            self._built = (time.monotonic(), *built[1:])
            return built[3]
        summaries = [{**s, **corrected.get(s["doc_id"], {})} for s in self._summaries()]
        self._built = (time.monotonic(), version, corrected, resolve(summaries))
        return self._built[3]

    def _corrected(self, known: dict) -> dict:
        """The users' corrections now, or those last read when the store does not answer (the store's own reads
        then fail and say so; a question is not held up by this one)."""
        if self.corrections is None:
            return {}
        try:
            return self.corrections.all()
        except Exception as error:  # noqa: BLE001 - a Chroma server down or a disk error: keep the last known
            log.warning("读取效力更正失败（%s），暂用上次读取的更正", error)
            return known

    def correct(self, doc_id: str, fields: dict) -> dict:
        """Lay a user's lifecycle fields over what a document states (kept apart, so they survive re-ingest); ValueError when one is malformed."""
        stored = given_lifecycle(fields, with_issue_date=True)
        if self.corrections is None:
            raise ValueError("此知识库不能保存更正")
        merged = self.corrections.put(doc_id, {k: v for k, v in stored.items() if k in CORRECTABLE_FIELDS})
        self._built = None
        return merged

    def status(self, doc_id: str, day: date) -> str:
        """The document's status on that day: a key of STATUSES, or 'unissued' for one issued after it."""
        return status_on(self.all(), doc_id, day)

    def left_out(self, day: date) -> set[str]:
        """The documents not searched on that day (see LEFT_OUT); worked out once per view of the documents and day."""
        lifecycles = self.all()
        key = (id(lifecycles), day)
        known = self._left_out
        if known is not None and known[0] == key:
            return known[1]
        left = {doc_id for doc_id in lifecycles if status_on(lifecycles, doc_id, day) in LEFT_OUT}
        self._left_out = (key, left)
        return left
    def describe(self, doc_id: str, day: date) -> dict:
        """What lists and citations show of a document's lifecycle on that day (all from one view of the documents)."""
        lifecycles = self.all()
        life = lifecycles.get(doc_id)
        status = status_on(lifecycles, doc_id, day)
        shown = "not_yet_effective" if status == "unissued" else status
        return {
            "status": shown,
            "status_label": STATUSES.get(shown, shown),
            "date": life.date if life else "",
            "effective_date": life.start if life else "",
            "expiry_date": life.expiry_date if life else "",
            "replaced_by": replacement(lifecycles, life, day),
            "repeals": list(life.repeals) if life else [],
            "amends": list(life.amends) if life else [],
            "repealed_by": list(life.repealed_by) if life else [],
            "amended_by": list(life.amended_by) if life else [],
            "provisional": is_provisional(life.title) if life else False,
        }

    def course_documents(self, doc_ids: list[str] | None, stored: set[str], day: date) -> list[str] | None:
        """The documents course material gathers from: those chosen, else those in force (or amended) that day (None: all)."""
        if doc_ids:
            return doc_ids
        lifecycles = self.all()
        kept = sorted(d for d in stored if status_on(lifecycles, d, day) in TAUGHT)
        return None if len(kept) == len(stored) else kept

    def mark_course(self, course, day: date):
        """Course material whose provisions carry their document's status that day (shown where it is not in force)."""
        documents = []
        for document in course.documents:
            facts = self.describe(document.doc_id, day)
            sections = tuple(
                replace(s, provisions=tuple(replace(p, **{k: facts[k] for k in CITATION_FIELDS}) for p in s.provisions))
                for s in document.sections
            )
            documents.append(replace(document, sections=sections))
        marked = {p.n: p for d in documents for p in d.provisions}
        questions = tuple(replace(q, source=marked.get(q.source.n, q.source)) for q in course.questions)
        return replace(course, documents=tuple(documents), questions=questions)

    def annotate(self, answer: Answer, day: date) -> Answer:
        """The answer with each citation's status, and a line for every cited document not in force that day."""
        if not answer.citations:
            return answer
        citations, notes = [], []
        for citation in answer.citations:
            facts = self.describe(citation.doc_id, day)
            citations.append(replace(citation, **{k: facts[k] for k in CITATION_FIELDS}))
            if facts["status"] != "in_force":
                notes.append(status_note(citation.n, citation.title, facts, self.all()))
        notes = list(dict.fromkeys(notes))
        text = "\n\n".join([answer.text, *notes]) if notes else answer.text
        return replace(answer, text=text, citations=tuple(citations))


def status_on(lifecycles: dict[str, Lifecycle], doc_id: str, day: date) -> str:
    """A document's status on a day among these lifecycles (see the module's docstring)."""
    life = lifecycles.get(doc_id)
    if life is None:
        return "in_force"
    if life.stated_status:
        return life.stated_status
    today = day.isoformat()
    if life.date and life.date > today:
        return "unissued"
    if life.start and life.start > today:
        return "not_yet_effective"
    if any(in_effect(lifecycles.get(d), today) for d in life.repealed_by):
        return "repealed"
    if life.expiry_date and life.expiry_date < today:
        return "expired"
    if any(in_effect(lifecycles.get(d), today) for d in life.amended_by):
        return "amended"
    return "in_force"


CITATION_FIELDS = ("status", "status_label", "effective_date", "expiry_date", "replaced_by")


def replacement(lifecycles: dict[str, Lifecycle], life: Lifecycle | None, day: date) -> str:
    """The document in effect on that day that repeals this one ('' when none)."""
    today = day.isoformat()
    return next((d for d in (life.repealed_by if life else ()) if in_effect(lifecycles.get(d), today)), "")


def in_effect(life: Lifecycle | None, today: str) -> bool:
    """Whether a (repealing or amending) document has taken effect by that day."""
    return life is not None and (not life.start or life.start <= today)


def status_note(n: int, title: str, facts: dict, lifecycles: dict[str, Lifecycle]) -> str:
    """The line an answer carries for a cited document not in force: what it is and since when."""
    status = facts["status"]
    successor = lifecycles.get(facts["replaced_by"]) if facts["replaced_by"] else None
    if status == "expired":
        detail = f"有效期至{chinese_day(facts['expiry_date'])}，现已失效" if facts["expiry_date"] else "现已失效"
    elif status == "repealed":
        detail = f"已被《{successor.title}》{bracketed(successor.doc_number)}废止" if successor else "已废止"
    elif status == "amended":
        detail = "已修订，请以修订后的规定为准"
    elif status == "not_yet_effective":
        detail = f"自{chinese_day(facts['effective_date'])}起施行，尚未施行" if facts["effective_date"] else "尚未施行"
    else:
        detail = facts["status_label"]
    return f"〔时效〕[{n}]《{title}》{detail}。"


def bracketed(number: str) -> str:
    return f"（{number}）" if number else ""


def chinese_day(iso: str) -> str:
    """2023-12-31 as 2023年12月31日."""
    try:
        day = date.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{day.year}年{day.month}月{day.day}日"
