"""Splitting cleaned policy text along its own structure into passages that know their section path."""

import hashlib
import re
from dataclasses import dataclass

from ingest.clean import ITEM_PATTERN, SENTENCE_ENDS, CLOSING_MARKS, ends_sentence, looks_like_heading
from ingest.model import Passage
from settings import PASSAGE_MAX_CHARS

# Numbered heading styles of Chinese official documents, outermost first.
NUMBERED_STYLES = (
    ("part", re.compile(r"^第[一二三四五六七八九十百千零〇\d]+编")),
    ("chapter", re.compile(r"^第[一二三四五六七八九十百千零〇\d]+章")),
    ("section", re.compile(r"^第[一二三四五六七八九十百千零〇\d]+节")),
    ("cn_number", re.compile(r"^[一二三四五六七八九十百]+、")),
    ("cn_paren", re.compile(r"^[（(][一二三四五六七八九十百]+[）)]")),
    ("arabic", re.compile(r"^\d+[.、．](?!\d)")),
    ("arabic_paren", re.compile(r"^[（(]\d+[）)]")),
)
DOC_NUMBER = re.compile(
    r"[\u4e00-\u9fa5]{1,12}\s*[〔［\[（(]\s*\d{4}\s*[〕］\])）]\s*\d{1,4}\s*号"
    r"|^[\u4e00-\u9fa5][\u4e00-\u9fa5 ]{1,30}公告\s*\d{4}\s*年\s*第\s*\d{1,4}\s*号"
)
FULL_DATE = re.compile(r"((?:19|20)\d{2})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
CLAUSE_PATTERN = re.compile(r"^第[一二三四五六七八九十百千零〇\d]+条")
MARKDOWN_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
META_WORDS = re.compile(r"记者|通讯员|摄影|整理|制图|责任编辑|来源[:：]|编辑[:：]")
PHOTO_CAPTION = re.compile(r"摄[）)]$")
# A byline closes the article before it: what follows starts a new outline.
BYLINE_WORDS = re.compile(r"记者|通讯员|整理")
SENTENCE_PATTERN = re.compile(rf"[^{SENTENCE_ENDS}]*(?:[{SENTENCE_ENDS}]+[{re.escape(CLOSING_MARKS)}]*|$)")


@dataclass(frozen=True)
class Block:
    """One line of cleaned text with its offsets and what it is."""

    text: str
    start: int
    end: int
    kind: str  # heading | item | paragraph | clause | meta
    style: str = ""


def blocks_of(text: str) -> list[Block]:
    """Cut cleaned text into classified line blocks with character offsets."""
    blocks, offset = [], 0
    for line in text.split("\n"):
        if line:
            kind, style = classify_line(line)
            blocks.append(Block(line, offset, offset + len(line), kind, style))
        offset += len(line) + 1
    return blocks


def classify_line(line: str) -> tuple[str, str]:
    """Return (kind, heading style) for one cleaned line."""
    if ITEM_PATTERN.match(line):
        return "item", ""
    markdown = MARKDOWN_HEADING.match(line)
    if markdown:
        return "heading", f"md{len(markdown.group(1))}"
    if CLAUSE_PATTERN.match(line):
        return "clause", ""
    if is_meta_line(line) or DOC_NUMBER.fullmatch(line) or FULL_DATE.fullmatch(line):
        return "meta", ""
    for style, pattern in NUMBERED_STYLES:
        if pattern.match(line):
            return ("heading", style) if looks_like_heading(line) else ("paragraph", "")
    if looks_like_heading(line) and line[0] not in "“\"‘'":
        return "heading", "plain"
    return "paragraph", ""


def is_meta_line(line: str) -> bool:
    """Bylines, photo captions and similar lines that are not policy content."""
    bracketed = line[0] in "（(" and line[-1] in "）)" and not ends_sentence(line[1:-1])
    if PHOTO_CAPTION.search(line):
        return True
    return bracketed or (len(line) <= 40 and META_WORDS.search(line) is not None and not ends_sentence(line))


def heading_heights(blocks: list[Block]) -> list[int]:
    """For each plain heading, how many plain headings follow it directly (its height in the run)."""
    heights = [0] * len(blocks)
    following = 0
    for index in range(len(blocks) - 1, -1, -1):
        block = blocks[index]
        if block.kind == "heading" and block.style == "plain":
            heights[index] = following
            following += 1
        elif block.kind != "meta":
            following = 0
    return heights


def push_heading(stack: list[tuple[str, int, str]], style: str, height: int, text: str) -> None:
    """Place a heading on the section stack, closing the headings it ends."""
    if style == "plain":
        while stack and stack[-1][0] == "plain" and stack[-1][1] <= height:
            stack.pop()
    elif style.startswith("md"):
        level = int(style[2:])
        while stack and (stack[-1][0] == "plain" or (stack[-1][0].startswith("md") and int(stack[-1][0][2:]) >= level)):
            stack.pop()
    else:
        styles = [entry[0] for entry in stack]
        if style in styles:
            del stack[styles.index(style):]
        else:
            while stack and stack[-1][0] == "plain":
                stack.pop()
    stack.append((style, height, text))


def heading_text(block: Block) -> str:
    """The heading as shown in a section path (Markdown marks removed)."""
    markdown = MARKDOWN_HEADING.match(block.text)
    return markdown.group(2).strip() if markdown else block.text


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences in `text`, ends included, covering all of it."""
    spans = []
    for match in SENTENCE_PATTERN.finditer(text):
        if match.end() > match.start():
            spans.append((match.start(), match.end()))
    return spans


def chunk_spans(text: str, max_chars: int) -> list[tuple[int, int]]:
    """Group sentence spans into chunks no longer than max_chars (a longer sentence is cut at commas)."""
    pieces: list[tuple[int, int]] = []
    for start, end in sentence_spans(text):
        if end - start <= max_chars:
            pieces.append((start, end))
            continue
        cut = start
        for match in re.finditer(r"[，,、：:]", text[start:end]):
            stop = start + match.end()
            if stop - cut >= max_chars // 2:
                pieces.append((cut, stop))
                cut = stop
        if cut < end:
            pieces.append((cut, end))
    chunks: list[tuple[int, int]] = []
    for start, end in pieces:
        if chunks and end - chunks[-1][0] <= max_chars:
            chunks[-1] = (chunks[-1][0], end)
        else:
            chunks.append((start, end))
    return chunks


def passage_id(doc_id: str, start: int, text: str) -> str:
    """A passage id derived from its document, place and content."""
    return hashlib.sha1(f"{doc_id}:{start}:{text}".encode("utf-8")).hexdigest()[:20]


@dataclass
class Piece:
    """A stretch of one or more adjacent blocks that becomes one passage."""

    first_block: int
    last_block: int
    kind: str
    path: tuple[str, ...]
    start: int
    end: int


def cut_pieces(text: str, title: str, max_chars: int) -> list[Piece]:
    """Cut the blocks into pieces: items and clauses whole, long paragraphs at sentence ends.

    A text with no body at all (one short line such as "详情请咨询……，联系电话：……") is its own body.
    """
    blocks = blocks_of(text)
    if not any(b.kind in ("paragraph", "item", "clause") for b in blocks):
        blocks = [Block(b.text, b.start, b.end, "paragraph") for b in blocks]
    heights = heading_heights(blocks)
    stack: list[tuple[str, int, str]] = []
    pieces: list[Piece] = []
    for index, block in enumerate(blocks):
        if block.kind == "heading":
            if heading_text(block) not in title:
                push_heading(stack, block.style, heights[index], heading_text(block))
            continue
        if block.kind == "meta":
            if BYLINE_WORDS.search(block.text):
                stack.clear()
            continue
        body_offset = len(ITEM_PATTERN.match(block.text).group(0)) if block.kind == "item" else 0
        body = block.text[body_offset:]
        path = tuple(entry[2] for entry in stack)
        for start, end in chunk_spans(body, max_chars):
            piece = body[start:end]
            if piece.strip():
                absolute = block.start + body_offset + start + len(piece) - len(piece.lstrip())
                pieces.append(Piece(index, index, block.kind, path, absolute, absolute + len(piece.strip())))
    return pieces


def pack_paragraphs(pieces: list[Piece], max_chars: int) -> list[Piece]:
    """Join short paragraphs that follow each other under one heading, up to max_chars."""
    packed: list[Piece] = []
    for piece in pieces:
        last = packed[-1] if packed else None
        if (
            last is not None
            and piece.kind == last.kind == "paragraph"
            and piece.path == last.path
            and piece.first_block == last.last_block + 1
            and piece.end - last.start <= max_chars
        ):
            last.last_block, last.end = piece.last_block, piece.end
        else:
            packed.append(piece)
    return packed


def split_policy_text(text: str, doc_id: str, title: str, max_chars: int = PASSAGE_MAX_CHARS) -> list[Passage]:
    """Cut cleaned text into passages along headings, items, paragraphs and sentence ends."""
    passages = []
    for order, piece in enumerate(pack_paragraphs(cut_pieces(text, title, max_chars), max_chars)):
        body = text[piece.start : piece.end]
        passages.append(
            Passage(
                passage_id=passage_id(doc_id, piece.start, body),
                doc_id=doc_id,
                title=title,
                section_path=piece.path,
                text=body,
                start=piece.start,
                end=piece.end,
                kind=piece.kind,
                order=order,
            )
        )
    return passages
