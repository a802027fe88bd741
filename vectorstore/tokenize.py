"""Chinese-aware tokens for the lexical index: character bigrams plus jieba words."""

import logging
import re
from functools import lru_cache
from itertools import chain

import numpy as np

CJK_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))
CJK_RUN = re.compile("[" + "".join(f"{chr(low)}-{chr(high)}" for low, high in CJK_RANGES) + "]+")
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
    return cjk_bigrams(text) + word_index_tokens(text)


def word_index_tokens(text: str, leave_out: frozenset[str] = frozenset()) -> list[str]:
    """The prefixed word tokens of index_tokens: jieba and search-mode words (but those of the jieba
    words in `leave_out`), Latin words and numbers."""
    lowered = text.lower()
    tokens = list(chain.from_iterable(word_tokens(w) for w in segment(lowered) if w not in leave_out))
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
    """index_tokens of a passage's lexical text (title, section path and text, a line each)."""
    return cjk_bigrams(text) + passage_word_tokens(text)


def passage_word_tokens(text: str) -> list[str]:
    """The word tokens of passage_tokens, line by line, short lines (titles, section paths) segmented once.

    No token spans a line break (jieba cuts at non-Han characters), so these are the word tokens of
    index_tokens(text), in another order.
    """
    return [token for line in text.split("\n") for token in (short_line_tokens(line) if len(line) <= SHORT_LINE else word_index_tokens(line))]


@lru_cache(maxsize=8192)
def short_line_tokens(line: str) -> tuple[str, ...]:
    """word_index_tokens of a short line, remembered: a document's title and section paths head each of its passages."""
    return tuple(word_index_tokens(line))


def bigram_codes(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The CJK bigrams of cjk_bigrams(text) for each text at once, as numbers, and the text each belongs to.

    A bigram of code points a, b is a << 21 | b and a character standing alone in its run is its code
    point (the two cannot meet: CJK code points lie above 2**13). Counted with NumPy over the whole
    batch, this is what lets indexing keep pace with a large ingest.
    """
    if not texts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    joined = "\n".join(texts)
    points = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.int64)
    cjk = np.zeros(len(points) + 2, dtype=bool)
    for low, high in CJK_RANGES:
        cjk[1:-1] |= (points >= low) & (points <= high)
    inner = cjk[1:-1]
    pairs = np.flatnonzero(inner[:-1] & inner[1:])
    alone = np.flatnonzero(inner & ~cjk[:-2] & ~cjk[2:])
    positions = np.concatenate([pairs, alone])
    codes = np.concatenate([(points[pairs] << 21) | points[pairs + 1], points[alone]])
    starts = np.cumsum([0] + [len(t) + 1 for t in texts[:-1]])
    return codes, np.searchsorted(starts, positions, side="right") - 1


def bigram_text(code: int) -> str:
    """The token a bigram code stands for."""
    return chr(code >> 21) + chr(code & 0x1FFFFF) if code >> 21 else chr(code)


def bigram_code(token: str) -> int | None:
    """The code of a CJK bigram or lone-character token; None for any other token."""
    if 1 <= len(token) <= 2 and CJK_RUN.fullmatch(token):
        return (ord(token[0]) << 21) | ord(token[1]) if len(token) == 2 else ord(token)
    return None


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
    return cjk_bigrams(question) + word_index_tokens(question, leave_out=QUESTION_STOPWORDS)
