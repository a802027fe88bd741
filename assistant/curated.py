"""Serving curated answers: checking an editor's entry against the documents, and matching users' questions to entries."""

from dataclasses import asdict
from datetime import date

import numpy as np

from assistant.answer import Answer, Citation, citation_dict
from assistant.faq import NO_QUOTE_NOTICE, FaqEntry, FaqStore, QuoteNotFound, best_match, locate, marked, quotes_in
from assistant.lifecycle import Lifecycles
from assistant.questions import clean_question, fact_kind
from vectorstore.store import PassageStore

# With multilingual-e5-small, a question is a candidate for a curated answer at this cosine of the two
# questions' query embeddings: measured by `python -m evaluation.faq`, 0.88 is where the share of
# hand-written paraphrases matched levels off (0.94; 0.84 at 0.90, 0.75 at 0.92). Cosine alone does not
# separate a paraphrase from another question on the same document (the dev sets' near misses: 0.84
# match at 0.88, still 0.42 at 0.92), so a candidate is served only when the question's own retrieval
# finds a passage the curated answer quotes (AssistantService._curated): see the README for both rates.
E5_FAQ_MIN_SIMILARITY = 0.88
# A curated answer citing nothing has no passage to agree on: it is served only to a near-identical question.
UNQUOTED_MIN_SIMILARITY = 0.95
# The question's own best passage must be one the curated answer quotes. On the bundled gold set (each
# question curated in turn with its gold answer, every other question asked; `python -m evaluation.faq`)
# the best passage at 0.88 served 18 right and 1 wrong of 1862 pairs; among the best 2: 18 and 9; 3: 18 and 21.
AGREEMENT_DEPTH = 1
# With any other model a curated answer serves only its own question, written the same way.
EXACT = 0.9999


class CuratedAnswers:
    """Editors' standard answers over one passage store: added only when every quote stands in a document."""

    def __init__(self, store: FaqStore, passages: PassageStore, lifecycles: Lifecycles, embeddings, model: str, threshold: float) -> None:
        self.unquoted_threshold = UNQUOTED_MIN_SIMILARITY if threshold < EXACT else EXACT
        self.store = store
        self.passages = passages
        self.lifecycles = lifecycles
        self.embeddings = embeddings
        self.model = model
        self.threshold = threshold

    def add(self, question: str, answer: str, user: str = "") -> dict:
        """Check and store an entry; raises QuoteNotFound naming a quote no document holds, ValueError for an empty field."""
        question, answer = clean_question(question), (answer or "").strip()
        if not answer:
            raise ValueError("标准答案不能为空")
        quotes = quotes_in(answer)
        citations = [citation_dict(c) for c in self.cite(quotes)]
        vector = self.embeddings.embed_query(question)
        return self.store.add(question, marked(answer, quotes), citations, self.model, list(map(float, vector)), user).to_dict()

    def cite(self, quotes: list[str]) -> list[Citation]:
        """The citation of each quote: the stored passage it starts in, the document's own words as the quote."""
        with self.passages.reading():
            texts = {doc_id: self.passages.document_text(doc_id) for doc_id in sorted(self.passages.doc_ids())}
            citations = []
            for n, quote in enumerate(quotes, start=1):
                found = locate(quote, texts)
                if found is None:
                    raise QuoteNotFound(quote)
                doc_id, start, end = found
                passage = next(
                    (p for p in self.passages.passages_of(doc_id) if p.start <= start < p.end),
                    min(self.passages.passages_of(doc_id), key=lambda p: abs(p.start - start)),
                )
                citations.append(Citation.of(asdict(passage), n=n, quotes=(texts[doc_id][start:end],), score=1.0))
        return citations

    def entries(self, day: date | None = None) -> list[dict]:
        """Every entry as the API lists it, those whose cited documents are gone or repealed flagged first."""
        return [e.to_dict() for e in self.reviewed(day or date.today())]

    def reviewed(self, day: date) -> list[FaqEntry]:
        """The entries, each flagged (and read again) when a document it cites is removed or repealed by `day`."""
        entries = self.store.entries()
        if not entries:
            return entries
        stored = self.passages.doc_ids()
        flagged = False
        for entry in entries:
            reason = "" if entry.review else self.stale_reason(entry, stored, day)
            if reason:
                self.store.flag(entry.id, reason)
                flagged = True
        return self.store.entries() if flagged else entries

    def stale_reason(self, entry: FaqEntry, stored: set[str], day: date) -> str:
        """Why an entry can no longer be served as it stands ('' when it can)."""
        for citation in entry.citations:
            if citation["doc_id"] not in stored:
                return f"引用的文件《{citation['title']}》已从知识库删除"
            if self.lifecycles.describe(citation["doc_id"], day)["status"] == "repealed":
                return f"引用的文件《{citation['title']}》已废止"
        return ""

    def remove(self, entry_id: int) -> None:
        """Delete an entry; KeyError when there is none."""
        self.store.remove(entry_id)

    def candidate(self, question: str, doc_ids: list[str] | None, day: date) -> tuple[FaqEntry, float] | None:
        """The entry whose question is most alike (at least the threshold, asking for the same kind of fact), if any.

        Whether its quotes answer the question is for the caller to check (see AssistantService._curated).
        """
        entries = [e for e in self.reviewed(day) if not e.review]
        entries = [e for e in entries if not doc_ids or e.cited_documents() <= set(doc_ids)]
        if not entries:
            return None
        asked = np.asarray(self.embeddings.embed_query(question))
        entry, score = best_match(asked, [self.current(e) for e in entries])
        needed = self.threshold if entry.citations else max(self.threshold, self.unquoted_threshold)
        if score < needed or fact_kind(question) != fact_kind(entry.question):
            return None
        return entry, score

    @staticmethod
    def answer(entry: FaqEntry, question: str, score: float) -> Answer:
        """The entry as the answer to a question: its text and citations, with a notice when it cites nothing."""
        citations = tuple(Citation(**(c | {"quotes": tuple(c.get("quotes", ()))})) for c in entry.citations)
        text = entry.answer if citations else f"{entry.answer}\n\n{NO_QUOTE_NOTICE}"
        warnings = () if citations else (NO_QUOTE_NOTICE,)
        return Answer(question, text, False, citations, similarity=score, warnings=warnings, source="faq", evidence=1.0)

    def current(self, entry: FaqEntry) -> FaqEntry:
        """The entry with its question embedded by the model now in use (embedded again after a model change)."""
        if entry.model == self.model:
            return entry
        vector = list(map(float, self.embeddings.embed_query(entry.question)))
        self.store.revectored(entry, self.model, vector)
        return FaqEntry(**{**entry.__dict__, "model": self.model, "vector": tuple(vector)})


def quotes_retrieved(entry: FaqEntry, retrieved: list) -> bool:
    """Whether a retrieved passage (a Document) overlaps a passage the entry cites, in the same document."""
    return any(
        d.metadata.get("doc_id") == c["doc_id"] and d.metadata.get("start", 0) < c["end"] and c["start"] < d.metadata.get("end", 0)
        for d in retrieved for c in entry.citations
    )
