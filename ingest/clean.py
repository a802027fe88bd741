"""Cleaning of raw policy text: whitespace only, so every quote stays verbatim against the source."""

import re

SENTENCE_ENDS = "。！？!?；;…"
CLOSING_MARKS = "”’」』）)》】\"'"
CONTINUATION_STARTS = "，,、。；;：:）)”’」』》】！？!?…"
# Characters a heading does not end on: a line ending on one of them was broken mid-sentence.
DANGLING_ENDS = "的是和与及或在对把被将从向于以并而且其让使由"
HEADING_MAX_CHARS = 40
ITEM_PATTERN = re.compile(r"^(?:[-•·*▪●]\s+)")
NUMBERED_PATTERN = re.compile(
    r"^(?:第[一二三四五六七八九十百千零〇\d]+[编章节条]|[一二三四五六七八九十百]+、|[（(][一二三四五六七八九十百]+[）)]"
    r"|\d+[.、．]|[（(]\d+[）)]|#{1,6}\s)"
)
_SPACES = re.compile(r"[ \t\u00a0\u3000\u2002\u2003\u2009\u200b\ufeff]+")


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


def continues_previous(previous: str, line: str) -> bool:
    """True when `line` is the rest of a sentence that a line break cut inside `previous`."""
    if ITEM_PATTERN.match(line) or NUMBERED_PATTERN.match(line) or ends_sentence(previous):
        return False
    if line[0] in CONTINUATION_STARTS:
        return True
    if looks_like_heading(line):
        return False
    if previous[-1] in DANGLING_ENDS:
        return True
    return not looks_like_heading(previous) and previous[-1] not in CLOSING_MARKS


def clean_policy_text(raw: str) -> str:
    """Normalise line ends and spaces, rejoin lines broken mid-sentence, one block per line."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    blocks: list[str] = []
    for raw_line in text.split("\n"):
        line = normalize_line(raw_line)
        if not line:
            continue
        if blocks and continues_previous(blocks[-1], line):
            blocks[-1] += line
        else:
            blocks.append(line)
    return "\n".join(blocks)
