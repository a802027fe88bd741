"""Answers as values: the text a reader sees and the frozen citations behind it."""

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace

from ingest.model import SECTION_SEPARATOR

NOT_FOUND = "所提供的政策文件中未找到相关规定。"
# A cited document's facts, in the order an official document gives them, with their labels.
FACT_LABELS = (("issuer", "发文机关"), ("doc_number", "文号"), ("date", "日期"))


def short_section(section: str) -> str:
    """The last two levels of a section path, enough to find the place."""
    return SECTION_SEPARATOR.join(section.split(SECTION_SEPARATOR)[-2:])


@dataclass(frozen=True)
class Citation:
    """One cited passage: where it is, what it says, and what of it the answer quotes."""

    n: int
    passage_id: str
    doc_id: str
    title: str
    section: str
    text: str
    start: int
    end: int
    source: str
    issuer: str = ""
    date: str = ""
    doc_number: str = ""
    quotes: tuple[str, ...] = ()
    score: float = 0.0
    # The cited document's lifecycle on the day asked about (assistant.lifecycle); '' until known.
    status: str = ""
    status_label: str = ""
    effective_date: str = ""
    expiry_date: str = ""
    replaced_by: str = ""
    # The knowledge base the cited passage is stored in ('' for a service outside any).
    kb: str = ""
    # The 1-based page of the source file the quoted words stand on (PDF, OFD, scans); 0 for an unpaged source.
    page: int = 0

    @classmethod
    def of(cls, passage: Mapping, n: int = 0, **given) -> "Citation":
        """The one way a citation is made: from a stored passage's fields (a retrieved Document's metadata, or a
        StoredPassage as a dict), with `given` fields (its number, text, span, quotes, score) laid over them."""
        fields = {name: passage.get(name, "") for name in ("passage_id", "doc_id", "title", "section", "text", "source")}
        fields |= {name: passage.get(name) or "" for name, _ in FACT_LABELS}
        fields |= {"start": passage.get("start", 0), "end": passage.get("end", 0), "score": passage.get("score") or 0.0}
        return cls(n=n, **(fields | given))

    def facts(self, labelled: bool = False) -> tuple[str, ...]:
        """The document's issuing body, number and date, those it has ("发文机关：…" when labelled)."""
        return tuple(f"{label}：{getattr(self, name)}" if labelled else getattr(self, name) for name, label in FACT_LABELS if getattr(self, name))

    def place(self) -> str:
        """Where the provision stands, in a sentence: 《title》（the last two section levels）."""
        section = short_section(self.section)
        return f"《{self.title}》" + (f"（{section}）" if section else "")

    def reference(self) -> str:
        """The citation as one line of a source list: [n] 《title》 › section（issuer，number，date，page）."""
        where = f" › {self.section}" if self.section else ""
        facts = "，".join([*self.facts(), *([f"第 {self.page} 页"] if self.page else [])])
        marked = f"〔{self.status_label}〕" if self.status and self.status != "in_force" else ""
        return f"[{self.n}] 《{self.title}》{where}" + (f"（{facts}）" if facts else "") + marked

    def quoted_at(self) -> int:
        """The document offset where the first quoted words stand (the passage's start when none is found)."""
        first = self.quotes[0].split("……")[0].strip("「」 ") if self.quotes else ""
        found = self.text.find(first) if first else -1
        return self.start + max(found, 0)


@dataclass(frozen=True)
class Answer:
    """An answer: its text with [n] markers, the citations they point to, and whether it was declined."""

    question: str
    text: str
    refused: bool
    citations: tuple[Citation, ...] = ()
    related: tuple[Citation, ...] = ()
    evidence: float = 0.0
    similarity: float = 0.0
    warnings: tuple[str, ...] = field(default_factory=tuple)
    # Questions the cited documents also answer, each answered by the pipeline before it is offered.
    suggestions: tuple[str, ...] = ()
    # "documents": composed from the retrieved passages; "faq": an editor's curated answer (assistant.faq).
    source: str = "documents"

    def to_dict(self) -> dict:
        """The answer as the JSON object `app.py ask --json` prints."""
        return {
            "question": self.question,
            "answer": self.text,
            "refused": self.refused,
            "citations": [citation_dict(c) for c in self.citations],
            "related": [citation_dict(c) for c in self.related],
            "evidence": round(self.evidence, 4),
            "similarity": round(self.similarity, 4),
            "warnings": list(self.warnings),
            "source": self.source,
            "suggestions": list(self.suggestions),
        }

    def in_base(self, kb: str) -> "Answer":
        """The answer with every citation and related passage marked as stored in knowledge base `kb`."""
        return replace(
            self, citations=tuple(replace(c, kb=kb) for c in self.citations), related=tuple(replace(c, kb=kb) for c in self.related)
        )

    @classmethod
    def from_dict(cls, data: Mapping) -> "Answer":
        """The answer a to_dict() object describes (a saved conversation's turn read back)."""
        def citations(key: str) -> tuple[Citation, ...]:
            known = set(Citation.__dataclass_fields__)
            return tuple(
                Citation(**{k: v for k, v in c.items() if k in known} | {"quotes": tuple(c.get("quotes", ())), "page": c.get("page") or 0})
                for c in data.get(key, ())
            )

        return cls(
            question=data.get("question", ""), text=data.get("answer", ""), refused=bool(data.get("refused")),
            citations=citations("citations"), related=citations("related"), evidence=data.get("evidence", 0.0),
            similarity=data.get("similarity", 0.0), warnings=tuple(data.get("warnings", ())),
            suggestions=tuple(data.get("suggestions", ())), source=data.get("source", "documents"),
        )


@dataclass(frozen=True)
class Reply:
    """An answer with the retrieved passages it was composed from (each with its scores): one retrieval's whole outcome."""

    answer: Answer
    passages: tuple = ()


def citation_dict(citation: Citation) -> dict:
    """A citation as JSON: the documented keys first."""
    data = asdict(citation)
    data["quotes"] = list(citation.quotes)
    data["score"] = round(citation.score, 6)
    data["page"] = citation.page or None
    return data
