"""The values ingestion produces: a cleaned document and the passages cut from it."""

from dataclasses import dataclass, field

SECTION_SEPARATOR = " › "


@dataclass(frozen=True)
class PolicyDocument:
    """One ingested document: its cleaned text and what is known about it."""

    doc_id: str
    title: str
    source: str
    text: str
    metadata: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Passage:
    """A citable piece of a document, with its place in it from the moment it is cut."""

    passage_id: str
    doc_id: str
    title: str
    section_path: tuple[str, ...]
    text: str
    start: int
    end: int
    kind: str
    order: int

    @property
    def section(self) -> str:
        """The section path as one readable string."""
        return SECTION_SEPARATOR.join(self.section_path)
