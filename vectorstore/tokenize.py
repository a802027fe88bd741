"""Chinese-aware tokens for the lexical index: character bigrams plus jieba words."""

import logging
import re
from functools import lru_cache
from itertools import chain

CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
LATIN_WORD = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")
WORD_PREFIX = "w:"
SHORT_LINE = 80
# Question words and particles that say nothing about the topic asked about.
QUESTION_STOPWORDS = frozenset(
    "什么 哪些 哪个 哪里 哪儿 多少 如何 怎么 怎样 怎么样 是否 能否 可否 能不能 可不可以 是不是 有没有 吗 呢 吧 啊 "
    "的 了 是 有 和 与 及 或 在 对 中 请问 我 我们 你 您 他 她 它 这 那 这个 那个 哪 几 个 等 都 也 还 就 要 会 "
    "可以 能 应该 需要 一下 相关 关于 规定 问题 一个 一些 被 把 为 由 从 到 上 下 之 其 所 以 及其 进行 给 "
    "哪天 哪年 何时 什么时候 几月 几号 多久 为什么 怎么办 谁 哪位 内容 方面 具体 主要 情况 包括 请 告诉".split()
)


@lru_cache(maxsize=1)
def jieba_tokenizer():
    """The jieba tokenizer, loaded once and quietly: its dictionary says which words lie inside longer ones."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


def cjk_bigrams(text: str) -> list[str]:
    """Overlapping character bigrams of each CJK run (a lone character stands for itself)."""
    grams: list[str] = []
    for run in CJK_RUN.findall(text):
        if len(run) == 1:
            grams.append(run)
        else:
            grams.extend(map(str.__add__, run[:-1], run[1:]))
    return grams


def segment(text: str) -> list[str]:
    """jieba's words of a text (accurate mode), cut by rjieba, jieba's Rust port.

    rjieba gives the same Chinese words as jieba (all 3 999 documents of ../shared/evalsets alike)
    about fifteen times faster, which is what lets lexical indexing keep up with a large ingest.
    """
    import rjieba

    return rjieba.cut(text)


def words(text: str) -> list[str]:
    """jieba words of the CJK parts and lower-cased Latin words and numbers."""
    lowered = text.lower()
    found = [w for w in segment(lowered) if CJK_RUN.fullmatch(w)]
    return found + LATIN_WORD.findall(lowered)


def index_tokens(text: str) -> list[str]:
    """Tokens a passage is indexed under: CJK bigrams, jieba words and search-mode words (prefixed).

    Search-mode words are derived from the one jieba pass as jieba's cut_for_search derives them
    (the dictionary's 2- and 3-character words inside each longer word, then the word), so the
    text is segmented once. BM25 counts tokens, so only how often each comes matters, not the order.
    """
    lowered = text.lower()
    tokens = cjk_bigrams(text)
    tokens += chain.from_iterable(map(word_tokens, segment(lowered)))
    tokens.extend(WORD_PREFIX + w for w in LATIN_WORD.findall(lowered))
    return tokens


@lru_cache(maxsize=1 << 18)
def word_tokens(word: str) -> tuple[str, ...]:
    """The prefixed tokens one jieba word of a passage adds: the word (accurate mode), the dictionary's
    2- and 3-character words inside it and the word again (search mode); none for a non-Chinese word.

    Remembered, since a corpus repeats its words: this is most of what makes indexing fast.
    """
    if not CJK_RUN.fullmatch(word):
        return ()
    frequencies = jieba_tokenizer().FREQ
    inner = [word[i : i + size] for size in (2, 3) if len(word) > size for i in range(len(word) - size + 1)]
    return tuple(WORD_PREFIX + w for w in (word, *(g for g in inner if frequencies.get(g)), word))


def passage_tokens(text: str) -> list[str]:
    """index_tokens of a passage's lexical text, line by line, short lines (titles, section paths) segmented once.

    No token spans a line break (bigrams stay inside CJK runs, jieba cuts at non-Han characters),
    so these are the same tokens as index_tokens(text), in another order.
    """
    return [token for line in text.split("\n") for token in (short_line_tokens(line) if len(line) <= SHORT_LINE else index_tokens(line))]


@lru_cache(maxsize=8192)
def short_line_tokens(line: str) -> tuple[str, ...]:
    """index_tokens of a short line, remembered: a document's title and section paths head each of its passages."""
    return tuple(index_tokens(line))


def query_terms(question: str) -> list[str]:
    """The informative words of a question, in order, without repeats."""
    seen: dict[str, None] = {}
    for word in words(question):
        if word not in QUESTION_STOPWORDS:
            seen.setdefault(word, None)
    return list(seen)


def query_tokens(question: str) -> list[str]:
    """Tokens a question is searched with: tokenised as passages are, less the words of question words and
    particles (怎样, 哪些, 可以): BM25's IDF discounts them, but a passage that happens to hold them still gains
    over one that answers (govqa recall@5 0.776 -> 0.788, the other dev sets unchanged)."""
    lowered = question.lower()
    tokens = cjk_bigrams(question)
    tokens += chain.from_iterable(word_tokens(w) for w in segment(lowered) if w not in QUESTION_STOPWORDS)
    tokens.extend(WORD_PREFIX + w for w in LATIN_WORD.findall(lowered))
    return tokens
