"""Files that hold more than one article: where each ends, and what each is called.

A newspaper page or a web export can carry a summary chart and then a report, or two unrelated
pieces. An article ends at its closing byline ("（记者 某某 整理）", "（完）", "责任编辑：…"), or
where the byline of a next one starts after some text ("湖北日报全媒记者 某某", "新华社北京2月5日电").
"""

import re

from ingest.metadata import extract_title
from ingest.structure import Block, blocks_of

CLOSING_LINE = re.compile(r"整理[）)]?$|^[（(]完[）)]$|^责任编辑[:：]|^[（(]?编辑[:：]")
OPENING_BYLINE = re.compile(r"^(?:\S{0,12}(?:记者|通讯员)(?:\s+\S{1,4}){0,6}|新华社\S{0,12}电)$")
BODY_KINDS = ("paragraph", "item", "clause")


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
