"""Lexical evidence: how much of a question's informative words a passage holds, weighted by rarity."""

import re
from dataclasses import dataclass

from langchain_core.documents import Document

from vectorstore.tokenize import query_terms

# Chinese abbreviations keep characters of the full form in order: 追责 for 追究责任, 减负 for 减轻负担.
ABBREVIATION_GAP = 2
CJK_WORD = re.compile(r"[\u4e00-\u9fff]+")


def abbreviation_pattern(term: str) -> re.Pattern | None:
    """For a short Chinese word, a pattern that finds its full form with a few characters between (追责: 追究责任)."""
    if not 2 <= len(term) <= 4 or not CJK_WORD.fullmatch(term):
        return None
    return re.compile(f".{{0,{ABBREVIATION_GAP}}}".join(re.escape(ch) for ch in term))


def occurs(term: str, pattern: re.Pattern | None, text: str) -> bool:
    """True when the term, or the full form it abbreviates, stands in the text."""
    return term in text or (pattern is not None and pattern.search(text) is not None)


@dataclass(frozen=True)
class WeightedTerms:
    """The informative words of a question with their IDF weights."""

    terms: tuple[str, ...]
    weights: tuple[float, ...]
    patterns: tuple[re.Pattern | None, ...]

    def coverage(self, text: str) -> float:
        """IDF-weighted share of the terms that occur (or whose full form occurs) in `text`."""
        total = sum(self.weights)
        if not total:
            return 0.0
        lowered = text.lower()
        found = (w for t, w, p in zip(self.terms, self.weights, self.patterns) if occurs(t, p, lowered))
        return sum(found) / total


def weigh_terms(question: str, idf) -> WeightedTerms:
    """The question's informative words weighted by how rare they are in the store."""
    terms = tuple(query_terms(question))
    return WeightedTerms(terms, tuple(idf(t) for t in terms), tuple(abbreviation_pattern(t) for t in terms))


def passage_context(document: Document) -> str:
    """A passage's document title, section path and text, the evidence a reader sees for it (a question
    naming the issuer or the notice is answered from that document: ncppolicies gold_in_citations
    0.825 -> 0.837, false refusals 0.037 -> 0.025, refusal accuracy 0.92 -> 0.91)."""
    return f"{document.metadata['title']}\n{document.metadata['section']}\n{document.page_content}"


