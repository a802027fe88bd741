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
    # Where the text lies on the source file's pages (PDF, OFD, scans); None for unpaged files.
    layout: "Layout | None" = None


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


@dataclass(frozen=True)
class Page:
    """One page of a paged source (PDF, OFD, scan): its size and where each of its text lines stands on it.

    `lines` are (start, end, x0, y0, x1, y1): the line's character offsets (into the file's squeezed
    text while reading, into the document's text once it is cut) and its box in page units (PDF
    points, OFD millimetres, image pixels), y downwards.
    """

    number: int
    width: float
    height: float
    lines: tuple[tuple[int, int, float, float, float, float], ...] = ()


@dataclass(frozen=True)
class Layout:
    """How a document's text lies on the pages of its source file: the kind of file (pdf, ofd, image) and its pages."""

    kind: str
    pages: tuple[Page, ...]

    def page_at(self, offset: int) -> int:
        """The 1-based page holding a character offset of the document's text (the last page begun before it)."""
        number = self.pages[0].number if self.pages else 0
        for page in self.pages:
            if page.lines and page.lines[0][0] <= offset:
                number = page.number
        return number


@dataclass(frozen=True)
class SourceText:
    """A file's text as read, with the title its own metadata gives (OFD's DocInfo) and, for paged files, its layout."""

    text: str
    title: str | None = None
    layout: Layout | None = None
