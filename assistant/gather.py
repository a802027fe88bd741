"""Gathering a topic's provisions by meaning: the lines on the topic, their restatements, and related provisions.

A provision is a whole line of a document (a paragraph or list item). Each is scored by the embedding
model against the topic (``query: 容错免责`` against ``passage: heading + line``); scores are read as
standard scores over the lines searched, because a model such as multilingual-e5-small puts nearly every
line of a corpus on one subject within a few hundredths of cosine. Three scopes, narrowest first:

- section: the lines on the topic (by its words, or by meaning well above the rest), and the lines of
  their own sections that stand above the rest by meaning;
- related: also every line elsewhere that restates one of them (a clause of it nearly the same as a
  clause of a provision taken by all the topic's words or by meaning), the sections such a restatement names, and the
  lines of neighbouring sections (same parent heading) that stand above the rest by meaning;
- all: also every line anywhere that stands above the rest by meaning.

The thresholds were chosen with `python -m evaluation.course` on the hand-written topics of
eval/course_topics.jsonl (see the README's course section): one setting for every topic.
"""

import re
from dataclasses import dataclass

import numpy as np

from ingest.clean import ITEM_PATTERN
from ingest.model import SECTION_SEPARATOR

SCOPES = ("section", "related", "all")
DEFAULT_SCOPE = "related"
# Passages looked at besides the lexical matches: the nearest by the stored vectors.
CANDIDATE_PASSAGES = 60
# Standard scores (over the lines searched) a line's meaning must reach: on the topic by itself, in the
# topic's section or a neighbouring one, and anywhere (scope all).
CORE_Z = 3.0
NEIGHBOUR_Z = 1.0
ANYWHERE_Z = 1.5
# Cosine at which two clauses say the same thing (one restates the other): e5 gives a clause and its
# verbatim or near-verbatim repetition 0.97 and above, different measures of one text 0.90-0.95.
SAME_CLAUSE = 0.97
MIN_CLAUSE_CHARS = 5
# A clause repeated elsewhere counts as a restatement only when it is this long: shorter ones (破除论资排辈,
# 不忘初心、牢记使命) are set phrases that many texts on one subject share.
MIN_RESTATED_CHARS = 8
# ... and when it keeps most of the wording (character pairs): e5 also puts 践行初心、担当使命 and
# 不忘初心、牢记使命 at 0.98, two set phrases built alike.
SHARED_WORDING = 0.6
BY_WORDS, PARTLY_BY_WORDS = "含主题词", "含部分主题词"
CLAUSE = re.compile(r"[^，,；;。！？!?：:“”\"]+")
# A paragraph up to this many characters long is quoted whole; a longer "paragraph" is a text without line breaks.
LONGEST_PARAGRAPH = 900


@dataclass(frozen=True)
class Line:
    """A whole line of a stored document (paragraph or item, without its list marker) under its passage's section."""

    passage: object
    start: int
    end: int
    text: str

    @property
    def section(self) -> str:
        """The section path the line stands under."""
        return self.passage.section

    @property
    def heading(self) -> str:
        """The innermost heading of the line's section ('' at the top of a document)."""
        return self.section.split(SECTION_SEPARATOR)[-1] if self.section else ""

    @property
    def parent(self) -> tuple[str, str]:
        """The document and the section path above the line's own section: what neighbouring sections share."""
        return self.passage.doc_id, SECTION_SEPARATOR.join(self.section.split(SECTION_SEPARATOR)[:-1])


@dataclass(frozen=True)
class Inclusion:
    """Why a provision is in the material: the reason in words and the score behind it."""

    reason: str
    score: float

    def label(self) -> str:
        """The reason and score as shown to a trainer."""
        return f"{self.reason}（{self.score:.2f}）"


def line_spans(text: str, start: int, end: int, longest: int = LONGEST_PARAGRAPH) -> list[tuple[int, int]]:
    """The whole lines (paragraphs, list items without their marker) of a document text that overlap [start, end).

    A line longer than `longest` (a text that lost its line breaks) is cut to the part within [start, end).
    """
    spans = []
    while start < end:
        line_start = text.rfind("\n", 0, start) + 1
        line_end = text.find("\n", start)
        line_end = len(text) if line_end < 0 else line_end
        marker = ITEM_PATTERN.match(text[line_start:line_end])
        line_start += marker.end() if marker else 0
        if line_end - line_start > longest:
            line_start, line_end = max(line_start, start), min(line_end, end)
        if text[line_start:line_end].strip():
            spans.append((line_start, line_end))
        start = line_end + 1
    return spans


def document_lines(store, passages: list) -> list[Line]:
    """The whole lines of these passages, each once, in document order."""
    lines: dict[tuple[str, int, int], Line] = {}
    texts: dict[str, str] = {}
    for passage in passages:
        text = texts.setdefault(passage.doc_id, store.document_text(passage.doc_id))
        for start, end in line_spans(text, passage.start, passage.end):
            lines.setdefault((passage.doc_id, start, end), Line(passage, start, end, text[start:end].strip()))
    return [lines[key] for key in sorted(lines)]


def candidate_passages(store, topic: str, allowed: set[str] | None, lexical: set[str]) -> list:
    """The passages searched: every lexical match and the nearest by meaning, in no particular order."""
    nearest = {pid for pid, _ in store.dense_search(topic, CANDIDATE_PASSAGES, allowed)}
    return [store.passage(pid) for pid in sorted(lexical | nearest)]


def cosines(embeddings, topic: str, lines: list[Line]) -> np.ndarray:
    """Each line's cosine to the topic, the line read under its heading."""
    asked = np.asarray(embeddings.embed_query(topic))
    return np.asarray(embeddings.embed_documents([f"{l.heading}\n{l.text}" for l in lines])) @ asked


def standard(scores: np.ndarray) -> np.ndarray:
    """Scores as standard scores (zero mean, unit spread); all zero when they do not spread."""
    spread = scores.std()
    return (scores - scores.mean()) / spread if spread > 0 else np.zeros_like(scores)


def clauses(text: str) -> list[str]:
    """The clauses of a line (between commas and stops) long enough to say something."""
    return [c.strip() for c in CLAUSE.findall(text) if len(c.strip()) >= MIN_CLAUSE_CHARS]


def shared_characters(clause: str, other: str) -> float:
    """The share of a clause's character pairs that the other clause holds too."""
    pairs = {clause[i : i + 2] for i in range(len(clause) - 1)}
    return sum(p in other for p in pairs) / len(pairs) if pairs else 0.0


def restatements(embeddings, lines: list[Line], taken: dict[int, Inclusion], z: np.ndarray) -> dict[int, Inclusion]:
    """Lines not taken, above the average by meaning, that repeat a clause of a firmly taken line nearly word for word.

    Firmly: by all the topic's words or by meaning, not by a part of its words."""
    firm = [i for i, why in taken.items() if why.reason != PARTLY_BY_WORDS]
    said = sorted({c for i in firm for c in clauses(lines[i].text) if len(c) >= MIN_RESTATED_CHARS})
    others = [i for i in range(len(lines)) if i not in taken and z[i] >= 0]
    pieces = [(i, c) for i in others for c in clauses(lines[i].text) if len(c) >= MIN_RESTATED_CHARS]
    if not said or not pieces:
        return {}
    vectors = np.asarray(embeddings.embed_documents(said + [c for _, c in pieces]))
    likeness = vectors[len(said) :] @ vectors[: len(said)].T
    found: dict[int, Inclusion] = {}
    for (i, clause), row in zip(pieces, likeness):
        best, like = float(row.max()), said[int(row.argmax())]
        same = best >= SAME_CLAUSE and shared_characters(like, clause) >= SHARED_WORDING
        if same and best > (found[i].score if i in found else 0.0):
            found[i] = Inclusion(f"复述「{like}」", best)
    return found


def named_sections(embeddings, lines: list[Line], restating: dict[int, Inclusion]) -> set[str]:
    """The section paths whose heading a restatement names (one of its clauses is the heading, nearly word for word)."""
    headings = sorted({l.heading for l in lines if l.heading})
    said = sorted({c for i in restating for c in clauses(lines[i].text)})
    if not headings or not said:
        return set()
    vectors = np.asarray(embeddings.embed_documents(headings + said))
    likeness = vectors[: len(headings)] @ vectors[len(headings) :].T
    named = {h for h, row in zip(headings, likeness) if row.max() >= SAME_CLAUSE}
    return {l.section for l in lines if l.heading in named}


def by_meaning(embeddings, topic: str, lines: list[Line], by_words: dict[int, Inclusion], scope: str) -> dict[int, Inclusion]:
    """The lines taken in a scope, each with why: by words (given), by meaning, as a restatement or as related."""
    scores = cosines(embeddings, topic, lines)
    z = standard(scores)
    meant = lambda i, reason: Inclusion(reason, float(scores[i]))  # noqa: E731 - the score shown is the cosine
    taken = dict(by_words) | {i: meant(i, "与主题语义相近") for i in range(len(lines)) if z[i] >= CORE_Z and i not in by_words}
    sections = {lines[i].section for i in taken}
    taken |= {i: meant(i, "同一节的相关规定") for i in range(len(lines)) if i not in taken and lines[i].section in sections and z[i] >= NEIGHBOUR_Z}
    if scope == "section":
        return taken
    restating = restatements(embeddings, lines, taken, z)
    named = named_sections(embeddings, lines, restating) - {lines[i].section for i in taken}
    parents = {lines[i].parent for i in taken}
    related = {
        i: meant(i, "复述中提到的相关规定" if lines[i].section in named else "相邻一节的相关规定")
        for i in range(len(lines))
        if i not in taken and i not in restating and (lines[i].section in named or (lines[i].parent in parents and z[i] >= NEIGHBOUR_Z))
    }
    taken |= restating | related
    if scope == "all":
        taken |= {i: meant(i, "与主题语义相关") for i in range(len(lines)) if i not in taken and z[i] >= ANYWHERE_Z}
    return taken


def check_scope(scope: str) -> str:
    """The scope, or ValueError naming the ones there are."""
    if scope not in SCOPES:
        raise ValueError(f"范围应为 {'、'.join(SCOPES)} 之一，而不是「{scope}」")
    return scope
