"""Answers as values: the text a reader sees and the frozen citations behind it."""

from dataclasses import asdict, dataclass, field

NOT_FOUND = "所提供的政策文件中未找到相关规定。"


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
        }


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
    return data
