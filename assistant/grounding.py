"""Holding a language model's answer to the passages it was given.

Every [n] must name a passage that was given; every 「…」 quote must stand verbatim (whitespace aside)
in the passage it cites. A quote that does not is removed and named in the warnings; a sentence
that cites nothing is marked as such. The citations are renumbered in order of first use.
"""

import re
from dataclasses import dataclass

from langchain_core.documents import Document

from assistant.answer import NOT_FOUND
from ingest.clean import squeeze

QUOTE_WITH_MARK = re.compile(r"「([^「」]+)」\s*((?:\[\d+\])*)")
MARK = re.compile(r"\[(\d+)\]")
SENTENCE = re.compile(r"[^。！？!?\n]+[。！？!?]*")
UNCITED = "〔未注明出处〕"
NOT_FOUND_PREFIX = NOT_FOUND.rstrip("。")
LEAD_CHARS = 8


@dataclass(frozen=True)
class GroundedText:
    """A checked answer text, the given passages it cites (in order of first use) and what was changed."""

    text: str
    cited: tuple[Document, ...]
    warnings: tuple[str, ...]


def check_quotes(text: str, passages: list[Document], warnings: list[str]) -> str:
    """Remove quotes that their cited passage (or, uncited, any passage) does not hold word for word."""

    def verdict(match: re.Match) -> str:
        quote, marks = match.group(1), [int(n) for n in MARK.findall(match.group(2))]
        valid = [n for n in marks if 1 <= n <= len(passages)]
        holders = [n for n in valid if squeeze(quote) in squeeze(passages[n - 1].page_content)]
        if not marks:
            holders = [n for n in range(1, len(passages) + 1) if squeeze(quote) in squeeze(passages[n - 1].page_content)][:1]
        if holders:
            return f"「{quote}」" + "".join(f"[{n}]" for n in holders)
        cited = "、".join(f"[{n}]" for n in marks) or "任何段落"
        warnings.append(f"已删除一处在所引原文{cited}中找不到的引文：「{quote}」")
        return ""

    return QUOTE_WITH_MARK.sub(verdict, text)


def check_marks(text: str, count: int, warnings: list[str]) -> str:
    """Remove [n] markers that name no given passage."""

    def verdict(match: re.Match) -> str:
        n = int(match.group(1))
        if 1 <= n <= count:
            return match.group(0)
        warnings.append(f"已删除不存在的引用编号 [{n}]")
        return ""

    return MARK.sub(verdict, text)


def mark_uncited(text: str) -> str:
    """Mark each sentence that cites no passage; a short first sentence (可以。, 25名。) leads the cited ones."""
    lines, first = [], True
    for line in text.split("\n"):
        sentences = []
        for sentence in SENTENCE.findall(line):
            bare = sentence.strip()
            lead = first and len(bare) <= LEAD_CHARS
            first = first and not bare
            needs_mark = bare and not MARK.search(bare) and not bare.startswith(NOT_FOUND_PREFIX) and not lead
            sentences.append(sentence + UNCITED if needs_mark else sentence)
        lines.append("".join(sentences))
    return "\n".join(lines)


def renumber(text: str, passages: list[Document]) -> tuple[str, tuple[Document, ...]]:
    """Number the cited passages 1, 2, … in order of first use."""
    order: list[int] = []
    for n in (int(m) for m in MARK.findall(text)):
        if n not in order:
            order.append(n)
    mapping = {old: new for new, old in enumerate(order, start=1)}
    return MARK.sub(lambda m: f"[{mapping[int(m.group(1))]}]", text), tuple(passages[n - 1] for n in order)


def quoted_in(text: str, n: int) -> tuple[str, ...]:
    """The quotes a checked answer attributes to citation n."""
    return tuple(quote for quote, marks in QUOTE_WITH_MARK.findall(text) if f"[{n}]" in marks)


def ground_answer(text: str, passages: list[Document]) -> GroundedText:
    """Check a model's answer against the passages it was given."""
    warnings: list[str] = []
    checked = check_quotes(text, passages, warnings)
    checked = check_marks(checked, len(passages), warnings)
    checked = re.sub(r"[ \t]+\n", "\n", mark_uncited(checked.strip()))
    renumbered, cited = renumber(checked, passages)
    return GroundedText(renumbered, cited, tuple(warnings))
