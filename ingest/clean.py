"""Cleaning of raw policy text: whitespace only, so every quote stays verbatim against the source."""

import re

SENTENCE_ENDS = "。！？!?；;…"
CLOSING_MARKS = "”’」』）)》】\"'"
CONTINUATION_STARTS = "，,、。；;：:）)”’」』》】！？!?…"
# Characters a heading does not end on: a line ending on one of them was broken mid-sentence.
DANGLING_ENDS = "的是和与及或在对把被将从向于以并而且其让使由"
HEADING_MAX_CHARS = 40
# List markers, including the private-use bullets Word's Symbol font leaves in PDF text.
ITEM_MARKERS = "-•·*▪●◆■□○➢\uf0b7\uf06c\uf0a7\uf0d8\uf076"
ITEM_PATTERN = re.compile(rf"^[{re.escape(ITEM_MARKERS)}]\s*(?=\S)")
NUMBERED_PATTERN = re.compile(
    r"^(?:第[一二三四五六七八九十百千零〇\d]+[编章节条]|[一二三四五六七八九十百]+、|[（(][一二三四五六七八九十百]+[）)]"
    r"|\d+[.、．]|[（(]\d+[）)]|#{1,6}\s)"
)
# An item marker left alone on its line when the page wrapped right after it.
LONE_MARKERS = set(ITEM_MARKERS)
# Narrower than this, short lines are headings and list entries rather than a page's wrapped text.
MIN_WRAP_WIDTH = 20
MIN_WRAPPED_LINES = 10
_SPACES = re.compile(r"[ \t\u00a0\u3000\u2002\u2003\u2009\u200b\ufeff]+")


def squeeze(text: str) -> str:
    """The text without any whitespace: how quotes and documents are compared."""
    return re.sub(r"\s+", "", text)


def joined_pieces(pieces) -> str:
    """Pieces of one line of text joined as written: a space only between two pieces of Latin letters or digits
    (none inside Chinese text, where a recogniser's box or a table cell's wrap split it)."""
    out = ""
    for piece in pieces:
        latin = out and out[-1].isascii() and out[-1].isalnum() and piece[0].isascii() and piece[0].isalnum()
        out += (" " if latin else "") + piece
    return out


def normalize_line(line: str) -> str:
    """Strip a line's outer whitespace and collapse runs of inner spaces to one."""
    return _SPACES.sub(" ", line).strip()


def ends_sentence(line: str) -> bool:
    """True when the line ends a sentence (closing quotes and brackets aside)."""
    stripped = line.rstrip(CLOSING_MARKS)
    return bool(stripped) and stripped[-1] in SENTENCE_ENDS


def looks_like_heading(line: str) -> bool:
    """True for a short line without sentence-end punctuation: a heading candidate."""
    return len(line) <= HEADING_MAX_CHARS and not ends_sentence(line) and line[-1] not in "，,、：:"


def starts_item(line: str) -> bool:
    """True for a list item's first line, or an item marker standing alone on its line."""
    return bool(ITEM_PATTERN.match(line)) or line in LONE_MARKERS


def continues_previous(previous: str, line: str) -> bool:
    """True when `line` is the rest of a sentence that a line break cut inside `previous`."""
    if starts_item(line) or NUMBERED_PATTERN.match(line) or ends_sentence(previous):
        return False
    if line[0] in CONTINUATION_STARTS:
        return True
    if looks_like_heading(line):
        return False
    if previous[-1] in DANGLING_ENDS:
        return True
    return not looks_like_heading(previous) and previous[-1] not in CLOSING_MARKS


def wrap_width(lines: list[str]) -> int | None:
    """The width text was hard-wrapped at (PDF pages, fixed-width files), judged from lines that run on into the next."""
    running_on = [len(a) for a, b in zip(lines, lines[1:]) if a and b and not ITEM_PATTERN.match(b)]
    if len(running_on) < MIN_WRAPPED_LINES:
        return None
    running_on.sort()
    width = running_on[int(len(running_on) * 0.9) - 1]
    # Wrapped text has many lines of nearly the page's width; one paragraph per line has no such cluster.
    at_width = sum(abs(length - width) <= 3 for length in running_on)
    return width if width >= MIN_WRAP_WIDTH and at_width >= 0.3 * len(running_on) else None


def wrapped(previous: str | None, line: str, width: int | None) -> bool:
    """True when `previous` filled the wrap width without ending its sentence, so `line` carries it on."""
    if previous is None or width is None or starts_item(line) or NUMBERED_PATTERN.match(line):
        return False
    return len(previous) >= 0.8 * width and not ends_sentence(previous)


def clean_policy_text(raw: str) -> str:
    """Normalise line ends and spaces, rejoin lines broken mid-sentence, one block per line."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    lines = [normalize_line(raw_line) for raw_line in text.split("\n")]
    width = wrap_width(lines)
    blocks: list[str] = []
    previous: str | None = None
    for line in lines:
        if not line:
            previous = None
            continue
        if blocks and blocks[-1] in LONE_MARKERS:
            blocks[-1] += " " + line
        elif blocks and (continues_previous(blocks[-1], line) or wrapped(previous, line, width)):
            blocks[-1] += line
        else:
            blocks.append(line)
        previous = line
    return "\n".join(blocks)
