"""The default answerer: quote the sentences that answer the question, verbatim, with citations."""

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from langchain_core.documents import Document

from assistant.answer import NOT_FOUND, Answer, Citation, short_section
from assistant.questions import LISTING, lead_line
from ingest.clean import squeeze
from ingest.metadata import DOCUMENT_TYPES
from ingest.structure import sentence_spans
from vectorstore.evidence import WeightedTerms, passage_context, weigh_terms

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
# A question answered by meaning quotes from its first passages the sentences the model finds
# closest to it, and beside the best those within this much cosine of it.
MEANING_PASSAGES = 3
MEANING_COMPANION_MARGIN = 0.02
# The retriever's order still counts, on the scale of cosine differences between sentences.
MEANING_RANK_BONUS = 0.02
# A sentence that asks (ends with a question mark, closing quotes aside) states nothing: it is never
# quoted, and a passage of nothing but questions, such as one restating the question, is no evidence.
ASKS = re.compile(r"[？?][」”’\"'）)]*\s*$")
# Nor is a sentence quoted that holds the question again, its interrogative included
# (「请大家思考先行先试中出现的失误能否免责。」): this share of the question's character pairs or more.
INTERROGATIVE = re.compile(r"能否|是否|可否|能不能|可不可以|怎么|怎样|如何|为什么|什么|哪些|哪个|多少|几[个天年次]|吗|呢")
RESTATED_SHARE = 0.8


@dataclass(frozen=True)
class SentenceCandidate:
    """A sentence of a retrieved passage that might be quoted."""

    rank: int
    start: int
    end: int
    score: float


def quotable_for(question: str) -> Callable[[str], bool]:
    """Whether a sentence may be quoted for `question`: it states something, and not merely the question again."""
    core = re.sub(r"\W", "", question)
    pairs = {core[i : i + 2] for i in range(len(core) - 1)}

    def quotable(sentence: str) -> bool:
        if ASKS.search(sentence):
            return False
        if not pairs or not INTERROGATIVE.search(sentence):
            return True
        return sum(pair in sentence for pair in pairs) < RESTATED_SHARE * len(pairs)

    return quotable


def score_sentences(terms: WeightedTerms, documents: list[Document], quotable: Callable[[str], bool]) -> list[SentenceCandidate]:
    """Every sentence of the retrieved passages scored by the question words it and its passage hold."""
    candidates = []
    for rank, document in enumerate(documents):
        context_score = terms.coverage(passage_context(document))
        for start, end in sentence_spans(document.page_content):
            sentence = document.page_content[start:end].strip()
            if sentence and quotable(sentence):
                score = 0.6 * terms.coverage(sentence) + 0.4 * context_score + RANK_BONUS / (1 + rank)
                candidates.append(SentenceCandidate(rank, start, end, score))
    return sorted(candidates, key=lambda c: (-c.score, c.rank, c.start))


def score_by_meaning(question: str, documents: list[Document], similar, quotable: Callable[[str], bool]) -> list[SentenceCandidate]:
    """The sentences of the first passages scored by the embedding model's similarity to the question.

    For a question answered by meaning, whose words the passages hardly share: the sentence quoted
    is the one that says what was asked, not the one that happens to share a character or two.
    """
    spans = [
        (rank, start, end)
        for rank, document in enumerate(documents[:MEANING_PASSAGES])
        for start, end in sentence_spans(document.page_content)
        if document.page_content[start:end].strip() and quotable(document.page_content[start:end].strip())
    ]
    if not spans:
        return []
    scores = similar(question, [documents[rank].page_content[start:end].strip() for rank, start, end in spans])
    candidates = [
        SentenceCandidate(rank, start, end, score + MEANING_RANK_BONUS / (1 + rank))
        for (rank, start, end), score in zip(spans, scores)
    ]
    return sorted(candidates, key=lambda c: (-c.score, c.rank, c.start))


def pick_quotes(candidates: list[SentenceCandidate], max_quotes: int, margin: float | None = None) -> dict[int, list[tuple[int, int]]]:
    """The sentences to quote by passage rank, the passage of the best sentence first, adjacent ones of one passage merged.

    Companions are those scoring COMPANION_SHARE of the best, or, given a `margin`, within it of the best.
    The passages come in the order of their best sentences, so that the answer leads with the
    sentence that answers best (the yes/no and number leads are taken from it), not with the one
    whose passage the retriever happened to rank first.
    """
    if not candidates:
        return {}
    floor = candidates[0].score - margin if margin is not None else candidates[0].score * COMPANION_SHARE
    chosen = [c for c in candidates if c.score >= floor][:max_quotes]
    by_rank: dict[int, list[tuple[int, int]]] = {c.rank: [] for c in chosen}  # candidates come best first
    for c in sorted(chosen, key=lambda c: (c.rank, c.start)):
        spans = by_rank[c.rank]
        if spans and spans[-1][1] >= c.start:
            spans[-1] = (spans[-1][0], c.end)
        else:
            spans.append((c.start, c.end))
    return by_rank


def make_citation(n: int, document: Document, quotes: tuple[str, ...]) -> Citation:
    """A citation record for a retrieved passage."""
    return Citation.of({**document.metadata, "text": document.page_content}, n, quotes=quotes)


def states_something(document: Document, quotable: Callable[[str], bool]) -> bool:
    """Whether a passage holds a sentence that may be quoted, not only questions or the question again."""
    text = document.page_content
    return any(text[s:e].strip() and quotable(text[s:e].strip()) for s, e in sentence_spans(text))


def quote_line(citation: Citation) -> str:
    """One line of the answer: where the provision stands and its verbatim words."""
    quoted = "……".join(citation.quotes)
    verb = "规定" if OFFICIAL_TITLE.search(citation.title) else ""
    return f"{citation.place()}{verb}：\n「{quoted}」[{citation.n}]"


def best_similarity(documents: list[Document]) -> float:
    """The embedding model's highest question-passage similarity among the retrieved passages (0 without one)."""
    return max((d.metadata.get("similarity") or 0.0 for d in documents), default=0.0)


def decline(question: str, documents: list[Document], evidence: float, similarity: float = 0.0) -> Answer:
    """Say plainly that the documents do not answer, and show the nearest passages as only possibly related."""
    related = tuple(make_citation(i + 1, d, ()) for i, d in enumerate(documents[:RELATED_SHOWN]))
    text = NOT_FOUND
    if related:
        shown = "\n".join(f"- 《{c.title}》（{short_section(c.section) or '正文'}）：{c.text[:60]}…" for c in related)
        text += "\n\n可能相关（仅供参考，并非对问题的回答）：\n" + shown
    return Answer(question=question, text=text, refused=True, related=related, evidence=evidence, similarity=similarity)


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
    min_similarity: float | None = None,
    similar=None,
    quote_by_words: float | None = None,
) -> Answer:
    """Answer by quoting retrieved sentences, or decline when no passage holds enough of the question.

    A passage is evidence when it holds `min_evidence` of the question's informative words, or when
    the embedding model finds it at least `min_similarity` alike in meaning (None: words only) and
    some passage holds at least one of those words;
    `similar(question, sentences)` gives the model's similarity of each sentence to the question.
    Below `quote_by_words` of the question's words (default `min_evidence`) the sentences quoted are
    those the model finds closest in meaning.
    `focus` is the question the evidence is weighed against (the follow-up itself, where the
    retrieval query also carried the earlier question's topic); `section_of` lists a passage's
    section, for gathering every item a 有哪些 question asks for.
    """
    quotable = quotable_for(focus or question)
    retrieved, documents = documents, [d for d in documents if states_something(d, quotable)]
    terms = weigh_terms(focus or question, idf)
    coverages = [terms.coverage(passage_context(d)) for d in documents]
    evidence = max(coverages, default=0.0)
    similarity = best_similarity(documents)
    # Meaning alone, with not one of the question's informative words in any passage, answered only
    # questions the documents cannot answer: on the dev sets no answered question of their own lacks
    # a word (0 of 2 726), on the bundled texts 「干部子女上学有什么优惠政策？」 (cosine 0.893) and
    # English ones, whose cosines to Chinese text crowd into 0.70-0.80 on topic or not, did.
    by_meaning = min_similarity is not None and similarity >= min_similarity and evidence > 0
    if not documents or (evidence < min_evidence and not by_meaning):
        return decline(question, retrieved, evidence, similarity)
    # Every retrieved passage may be quoted once the evidence suffices: a passage holding fewer of the
    # question's words than the threshold often holds the answer itself, the words being in the one
    # before it (ncppolicies gold_in_citations 0.807 -> 0.825); COMPANION_SHARE decides what is quoted.
    if evidence < (min_evidence if quote_by_words is None else quote_by_words) and similar is not None:  # quote by meaning
        candidates = score_by_meaning(focus or question, documents, similar, quotable)
        by_rank = pick_quotes(candidates, max_quotes, MEANING_COMPANION_MARGIN)
    else:
        candidates = score_sentences(terms, documents, quotable)
        by_rank = pick_quotes(candidates, max_quotes)
    # The yes/no or number lead is read from the sentence that answers best, not from whichever of
    # its passage's quoted sentences comes first (「……斗争一线……」 before 「……235名干部得到提拔……」).
    best = documents[candidates[0].rank].page_content[candidates[0].start : candidates[0].end].strip() if candidates else ""
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
    lead = lead_line(focus or question, best, terms.terms) if citations else None  # citations come from candidates
    text = "\n\n".join(([lead] if lead else []) + lines)
    return Answer(
        question=question, text=text, refused=False, citations=tuple(citations), evidence=evidence, similarity=similarity
    )
