"""Course material for trainers: every provision on a topic, cited, with a study outline and a quiz.

Rendering (Markdown, Word) lives in `export/`; this module only builds the values.
"""

import math
from dataclasses import asdict, dataclass, replace

from assistant.answer import Citation
from assistant.gather import BY_WORDS, DEFAULT_SCOPE, PARTLY_BY_WORDS, Inclusion, Line, by_meaning, candidate_passages, check_scope, document_lines
from assistant.quiz import QuizQuestion, make_quiz
from ingest.clean import squeeze
from ingest.model import SECTION_SEPARATOR
from vectorstore.evidence import WeightedTerms, occurs, weigh_terms
from vectorstore.tokenize import (
    CJK_RUN,
    QUESTION_STOPWORDS,
    jieba_tokenizer,
    query_terms,
)

NOT_COVERED = "未找到与「{topic}」相关的规定"
MAX_TOPIC_CHARS = 100


class TopicNotCovered(LookupError):
    """The documents hold no provision on the topic; the message says so in Chinese."""

    def __init__(self, topic: str, missing: tuple[str, ...] = ()) -> None:
        hint = f"（文件中没有出现：{'、'.join(missing)}；可换个说法再试）" if missing else ""
        super().__init__(NOT_COVERED.format(topic=topic) + hint)
        self.topic = topic
        self.missing = missing


@dataclass(frozen=True)
class SectionGroup:
    """The provisions standing under one section of a document, in document order."""

    section: str
    provisions: tuple[Citation, ...]

    @property
    def headings(self) -> tuple[str, ...]:
        """The section path as its headings, outermost first ('' sections have none)."""
        return tuple(self.section.split(SECTION_SEPARATOR)) if self.section else ()


@dataclass(frozen=True)
class DocumentGroup:
    """One document's provisions on the topic, section by section."""

    doc_id: str
    title: str
    issuer: str
    date: str
    doc_number: str
    sections: tuple[SectionGroup, ...]

    @property
    def provisions(self) -> tuple[Citation, ...]:
        """Every provision of this document, in document order."""
        return tuple(p for s in self.sections for p in s.provisions)


@dataclass(frozen=True)
class OutlineEntry:
    """One line of the study outline: a document (level 1) or a heading, and the provisions right under it."""

    level: int
    heading: str
    provisions: tuple[int, ...] = ()


@dataclass(frozen=True)
class Course:
    """Course material on one topic: provisions by document and section, outline, quiz."""

    topic: str
    documents: tuple[DocumentGroup, ...]
    outline: tuple[OutlineEntry, ...]
    questions: tuple[QuizQuestion, ...]
    warnings: tuple[str, ...] = ()
    scope: str = DEFAULT_SCOPE
    inclusions: tuple[tuple[int, Inclusion], ...] = ()

    def why(self, n: int) -> Inclusion | None:
        """Why provision n is in the material (its reason and score); None when not recorded."""
        return dict(self.inclusions).get(n)

    @property
    def provisions(self) -> tuple[Citation, ...]:
        """Every provision, numbered as cited (1, 2, …) in reading order."""
        return tuple(p for d in self.documents for p in d.provisions)


@dataclass(frozen=True)
class TopicTerms(WeightedTerms):
    """A topic's weighted terms: its words first, then the phrases of it the documents use."""

    words: int = 0

    def holds_every_word(self, text: str) -> bool:
        """True when every word of the topic (or its full form) stands in the text, in any order."""
        lowered = text.lower()
        pairs = list(zip(self.terms, self.patterns))[: self.words]
        return bool(pairs) and all(occurs(t, p, lowered) for t, p in pairs)

    def on_topic(self, text: str, bar: float) -> bool:
        """True when the text holds `bar` of the topic's weight, or all its words (开放数据 for 数据开放)."""
        return self.coverage(text) >= bar or self.holds_every_word(text)


def topic_phrases(topic: str) -> list[str]:
    """Runs of two or more words of the topic with no particle between (不担当不作为 in 不担当不作为的处理)."""
    runs: list[list[str]] = [[]]
    for word in jieba_tokenizer().lcut(topic):
        if word in QUESTION_STOPWORDS or not CJK_RUN.fullmatch(word):
            runs.append([])
        else:
            runs[-1].append(word)
    return ["".join(run) for run in runs if len(run) >= 2]


def passage_contexts(store) -> list[str]:
    """Every stored passage's section path and text, what a topic is looked for in."""
    return [f"{p.section}\n{p.text}" for d in sorted(store.doc_ids()) for p in store.passages_of(d)]


def phrase_idf(contexts: list[str], phrase: str) -> float:
    """IDF of a phrase counted as a substring of the passages' contexts; 0 when no passage holds it."""
    count = sum(phrase in c for c in contexts)
    return math.log(1 + (len(contexts) - count + 0.5) / (count + 0.5)) if count else 0.0


def topic_terms(store, topic: str, contexts: list[str]) -> TopicTerms:
    """The topic's informative words, and its phrases the documents use, weighted by IDF over the stored passages.

    A phrase counts beside its words so that 「不担当不作为」 weighs as one idea rather than as
    担当 and 作为, which stand in nearly every passage of a corpus on cadres.
    """
    words = weigh_terms(topic, store.lexical.idf)
    phrases = [(p, phrase_idf(contexts, p)) for p in topic_phrases(topic) if p not in words.terms]
    phrases = [(p, w) for p, w in phrases if w > 0]
    return TopicTerms(
        words.terms + tuple(p for p, _ in phrases),
        words.weights + tuple(w for _, w in phrases),
        words.patterns + tuple(None for _ in phrases),
        words=len(words.terms),
    )


def missing_words(topic: str, contexts: list[str]) -> tuple[str, ...]:
    """The topic's words that no stored passage uses."""
    return tuple(t for t in query_terms(topic) if not any(t in c.lower() for c in contexts))


def is_relevant(terms: TopicTerms, passage, bar: float) -> bool:
    """True when the passage's section path and text are on the topic, some of it in the text or innermost heading."""
    return terms.on_topic(f"{passage.section}\n{passage.text}", bar) and terms.coverage(
        f"{last_heading(passage.section)}\n{passage.text}"
    ) > 0


def last_heading(section: str) -> str:
    """The innermost heading of a section path."""
    return section.split(SECTION_SEPARATOR)[-1] if section else ""


def relevant_passage_ids(store, terms: TopicTerms, topic: str, doc_ids: list[str] | None, bar: float) -> set[str]:
    """Every stored passage on the topic: all lexical matches, each tested against `bar` of the topic's words."""
    allowed = store.matching(doc_ids, None)
    hits = store.lexical.search(topic, max(len(store), 1), allowed)
    return {pid for pid, _ in hits if terms.on_topic(f"{store.passage(pid).section}\n{store.passage(pid).text}", bar)}


def provision_citation(line: Line, score: float) -> Citation:
    """A whole paragraph or item, verbatim from its document, as a citation record (numbered later)."""
    return Citation.of(asdict(line.passage), text=line.text, start=line.start, end=line.end, score=score)


def by_words(terms: TopicTerms, lines: list[Line], relevant: set[str], bar: float) -> dict[int, Inclusion]:
    """The lines of the lexically matching passages that are on the topic by its words, with their word coverage."""
    found = {}
    for i, line in enumerate(lines):
        if line.passage.passage_id in relevant and is_relevant(terms, replace(line.passage, text=line.text), bar):
            context = f"{line.section}\n{line.text}"
            found[i] = Inclusion(BY_WORDS if terms.holds_every_word(context) else PARTLY_BY_WORDS, terms.coverage(context))
    return found


def gathered_lines(store, terms: TopicTerms, topic: str, doc_ids, bar: float, embeddings, scope: str) -> dict[Line, Inclusion]:
    """The lines taken for the topic in a scope, each with why (by words alone when there is no model)."""
    relevant = relevant_passage_ids(store, terms, topic, doc_ids, bar)
    if embeddings is None:
        lines = document_lines(store, [store.passage(pid) for pid in sorted(relevant)])
        return {lines[i]: why for i, why in by_words(terms, lines, relevant, bar).items()}
    lines = document_lines(store, candidate_passages(store, topic, store.matching(doc_ids, None), relevant))
    if not lines:
        return {}
    taken = by_meaning(embeddings, topic, lines, by_words(terms, lines, relevant, bar), scope)
    return {lines[i]: why for i, why in taken.items()}


def group_sections(provisions: list[Citation]) -> tuple[SectionGroup, ...]:
    """Consecutive provisions of one section gathered under it, in document order."""
    groups: list[tuple[str, list[Citation]]] = []
    for provision in provisions:
        if groups and groups[-1][0] == provision.section:
            groups[-1][1].append(provision)
        else:
            groups.append((provision.section, [provision]))
    return tuple(SectionGroup(section, tuple(items)) for section, items in groups)


def numbered(documents: list[list[tuple[Citation, Inclusion]]]) -> tuple[list[list[Citation]], tuple[tuple[int, Inclusion], ...]]:
    """The provisions numbered 1, 2, … in reading order, a provision repeated in another document dropped; why each is in."""
    seen, count, result, why = set(), 0, [], []
    for provisions in documents:
        kept = []
        for p, inclusion in provisions:
            if squeeze(p.text) not in seen:
                seen.add(squeeze(p.text))
                count += 1
                kept.append(replace(p, n=count))
                why.append((count, inclusion))
        if kept:
            result.append(kept)
    return result, tuple(why)


def document_group(provisions: list[Citation]) -> DocumentGroup:
    """One document's provisions as a group carrying the document's metadata."""
    first = provisions[0]
    return DocumentGroup(
        first.doc_id, first.title, first.issuer, first.date, first.doc_number, group_sections(provisions)
    )


def gather_provisions(
    store, topic: str, doc_ids: list[str] | None = None, bar: float = 0.5, embeddings=None, scope: str = DEFAULT_SCOPE
) -> tuple[tuple[DocumentGroup, ...], tuple[tuple[int, Inclusion], ...]]:
    """Every provision on the topic across the stored documents (or those chosen), grouped and cited, and why each is in.

    Args:
        store: the PassageStore searched (read as one state: a document added meanwhile is wholly seen or not at all).
        topic: a few words naming the topic, e.g. 「容错免责」.
        doc_ids: only these documents, when given.
        bar: the share of the topic's weight a paragraph must hold to be on it by words (the service's min_evidence).
        embeddings: the embedding model that gathers by meaning (see assistant.gather); None: by words only.
        scope: section, related (default) or all (see assistant.gather).

    Returns:
        Documents (the most on-topic first), each with its sections in document order, each section
        with its whole paragraphs verbatim as citations numbered 1, 2, …, and each number's Inclusion;
        empty when nothing matches.
    """
    check_scope(scope)
    with store.reading():
        terms = topic_terms(store, topic, passage_contexts(store))
        if not terms.terms and embeddings is None:
            return (), ()
        taken = gathered_lines(store, terms, topic, doc_ids, bar, embeddings, scope)
    per_document: dict[str, list[tuple[Citation, Inclusion]]] = {}
    for line in sorted(taken, key=lambda l: (l.passage.doc_id, l.start)):
        per_document.setdefault(line.passage.doc_id, []).append((provision_citation(line, taken[line].score), taken[line]))
    found = sorted(per_document.values(), key=lambda ps: (-max(p.score for p, _ in ps), -len(ps), ps[0][0].title))
    documents, why = numbered(found)
    return tuple(document_group(ps) for ps in documents), why


def collect_provisions(store, topic: str, doc_ids: list[str] | None = None, bar: float = 0.5, embeddings=None, scope: str = DEFAULT_SCOPE) -> tuple[DocumentGroup, ...]:
    """The documents of `gather_provisions` alone: every provision on the topic, grouped and cited."""
    return gather_provisions(store, topic, doc_ids, bar, embeddings, scope)[0]


def document_pool(store, doc_ids: list[str] | None) -> tuple[str, ...]:
    """Every line of the documents searched: where wrong options come from, and what a false statement must not say."""
    with store.reading():
        allowed = store.matching(doc_ids, None)
        passages = [p for d in sorted(store.doc_ids()) for p in store.passages_of(d) if allowed is None or p.passage_id in allowed]
        return tuple(line.text for line in document_lines(store, passages))


def study_outline(documents: tuple[DocumentGroup, ...]) -> tuple[OutlineEntry, ...]:
    """The outline: each document, then the headings its provisions stand under, with their numbers."""
    entries: list[OutlineEntry] = []
    for document in documents:
        placed: dict[tuple[str, ...], int] = {(): len(entries)}
        entries.append(OutlineEntry(1, f"《{document.title}》"))
        for group in document.sections:
            path = group.headings
            for depth in range(1, len(path) + 1):
                if path[:depth] not in placed:
                    placed[path[:depth]] = len(entries)
                    entries.append(OutlineEntry(depth + 1, path[depth - 1]))
            index = placed[path]
            entry = entries[index]
            entries[index] = OutlineEntry(entry.level, entry.heading, entry.provisions + tuple(p.n for p in group.provisions))
    return tuple(entries)


def clean_topic(topic: str) -> str:
    """The topic without outer spaces; an empty or overlong one is refused with a message."""
    text = " ".join((topic or "").split())
    if not text:
        raise ValueError("请输入备课主题，如「容错免责」")
    if len(text) > MAX_TOPIC_CHARS:
        raise ValueError(f"主题过长（{len(text)} 字），请精简到 {MAX_TOPIC_CHARS} 字以内")
    return text


def build_course(
    store, topic: str, doc_ids: list[str] | None = None, bar: float = 0.5, llm=None, embeddings=None, scope: str = DEFAULT_SCOPE
) -> Course:
    """Course material on a topic; raises TopicNotCovered when no provision is found, ValueError for a bad topic or scope.

    Args:
        store: the PassageStore to read the documents from.
        topic: the topic, e.g. 「容错免责」.
        doc_ids: only these documents, when given.
        bar: the share of the topic's weight a paragraph must hold to be on it by words.
        llm: a chat model that may word the questions (None: the extractive quiz alone).
        embeddings: the embedding model that gathers by meaning (None: by words only).
        scope: section, related (default) or all.
    """
    topic = clean_topic(topic)
    documents, why = gather_provisions(store, topic, doc_ids, bar, embeddings, scope)
    if not documents:
        raise TopicNotCovered(topic, missing_words(topic, passage_contexts(store)))
    provisions = tuple(p for d in documents for p in d.provisions)
    questions, warnings = make_quiz(provisions, store.lexical.idf, llm, document_pool(store, doc_ids))
    return Course(topic, documents, study_outline(documents), questions, warnings, scope, why)
