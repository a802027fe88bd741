"""Files that hold more than one article: where each ends, and what each is called.

A newspaper page or a web export can carry a summary chart and then a report, or two unrelated
pieces. An article ends at its closing byline ("（记者 某某 整理）", "（完）", "责任编辑：…"), or
where the byline of a next one starts after some text ("湖北日报全媒记者 某某", "新华社北京2月5日电").
An unrelated piece pasted on with no byline at all is found by its topic: the distinctive words of
the article's title, used all through the article, stop for good where the other piece begins.
"""

import re
from functools import cache

from ingest.metadata import extract_title
from ingest.structure import Block, blocks_of

CLOSING_LINE = re.compile(r"整理[）)]?$|^[（(]完[）)]$|^责任编辑[:：]|^[（(]?编辑[:：]")
OPENING_BYLINE = re.compile(r"^(?:\S{0,12}(?:记者|通讯员)(?:\s+\S{1,4}){0,6}|新华社\S{0,12}电)$")
BODY_KINDS = ("paragraph", "item", "clause")
# Topic breaks: title words rarer than this in general Chinese (jieba's IDF table; 干部 6.3, 工作 4.2)
# are the article's own; each must run through at least this share of the paragraphs before the
# break and be absent from every one of at least TAIL_MIN_PARAGRAPHS paragraphs after it. Measured:
# this finds the pasted-on report in the Xinhua sample and splits none of the 3 999 documents of
# ../shared/evalsets.
DISTINCTIVE_IDF = 6.0
TOPIC_SHARE = 0.4
HEAD_MIN_BLOCKS = 3
TAIL_MIN_PARAGRAPHS = 4
TAIL_MIN_CHARS = 300
CJK_WORD = re.compile(r"[\u4e00-\u9fff]{2,}")


def article_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the articles in a cleaned text, in order, covering all of it."""
    blocks = blocks_of(text)
    cuts, body_seen = [0], False
    for index, block in enumerate(blocks):
        if block.kind in BODY_KINDS:
            body_seen = True
        elif block.kind == "meta" and body_seen:
            if CLOSING_LINE.search(block.text):
                following = blocks[index + 1] if index + 1 < len(blocks) else None
                if following is not None:
                    cuts.append(following.start)
                    body_seen = False
            elif OPENING_BYLINE.match(block.text):
                cuts.append(block.start)
                body_seen = False
    cuts = [c for i, c in enumerate(cuts) if i == 0 or has_body(blocks, c, (cuts + [len(text) + 1])[i + 1])]
    return [(start, end) for start, end in zip(cuts, cuts[1:] + [len(text)])]


@cache
def general_idf() -> dict[str, float]:
    """How rare each word is in general Chinese text (jieba's IDF table)."""
    import jieba.analyse

    return jieba.analyse.default_tfidf.idf_loader.get_idf()[0]


def distinctive_words(title: str) -> set[str]:
    """The title's words that are rare in general Chinese, the ones its article keeps using."""
    import rjieba

    idf = general_idf()
    return {w for w in rjieba.cut(title) if CJK_WORD.fullmatch(w) and idf.get(w, DISTINCTIVE_IDF) >= DISTINCTIVE_IDF}


def topic_break(text: str, title: str) -> int | None:
    """Where an unrelated piece starts in an article's text (its offset), found by the title's words stopping."""
    blocks = [b for b in blocks_of(text) if b.kind in BODY_KINDS]
    words = distinctive_words(title)
    for cut in range(HEAD_MIN_BLOCKS, len(blocks) - TAIL_MIN_PARAGRAPHS + 1):
        head, tail = blocks[:cut], blocks[cut:]
        if any(b.kind != "paragraph" for b in tail) or sum(len(b.text) for b in tail) < TAIL_MIN_CHARS:
            continue
        topic = {w for w in words if sum(w in b.text for b in head) >= TOPIC_SHARE * len(head)}
        if topic and not any(w in b.text for w in topic for b in tail):
            return tail[0].start
    return None


def split_at_topic_breaks(text: str, spans: list[tuple[int, int]], titles: list[str]) -> list[tuple[int, int]]:
    """The article spans, each cut in two where an unrelated piece follows it with no byline."""
    result = []
    for (start, end), title in zip(spans, titles):
        cut = topic_break(text[start:end], title)
        result += [(start, start + cut), (start + cut, end)] if cut else [(start, end)]
    return result


def has_body(blocks: list[Block], start: int, end: int) -> bool:
    """True when some body text lies between the two offsets."""
    return any(b.kind in BODY_KINDS and start <= b.start < end for b in blocks)


def headline(blocks: list[Block]) -> str | None:
    """The headline a file opens with (with its '——' subtitle), if it opens with a heading."""
    if not blocks or blocks[0].kind != "heading":
        return None
    title = blocks[0].text
    if len(blocks) > 1 and blocks[1].text.startswith("——"):
        title += blocks[1].text
    return title


def article_titles(text: str, spans: list[tuple[int, int]], fallback: str) -> list[str]:
    """A title for each article: its own, else the file's unused headline, else the file name and its number."""
    file_headline = headline(blocks_of(text))
    titles: list[str] = []
    for number, (start, end) in enumerate(spans, start=1):
        own = blocks_of(text[start:end])
        leading = headline([b for b in own if b.kind != "meta"])
        if number == 1:
            titles.append(extract_title(own, fallback))
        elif leading:
            titles.append(leading)
        elif file_headline and file_headline not in titles[0] and file_headline not in titles:
            titles.append(file_headline)
        else:
            titles.append(f"{fallback}（第{number}篇）")
    return titles
