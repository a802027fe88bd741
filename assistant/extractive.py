"""The default answerer: quote the sentences that answer the question, verbatim, with citations."""

import re
from dataclasses import dataclass, replace

from langchain_core.documents import Document

from assistant.answer import NOT_FOUND, Answer, Citation
from assistant.questions import LISTING, lead_line
from ingest.clean import squeeze
from ingest.metadata import DOCUMENT_TYPES
from ingest.model import SECTION_SEPARATOR
from ingest.structure import sentence_spans
from vectorstore.tokenize import query_terms

RELATED_SHOWN = 3
# A title naming an official document (as opposed to a news report) "规定" what it says.
OFFICIAL_TITLE = re.compile(rf"(?:{DOCUMENT_TYPES})(?:（[^）]*）)?$")
MAX_LISTED = 12
# A sentence is quoted beside the best one when it scores at least this share of the best score
# (0.8 -> 0.6 raised ncppolicies gold_in_citations 0.775 -> 0.804, govqa 0.487 -> 0.507).
COMPANION_SHARE = 0.6
# The retriever's order carries what term coverage cannot (term frequency, passage length): a
# sentence gains this much divided by 1 + its passage's rank (0.759 -> 0.775 on ncppolicies).
RANK_BONUS = 0.1
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


@dataclass(frozen=True)
class SentenceCandidate:
    """A sentence of a retrieved passage that might be quoted."""

    rank: int
    start: int
    end: int
    score: float


def weigh_terms(question: str, idf) -> WeightedTerms:
    """The question's informative words weighted by how rare they are in the store."""
    terms = tuple(query_terms(question))
    return WeightedTerms(terms, tuple(idf(t) for t in terms), tuple(abbreviation_pattern(t) for t in terms))


def passage_context(document: Document) -> str:
    """A passage's document title, section path and text, the evidence a reader sees for it (a question
    naming the issuer or the notice is answered from that document: ncppolicies gold_in_citations
    0.825 -> 0.837, false refusals 0.037 -> 0.025, refusal accuracy 0.92 -> 0.91)."""
    return f"{document.metadata['title']}\n{document.metadata['section']}\n{document.page_content}"


def score_sentences(terms: WeightedTerms, documents: list[Document]) -> list[SentenceCandidate]:
    """Every sentence of the retrieved passages scored by the question words it and its passage hold."""
    candidates = []
    for rank, document in enumerate(documents):
        context_score = terms.coverage(passage_context(document))
        for start, end in sentence_spans(document.page_content):
            sentence = document.page_content[start:end].strip()
            if sentence:
                score = 0.6 * terms.coverage(sentence) + 0.4 * context_score + RANK_BONUS / (1 + rank)
                candidates.append(SentenceCandidate(rank, start, end, score))
    return sorted(candidates, key=lambda c: (-c.score, c.rank, c.start))


def pick_quotes(candidates: list[SentenceCandidate], max_quotes: int) -> dict[int, list[tuple[int, int]]]:
    """The sentences to quote, by passage rank, adjacent ones of one passage merged."""
    if not candidates:
        return {}
    floor = candidates[0].score * COMPANION_SHARE
    chosen = [c for c in candidates if c.score >= floor][:max_quotes]
    by_rank: dict[int, list[tuple[int, int]]] = {}
    for c in sorted(chosen, key=lambda c: (c.rank, c.start)):
        spans = by_rank.setdefault(c.rank, [])
        if spans and spans[-1][1] >= c.start:
            spans[-1] = (spans[-1][0], c.end)
        else:
            spans.append((c.start, c.end))
    return by_rank


def short_section(section: str) -> str:
    """The last two levels of a section path, enough to find the place."""
    return SECTION_SEPARATOR.join(section.split(SECTION_SEPARATOR)[-2:])


def make_citation(n: int, document: Document, quotes: tuple[str, ...]) -> Citation:
    """A citation record for a retrieved passage."""
    m = document.metadata
    return Citation(
        n=n,
        passage_id=m["passage_id"],
        doc_id=m["doc_id"],
        title=m["title"],
        section=m["section"],
        text=document.page_content,
        start=m["start"],
        end=m["end"],
        source=m["source"],
        issuer=m.get("issuer", ""),
        date=m.get("date", ""),
        doc_number=m.get("doc_number", ""),
        quotes=quotes,
        score=m.get("score", 0.0),
    )


def quote_line(citation: Citation) -> str:
    """One line of the answer: where the provision stands and its verbatim words."""
    place = f"《{citation.title}》"
    if citation.section:
        place += f"（{short_section(citation.section)}）"
    quoted = "……".join(citation.quotes)
    verb = "规定" if OFFICIAL_TITLE.search(citation.title) else ""
    return f"{place}{verb}：\n「{quoted}」[{citation.n}]"


def decline(question: str, documents: list[Document], evidence: float) -> Answer:
    """Say plainly that the documents do not answer, and show the nearest passages as only possibly related."""
    related = tuple(make_citation(i + 1, d, ()) for i, d in enumerate(documents[:RELATED_SHOWN]))
    text = NOT_FOUND
    if related:
        shown = "\n".join(f"- 《{c.title}》（{short_section(c.section) or '正文'}）：{c.text[:60]}…" for c in related)
        text += "\n\n可能相关（仅供参考，并非对问题的回答）：\n" + shown
    return Answer(question=question, text=text, refused=True, related=related, evidence=evidence)


def gather_list(question: str, documents: list[Document], by_rank: dict, section_of) -> tuple[list, dict]:
    """For a 有哪些 question answered by a list item, every item of that section, each quoted whole."""
    if section_of is None or not LISTING.search(question) or not by_rank:
        return documents, by_rank
    first = documents[next(iter(by_rank))]
    if first.metadata.get("kind") != "item":
        return documents, by_rank
    items = [d for d in section_of(first) if d.metadata.get("kind") == "item"][:MAX_LISTED]
    return items, {rank: [(0, len(d.page_content))] for rank, d in enumerate(items)}


def continuing_passage(by_rank: dict, supported: list[Document], section_of) -> Document | None:
    """The paragraph that carries on where the first quote ends its passage, in the same section, if any.

    A quote that closes its passage often stops where the provision goes on ("……的，按以下办理。"
    and the next paragraph); the next paragraph is cited with its first sentence.
    """
    rank = next(iter(by_rank))
    document = supported[rank]
    if document.metadata.get("kind") != "paragraph" or by_rank[rank][-1][1] < len(document.page_content.rstrip()):
        return None
    siblings = section_of(document)
    following = [d for d in siblings if d.metadata["start"] > document.metadata["start"]]
    return following[0] if following and following[0].metadata.get("kind") == "paragraph" else None


def compose_extractive_answer(
    question: str,
    documents: list[Document],
    idf,
    min_evidence: float,
    max_quotes: int,
    section_of=None,
    focus: str | None = None,
) -> Answer:
    """Answer by quoting retrieved sentences, or decline when no passage holds enough of the question.

    `focus` is the question the evidence is weighed against (the follow-up itself, where the
    retrieval query also carried the earlier question's topic); `section_of` lists a passage's
    section, for gathering every item a 有哪些 question asks for.
    """
    terms = weigh_terms(focus or question, idf)
    coverages = [terms.coverage(passage_context(d)) for d in documents]
    evidence = max(coverages, default=0.0)
    if not terms.terms or evidence < min_evidence:
        return decline(question, documents, evidence)
    # Every retrieved passage may be quoted once the evidence suffices: a passage holding fewer of the
    # question's words than the threshold often holds the answer itself, the words being in the one
    # before it (ncppolicies gold_in_citations 0.807 -> 0.825); COMPANION_SHARE decides what is quoted.
    by_rank = pick_quotes(score_sentences(terms, documents), max_quotes)
    supported, by_rank = gather_list(focus or question, documents, by_rank, section_of)
    citations, seen = [], set()
    for rank, spans in by_rank.items():
        document = supported[rank]
        content = squeeze(document.page_content)
        if content in seen:
            continue  # the same provision standing in another document is cited once
        seen.add(content)
        quotes = tuple(document.page_content[s:e].strip() for s, e in spans)
        citations.append(make_citation(len(citations) + 1, document, quotes))
    if section_of is not None and citations and len(citations) < max_quotes:
        continuation = continuing_passage(by_rank, supported, section_of)
        if continuation is not None and squeeze(continuation.page_content) not in seen:
            first_sentence = continuation.page_content[slice(*sentence_spans(continuation.page_content)[0])].strip()
            citations.insert(1, make_citation(2, continuation, (first_sentence,)))
            citations = [replace(c, n=n) for n, c in enumerate(citations, start=1)]
    lines = [quote_line(c) for c in citations]
    lead = lead_line(focus or question, citations[0].quotes[0], terms.terms) if citations else None
    text = "\n\n".join(([lead] if lead else []) + lines)
    return Answer(question=question, text=text, refused=False, citations=tuple(citations), evidence=evidence)
