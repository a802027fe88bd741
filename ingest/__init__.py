"""Ingestion: from a policy file on disk to a cleaned document and its citable passages."""

import dataclasses
import hashlib
from pathlib import Path

from ingest.articles import article_spans, article_titles, split_at_topic_breaks
from ingest.clean import clean_policy_text, squeeze
from ingest.lifecycle import extract_lifecycle
from ingest.loaders import IngestError, read_policy_file
from ingest.metadata import extract_metadata, extract_title, given_metadata
from ingest.model import SECTION_SEPARATOR, Layout, Page, Passage, PolicyDocument
from ingest.structure import blocks_of, split_policy_text
from settings import PASSAGE_MAX_CHARS

__all__ = [
    "IngestError",
    "Passage",
    "PolicyDocument",
    "SECTION_SEPARATOR",
    "clean_policy_text",
    "document_id",
    "load_policy_file",
    "parse_policy_articles",
    "parse_policy_text",
    "split_policy_text",
]


def document_id(cleaned: str) -> str:
    """A document id derived from its content, blind to whitespace."""
    return "doc-" + hashlib.sha1(squeeze(cleaned).encode("utf-8")).hexdigest()[:12]


def parse_policy_text(
    raw: str, source: str, max_chars: int = PASSAGE_MAX_CHARS, doc_id: str | None = None, title: str | None = None,
    metadata: dict | None = None,
) -> tuple[PolicyDocument, list[Passage]]:
    """Clean raw text, name the document (unless id, title and metadata are given) and cut it into passages."""
    cleaned = clean_policy_text(raw)
    if not cleaned:
        raise IngestError(f"{source}: 没有可导入的文字内容")
    return build_document(cleaned, source, max_chars, doc_id, title, metadata)


def build_document(
    cleaned: str, source: str, max_chars: int, doc_id: str | None = None, title: str | None = None, metadata: dict | None = None
) -> tuple[PolicyDocument, list[Passage]]:
    """Name already cleaned text (id, title and metadata given win over what the text says) and cut it into passages."""
    doc_id = doc_id or document_id(cleaned)
    blocks = blocks_of(cleaned)
    title = title or extract_title(blocks, fallback=Path(source).stem)
    metadata = {**extract_metadata(blocks, title), **given_metadata(metadata)}
    metadata = {**extract_lifecycle(cleaned, metadata["date"]), **metadata}
    document = PolicyDocument(doc_id=doc_id, title=title, source=source, text=cleaned, metadata=metadata)
    return document, split_policy_text(cleaned, doc_id, title, max_chars)


def parse_policy_articles(
    raw: str, source: str, max_chars: int = PASSAGE_MAX_CHARS, fallback_title: str | None = None
) -> list[tuple[PolicyDocument, list[Passage]]]:
    """Clean raw text and cut it into articles, each a document of its own with its own title and passages.

    An article whose text names no title is called `fallback_title` (the file's own metadata), else by the file's name.
    """
    cleaned = clean_policy_text(raw)
    if not cleaned:
        raise IngestError(f"{source}: 没有可导入的文字内容")
    fallback = fallback_title or Path(source).stem
    spans = article_spans(cleaned)
    titles = article_titles(cleaned, spans, fallback=fallback)
    split = split_at_topic_breaks(cleaned, spans, titles)
    if split != spans:
        spans, titles = split, article_titles(cleaned, split, fallback=fallback)
    return [
        build_document(cleaned[start:end].strip("\n"), source, max_chars, title=title)
        for (start, end), title in zip(spans, titles)
    ]


def load_policy_file(path: Path, max_chars: int = PASSAGE_MAX_CHARS) -> list[tuple[PolicyDocument, list[Passage]]]:
    """Read one policy file and return each article in it as a document with its passages (and its pages' layout)."""
    source = read_policy_file(path)
    articles = parse_policy_articles(source.text, str(path), max_chars, source.title)
    if source.layout is None:
        return articles
    laid, searched_from, whole = [], 0, squeeze(source.text)
    for document, passages in articles:
        base = whole.find(squeeze(document.text), searched_from)
        searched_from = max(base, searched_from)
        layout = document_layout(source.layout, document.text, base) if base >= 0 else None
        laid.append((dataclasses.replace(document, layout=layout), passages))
    return laid


def document_layout(layout: Layout, text: str, base: int) -> Layout | None:
    """The file's layout cut to one document whose squeezed text starts at `base` of the file's, in the document's offsets."""
    positions = [i for i, ch in enumerate(text) if not ch.isspace()]
    pages = []
    for page in layout.pages:
        lines = tuple(
            (positions[max(start, base) - base], positions[min(end, base + len(positions)) - 1 - base] + 1, *box)
            for start, end, *box in page.lines
            if end > base and start < base + len(positions)
        )
        if lines:
            pages.append(Page(page.number, page.width, page.height, lines))
    return Layout(layout.kind, tuple(pages)) if pages else None
