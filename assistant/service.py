"""The assistant service: the one object the CLI, the web chat and the API all call."""

import logging
import math
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
from langchain_core.documents import Document

from assistant.answer import Answer, Reply
from assistant.course import Course, build_course
from assistant.conversations import ConversationStore
from assistant.crosslingual import is_english, translate
from assistant.curated import AGREEMENT_DEPTH, E5_FAQ_MIN_SIMILARITY, EXACT, CuratedAnswers, quotes_retrieved
from assistant.faq import FaqStore
from assistant.extractive import compose_extractive_answer
from assistant.lifecycle import Lifecycles
from assistant.llm import condense, llm_answer, llm_stream, with_notice
from assistant.questions import check_filters, clean_question, is_follow_up, previous_question, without_links
from assistant.suggestions import neighbour_questions, unasked
from ingest.pages import PageNotFound, check_span, render_page
from ingest.pipeline import IngestPipeline, IngestReport
from vectorstore.embeddings import E5_MODEL
from vectorstore.retriever import HybridRetriever
from vectorstore.store import PassageStore
from vectorstore.tokenize import query_terms

log = logging.getLogger(__name__)

MANIFEST_FILE = "sources.json"
# Searched when every stored document is left out on the day asked: no document has this id.
NO_DOCUMENT = ""
# With multilingual-e5-small a question is answered when the model finds a returned passage alike enough
# in meaning (cosine), or a passage holds E5_MIN_EVIDENCE of its words. How alike is enough grows with
# the passages searched: the best of many passages stands higher by chance alone (on each dev corpus
# cut to 34-2 240 passages, the best similarity of questions it cannot answer rose about 0.003 a
# doubling), and between the dev corpora, 706 to 2 406 passages, the threshold that separates best
# rose 0.008 a doubling. Measured by `python -m evaluation.fusion` on the three dev sets, their own
# questions against the next set's, the even and the odd questions apart: answering at
# E5_MIN_SIMILARITY + E5_SIMILARITY_PER_DOUBLING * log2(passages / E5_REFERENCE_PASSAGES), the number
# of passages held within the sizes measured, false refusals are at most 0.083 and refusal accuracy at
# least 0.90 on every set and half; every neighbouring setting (0.894-0.896, 0.007-0.009 a doubling)
# keeps both within the targets (<= 0.10, >= 0.85). One fixed threshold cannot (0.90: govqa refuses
# 0.80 of the questions it cannot answer, lecoqa falsely refuses 0.126). Words alone: the lecoqa
# layperson questions asked of govqa hold 0.64 of their words in some answer there (refusal 0.84 at
# 0.64), so words alone must hold nearly all of them; 0.85.
E5_MIN_EVIDENCE = 0.85
E5_MIN_SIMILARITY = 0.895
E5_REFERENCE_PASSAGES = 1445
E5_SIMILARITY_PER_DOUBLING = 0.008
E5_MEASURED_PASSAGES = (706, 2406)
# Below this share of the question's words the sentences quoted are chosen by meaning, not by words
# (ncppolicies gold_in_citations is made by quoting by words from 0.64 up).
E5_QUOTE_BY_WORDS = 0.64
# An English question's best cosine to the Chinese provision stands lower than its Chinese
# counterpart's: 0.12-0.15 (mean 0.133) on four pairs asked of the bundled texts (b01/b37, b38 and
# its Chinese, the Anhui promotions, the pilot-mistake exemption); an English question needs that much less.
E5_CROSSLINGUAL_DROP = 0.13
# Candidate follow-up questions put through the pipeline per suggestion offered, at most.
TRIES_PER_SUGGESTION = 2


def similarity_needed(passages: int, base: float = E5_MIN_SIMILARITY, per_doubling: float = E5_SIMILARITY_PER_DOUBLING) -> float:
    """The e5 similarity at which a passage is evidence when this many passages are searched (held within the sizes measured)."""
    held = min(max(passages, E5_MEASURED_PASSAGES[0]), E5_MEASURED_PASSAGES[1])
    return base + per_doubling * math.log2(held / E5_REFERENCE_PASSAGES)


class AssistantService:
    """Ingest, list, remove and ask, over one passage store and one retriever."""

    def __init__(
        self, settings, store: PassageStore, retriever: HybridRetriever, llm=None, reranker=None, lifecycles: Lifecycles | None = None,
        name: str = "default",
    ) -> None:
        self.settings = settings
        self.name = name  # the knowledge base this service answers for
        self.lifecycles = lifecycles or Lifecycles(store.documents, version=store.version)
        self._in_force: tuple[tuple, list[str] | None] | None = None  # the documents searched, for one version and day
        self.store = store
        self.retriever = retriever
        self.llm = llm
        self.reranker = reranker
        self._writing = threading.Lock()
        self.pipeline = IngestPipeline(
            store.add_documents, store.doc_ids, store.state_path(MANIFEST_FILE), Path(settings.data_dir), settings.passage_max_chars
        )
        # The configured model, while the store is still answered from another model's vectors.
        self.reindex_pending: str | None = None
        error = getattr(store.vectors.embeddings, "error", None)
        self.embedding_error: Exception | None = error
        self.curated = CuratedAnswers(
            FaqStore(Path(settings.data_dir) / "faq.sqlite3"), store, self.lifecycles, store.vectors.embeddings,
            retriever.model_label, E5_FAQ_MIN_SIMILARITY if retriever.model_label == E5_MODEL else EXACT,
        )

    def ingest(self, paths: list[Path], progress=None, metadata: dict | None = None) -> IngestReport:
        """Ingest files and folders (see IngestPipeline.ingest); one ingest or removal at a time."""
        with self._writing:
            return self.pipeline.ingest(paths, progress, metadata)

    def ingest_upload(self, filename: str, content: bytes, metadata: dict | None = None) -> IngestReport:
        """Keep an uploaded file under the data directory and ingest it; one that cannot be read is refused unstored."""
        with self._writing:
            return self.pipeline.ingest_upload(filename, content, metadata)

    def ingest_texts(self, texts: list[dict]) -> IngestReport:
        """Ingest in-memory documents: dicts with `text`, `source` and optionally `doc_id` and `title`."""
        with self._writing:
            return self.pipeline.ingest_texts(texts)

    def ensure_sample(self) -> IngestReport | None:
        """Ingest the bundled sample when the store is empty (and the settings allow it)."""
        if len(self.store) or not self.settings.ingest_sample_when_empty:
            return None
        return self.ingest([Path(self.settings.sample_dir)])

    def ask(
        self, question: str, doc_ids: list[str] | None = None, filters: dict | None = None, history: list | None = None,
        as_of: date | None = None,
    ) -> Answer:
        """Answer a question from the stored documents (or those chosen), quoting and citing them, or decline.

        `history` holds the earlier turns ({"role", "content"} dicts or plain questions); a follow-up
        such as "那受处分的干部呢？" is searched together with the previous question's topic. `as_of`
        (default today) is the day whose documents in force answer (see assistant.lifecycle).
        """
        return self.reply(question, doc_ids, filters, history, as_of).answer

    def reply(
        self, question: str, doc_ids: list[str] | None = None, filters: dict | None = None, history: list | None = None,
        as_of: date | None = None,
    ) -> Reply:
        """The answer and the retrieved passages it was composed from (one retrieval)."""
        reply = self._reply(question, doc_ids, filters, history, as_of)
        return Reply(reply.answer.in_base(self.name), reply.passages)

    def _reply(self, question, doc_ids, filters, history, as_of) -> Reply:
        day = as_of or date.today()
        curated = self._curated(question, doc_ids, filters, history, day)
        if curated is not None:
            return Reply(curated)
        extractive, documents, supporting = self._extractive(question, doc_ids, filters, history, day)
        if self.llm is None or extractive.refused:
            return Reply(extractive, tuple(documents))
        try:
            answer = llm_answer(self.llm, extractive.question, supporting, extractive.evidence)
        except Exception as error:  # noqa: BLE001 - any model failure (timeout, refused connection, API error)
            return Reply(with_notice(extractive, error), tuple(documents))
        return Reply(self._annotated(answer, day), tuple(documents))

    def ask_stream(
        self, question: str, doc_ids: list[str] | None = None, filters: dict | None = None, history: list | None = None,
        as_of: date | None = None,
    ) -> Iterator[str | Reply]:
        """The model's answer text as it arrives, then one Reply: the checked answer and the passages retrieved for it."""
        for piece in self._stream(question, doc_ids, filters, history, as_of):
            yield Reply(piece.answer.in_base(self.name), piece.passages) if isinstance(piece, Reply) else piece

    def _stream(self, question, doc_ids, filters, history, as_of) -> Iterator[str | Reply]:
        day = as_of or date.today()
        curated = self._curated(question, doc_ids, filters, history, day)
        if curated is not None:
            yield Reply(curated)
            return
        extractive, documents, supporting = self._extractive(question, doc_ids, filters, history, day)
        passages = tuple(documents)
        if self.llm is None or extractive.refused:
            yield Reply(extractive, passages)
            return
        try:
            for piece in llm_stream(self.llm, extractive.question, supporting, extractive.evidence):
                yield Reply(self._annotated(piece, day), passages) if isinstance(piece, Answer) else piece
        except Exception as error:  # noqa: BLE001 - any model failure (timeout, refused connection, API error)
            yield Reply(with_notice(extractive, error), passages)

    def _curated(self, question, doc_ids, filters, history, day: date) -> Answer | None:
        """An editor's curated answer when the question means the same as its standard one (not for a follow-up,
        nor under metadata filters), marked with its documents' status on the day."""
        question = clean_question(question)
        if filters or (previous_question(history) is not None and is_follow_up(question)):
            return None
        with self.store.reading():
            found = self.curated.candidate(question, doc_ids, day)
            if found is None:
                return None
            entry, score = found
            if entry.citations:  # the question must itself retrieve a passage the curated answer quotes
                retrieved = self._retrieve(question, self.in_force(doc_ids, day), None, AGREEMENT_DEPTH)
                if not quotes_retrieved(entry, retrieved):
                    return None
            return self._annotated(self.curated.answer(entry, question, score), day)

    def _extractive(self, question, doc_ids, filters, history, day: date) -> tuple[Answer, list[Document], list[Document]]:
        """The extractive answer, the retrieved passages, and the best of them (POLICYQA_LLM_PASSAGES) for a model.

        Retrieval and composition read one state of the store: a document added or removed meanwhile is
        either wholly seen or not at all.
        """
        question = clean_question(question)
        self.store.refresh_if_changed()
        with self.store.reading():
            answer, documents, supporting = self._extractive_now(question, self.in_force(doc_ids, day), filters, history)
            return self._annotated(answer, day), documents, supporting

    def converse(
        self, question: str, owner: str, conversation_id: str | None = None, doc_ids: list[str] | None = None,
        filters: dict | None = None, as_of: date | None = None,
    ) -> tuple[Answer, str]:
        """Answer as a turn of the owner's saved conversation (a new one when no id is given), with suggestions.

        The conversation's last POLICYQA_CONVERSATION_TURNS turns are the history a follow-up is read
        with. Returns the answer and the conversation's id; raises ConversationNotFound for an id that is
        not one of the owner's.
        """
        store = self.conversations()
        history = store.history(owner, conversation_id, self.settings.conversation_turns) if conversation_id else None
        answer = self.ask(question, doc_ids, filters, history, as_of)
        answer = replace(answer, suggestions=self.suggest(answer, doc_ids, filters, history, as_of))
        return answer, store.record(owner, conversation_id, clean_question(question), answer.to_dict())

    def suggest(
        self, answer: Answer, doc_ids: list[str] | None = None, filters: dict | None = None, history: list | None = None,
        as_of: date | None = None,
    ) -> tuple[str, ...]:
        """Up to POLICYQA_SUGGESTIONS questions on the provisions beside those cited, each answered from the cited
        documents by the pipeline before it is offered; none for a declined answer."""
        wanted = self.settings.suggestions
        if answer.refused or not wanted or not answer.citations:
            return ()
        cited_docs = list(dict.fromkeys(c.doc_id for c in answer.citations))
        with self.store.reading():
            candidates = [q for d in cited_docs for q in neighbour_questions(self.store.passages_of(d), {c.passage_id for c in answer.citations})]
        asked = [answer.question] + [t["content"] for t in history or [] if isinstance(t, dict) and t.get("role") == "user"]
        offered = []
        for candidate in unasked(candidates, asked)[: wanted * TRIES_PER_SUGGESTION]:
            trial, _, _ = self._extractive(candidate, doc_ids, filters, None, as_of or date.today())
            if not trial.refused and any(c.doc_id in cited_docs for c in trial.citations):
                offered.append(candidate)
            if len(offered) == wanted:
                break
        return tuple(offered)

    def conversations(self) -> ConversationStore:
        """Saved conversations, per owner, in SQLite under the data directory."""
        return ConversationStore(Path(self.settings.data_dir) / "conversations.sqlite3")

    def in_force(self, doc_ids: list[str] | None, day: date) -> list[str] | None:
        """The documents to search on a day: those chosen (even if not in force: the answer marks them), else
        every stored one but those repealed by then or not yet issued (None: all)."""
        if doc_ids:
            return doc_ids
        key = (self.store.version(), day)
        if self._in_force is None or self._in_force[0] != key:
            left_out = self.lifecycles.left_out(day)
            self._in_force = (key, (sorted(self.store.doc_ids() - left_out) or [NO_DOCUMENT]) if left_out else None)
        return self._in_force[1]

    def _extractive_now(self, question, doc_ids, filters, history) -> tuple[Answer, list[Document], list[Document]]:
        previous = previous_question(history)
        follow_up = previous is not None and is_follow_up(question)
        query = self._standalone(question, history) if follow_up else question
        focus = query
        if follow_up and query == question:  # no model to rewrite it: carry the previous question's topic
            own = without_links(question)
            query = f"{own} {previous}"
            focus = own if len(query_terms(own)) >= 2 else query
        translation = translate(question, self.store.lexical.passages_holding) if is_english(question) else None
        dense_query = query
        if translation is not None:  # an English question asked in the documents' Chinese words; the model reads it as it is
            query = focus = translation.query
        documents = self._retrieve(query, doc_ids, check_filters(filters), self.settings.top_k, dense_query)
        answer = compose_extractive_answer(
            question,
            documents,
            idf=self.store.lexical.idf,
            min_evidence=self.min_evidence(),
            max_quotes=self.settings.max_quotes,
            section_of=self.section_of,
            focus=focus,
            min_similarity=self.min_similarity(is_english(question), self.searched_passages(doc_ids, filters)),
            similar=self.similarity_to if self.min_similarity() is not None else None,
            quote_by_words=self.quote_by_words(),
        )
        if translation is not None:
            answer = replace(answer, text=f"{answer.text}\n\n{translation.note()}")
        return answer, documents, documents[: self.settings.llm_passages]

    def similarity_to(self, question: str, sentences: list[str]) -> list[float]:
        """The embedding model's cosine similarity of each sentence to the question."""
        embeddings = self.store.vectors.embeddings
        asked = np.asarray(embeddings.embed_query(question))
        return (np.asarray(embeddings.embed_documents(sentences)) @ asked).tolist()

    def min_evidence(self) -> float:
        """The share of the question's words a passage must hold to be evidence by words.

        Where meaning counts as well (the bundled e5), words alone must cover more of the question,
        unless POLICYQA_MIN_EVIDENCE is set.
        """
        if self.min_similarity() is None or "min_evidence" in self.settings.model_fields_set:
            return self.settings.min_evidence
        return E5_MIN_EVIDENCE

    def quote_by_words(self) -> float:
        """The share of the question's words from which the sentences quoted are chosen by words, not by meaning."""
        return min(E5_QUOTE_BY_WORDS, self.min_evidence())

    def min_similarity(self, english: bool = False, passages: int | None = None) -> float | None:
        """The similarity at which a passage is evidence by meaning (None: by words only), given how many
        passages were searched (default: all stored); lower for an English question."""
        if self.settings.min_similarity != "auto":
            return float(self.settings.min_similarity)
        if self.retriever.model_label != E5_MODEL or self.retriever.effective_dense_weight() == 0:
            return None
        threshold = similarity_needed(len(self.store) if passages is None else passages)
        return threshold - (E5_CROSSLINGUAL_DROP if english else 0.0)

    def searched_passages(self, doc_ids: list[str] | None, filters: dict | None) -> int:
        """How many passages a question searches: those of the chosen documents and filters, else all."""
        return self.store.count_matching(doc_ids, check_filters(filters))

    def _standalone(self, question: str, history: list | None) -> str:
        """A follow-up rewritten by the model as a standalone question; the follow-up itself without a model."""
        if self.llm is None:
            return question
        turns = [t if isinstance(t, dict) else {"role": "user", "content": t} for t in history or []]
        try:
            return condense(self.llm, question, turns)
        except Exception:  # noqa: BLE001 - fall back to carrying the previous question's topic
            return question

    def section_of(self, document: Document) -> list[Document]:
        """The passages of a retrieved passage's section, in document order, as retriever documents."""
        doc_id, section = document.metadata["doc_id"], document.metadata["section"]
        with self.store.reading():
            return [self.retriever.as_document(p.passage_id) for p in self.store.passages_of(doc_id) if p.section == section]

    def documents(self, as_of: date | None = None) -> list[dict]:
        """The stored documents with their passage counts, their lifecycle on a day (default today) and their base."""
        day = as_of or date.today()
        return [{**d, **self.lifecycles.describe(d["doc_id"], day), "kb": self.name} for d in self.store.documents()]

    def correct_lifecycle(self, doc_id: str, fields: dict) -> dict:
        """Correct a stored document's lifecycle fields (kept across re-ingest); its listing as corrected, today.

        Raises KeyError for a document not stored, ValueError for a malformed field."""
        if doc_id not in self.store.doc_ids():
            raise KeyError(doc_id)
        corrected = self.lifecycles.correct(doc_id, fields)
        listed = next(d for d in self.documents() if d["doc_id"] == doc_id)
        return {**listed, "corrected": sorted(corrected)}

    def remove(self, doc_id: str) -> int:
        """Remove a document everywhere; raises KeyError when it is not stored."""
        with self._writing:
            if doc_id not in self.store.doc_ids():
                raise KeyError(doc_id)
            removed = self.store.remove_document(doc_id)
            self.pipeline.forget({doc_id})
        self.curated.reviewed(date.today())  # curated answers citing it are flagged for review
        return removed

    def _annotated(self, answer: Answer, day: date) -> Answer:
        """The answer with each citation's status on `day` and, from a paged source, the page its quoted words stand on."""
        answer = self.lifecycles.annotate(answer, day)
        return replace(answer, citations=tuple(self._paged(c) for c in answer.citations), related=tuple(self._paged(c) for c in answer.related))

    def _paged(self, citation):
        """A citation with the page of the source file its quoted words stand on (unchanged for an unpaged source)."""
        laid = self.pipeline.layouts.get(citation.doc_id)
        return replace(citation, page=laid[1].page_at(citation.quoted_at())) if laid else citation

    def page_image(self, doc_id: str, page: int, start: int | None = None, end: int | None = None) -> bytes:
        """Page `page` of a stored document's source file as a PNG, the span start–end of its text boxed when given.

        Raises KeyError for an unknown document, PageNotFound for a page that cannot be shown, IngestError for a bad span.
        """
        if doc_id not in self.store.doc_ids():
            raise KeyError(doc_id)
        laid = self.pipeline.layouts.get(doc_id)
        if laid is None:
            raise PageNotFound("该文档来自没有分页的文件（txt、docx、网页、表格），没有原文页可显示；引文位置见其全文")
        text = self.document_text(doc_id)
        return render_page(laid[0], laid[1], page, text, check_span(text, start, end))

    def document_text(self, doc_id: str) -> str:
        """The cleaned text of a stored document."""
        return self.store.document_text(doc_id)

    def search(
        self, query: str, k: int = 8, doc_ids: list[str] | None = None, filters: dict | None = None, as_of: date | None = None
    ) -> list[Document]:
        """The k passages retrieved for a query (among the documents in force on `as_of`, default today), each with
        its scores, citation metadata and its document's status."""
        day = as_of or date.today()
        documents = self._retrieve(clean_question(query), self.in_force(doc_ids, day), check_filters(filters), k)
        for document in documents:
            facts = self.lifecycles.describe(document.metadata["doc_id"], day)
            document.metadata.update({k: facts[k] for k in ("status", "status_label", "replaced_by")}, kb=self.name)
        return documents

    def _retrieve(
        self, query: str, doc_ids: list[str] | None, filters: dict | None, k: int, dense_query: str | None = None
    ) -> list[Document]:
        """The k best passages: the fused ranking, re-ordered by the cross-encoder when one is configured."""
        search = {"doc_ids": doc_ids, "filters": filters, "dense_query": dense_query}
        if self.reranker is None:
            return self.retriever.invoke(query, k=k, **search)
        candidates = self.retriever.invoke(query, k=max(k, self.settings.rerank_candidates), **search)
        return self.reranker.rerank(query, candidates, k)

    def health(self) -> dict:
        """Whether the store answers, how many documents and passages it holds, and the models in use."""
        self.store.check_reachable()  # the view is refreshed at most once a second; health asks the store now
        return {
            "status": "degraded" if self.embedding_error or self.reindex_pending else "ok",
            "documents": len(self.store.doc_ids()),
            "passages": len(self.store),
            "embedding_model": self.retriever.model_label,
            "reindex_pending": self.reindex_pending,
            "embedding_error": str(self.embedding_error) if self.embedding_error else None,
            "rerank_model": self.reranker.label if self.reranker else None,
            "dense_weight": self.retriever.effective_dense_weight(),
            "llm": self.settings.llm_model or "default" if self.settings.llm_base_url else None,
            "store": self.settings.chroma_url or "embedded",
        }

    def course(self, topic: str, doc_ids: list[str] | None = None, llm=None, scope: str = "related") -> Course:
        """Course material on a topic (its provisions, an outline, a quiz) from the documents in force today, or those
        chosen (marked where not in force); raises TopicNotCovered, or ValueError for a bad topic or scope.

        Gathered by meaning as well as words where the embedding model is the bundled e5 (see assistant.gather);
        `scope` is section, related or all. `llm` may word questions; the service's model when None.
        """
        day = date.today()
        searched = self.lifecycles.course_documents(doc_ids, self.store.doc_ids(), day)
        embeddings = self.store.vectors.embeddings if self.min_similarity() is not None else None
        course = build_course(
            self.store, topic, searched if searched != [] else [NO_DOCUMENT], self.settings.min_evidence, llm or self.llm,
            embeddings, scope,
        )
        return self.lifecycles.mark_course(course, day)

    def feedback(self):
        """Readers' 👍/👎 on answers: a FeedbackStore in SQLite under the data directory."""
        from assistant.feedback import FeedbackStore

        return FeedbackStore(Path(self.settings.data_dir) / "feedback.sqlite3")
