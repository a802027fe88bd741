"""Ingestion: from a policy file on disk to a cleaned document and its citable passages."""

import hashlib
from pathlib import Path

from ingest.articles import article_spans, article_titles, split_at_topic_breaks
from ingest.clean import clean_policy_text, squeeze
from ingest.lifecycle import extract_lifecycle
from ingest.loaders import IngestError, read_policy_text
from ingest.metadata import extract_metadata, extract_title, given_metadata
from ingest.model import SECTION_SEPARATOR, Passage, PolicyDocument
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


def parse_policy_articles(raw: str, source: str, max_chars: int = PASSAGE_MAX_CHARS) -> list[tuple[PolicyDocument, list[Passage]]]:
    """Clean raw text and cut it into articles, each a document of its own with its own title and passages."""
    cleaned = clean_policy_text(raw)
    if not cleaned:
        raise IngestError(f"{source}: 没有可导入的文字内容")
    spans = article_spans(cleaned)
    titles = article_titles(cleaned, spans, fallback=Path(source).stem)
    split = split_at_topic_breaks(cleaned, spans, titles)
    if split != spans:
        spans, titles = split, article_titles(cleaned, split, fallback=Path(source).stem)
    return [
        build_document(cleaned[start:end].strip("\n"), source, max_chars, title=title)
        for (start, end), title in zip(spans, titles)
    ]


def load_policy_file(path: Path, max_chars: int = PASSAGE_MAX_CHARS) -> list[tuple[PolicyDocument, list[Passage]]]:
    """Read one policy file and return each article in it as a document with its passages."""
    return parse_policy_articles(read_policy_text(path), str(path), max_chars)
