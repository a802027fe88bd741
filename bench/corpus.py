"""A benchmark corpus of any size from real Chinese policy text: the bundled texts' and the dev sets' sentences recombined.

The sources are read where they lie (data/corpus and ../shared/evalsets) and never copied into the
repository. Each generated document has a title, numbered headings and paragraphs of 53-97% of the passage
size (160-290 characters for 300-character passages, 426-773 for the default 800), so that the
project's splitter makes one passage of each paragraph (two never fit in one passage), and the
number of passages can be aimed at.
"""

import json
import random
import re
from collections.abc import Iterator

from settings import REPO_ROOT

EVALSETS = REPO_ROOT.parent / "shared" / "evalsets"
SENTENCE = re.compile(r"[^。！？；\n]{12,110}[。！？；]")
PARAGRAPH_SHARE = (0.533, 0.967)  # of the passage size: one paragraph fits a passage, two never do
PARAGRAPHS_PER_DOCUMENT = (8, 30)
HEADING_NUMBERS = "一二三四五六七八九十"
SEED = 20251121


def source_texts() -> list[str]:
    """The raw texts the corpus is recombined from: the bundled sample and the dev sets' corpora."""
    texts = [p.read_text(encoding="utf-8") for p in sorted((REPO_ROOT / "data" / "corpus").glob("*.txt"))]
    for path in sorted(EVALSETS.glob("*/corpus.jsonl")):
        with path.open(encoding="utf-8") as lines:
            texts += [json.loads(line)["text"] for line in lines if line.strip()]
    return texts


def sentences(texts: list[str]) -> list[str]:
    """Distinct whole sentences of the texts, whitespace removed."""
    found = dict.fromkeys(s for text in texts for s in SENTENCE.findall(re.sub(r"[ \t\u3000]+", "", text)))
    return list(found)


def paragraph(pool: list[str], rng: random.Random, passage_chars: int) -> str:
    """Sentences drawn at random until the paragraph is long enough for its passage (never longer than one)."""
    low, high = (round(share * passage_chars) for share in PARAGRAPH_SHARE)
    text = ""
    while len(text) < low:
        sentence = rng.choice(pool)
        if len(text) + len(sentence) <= high:
            text += sentence
    return text


def documents(passage_chars: int, seed: int = SEED) -> Iterator[dict]:
    """An endless stream of generated documents: {"doc_id", "title", "text", "paragraphs"}."""
    pool = sentences(source_texts())
    rng = random.Random(seed)
    number = 0
    while True:
        number += 1
        count = rng.randint(*PARAGRAPHS_PER_DOCUMENT)
        title = f"关于{rng.choice(pool)[:12].rstrip('，。、；！？')}的通知（第{number}号）"
        lines = [title, ""]
        for index in range(count):
            if index % 4 == 0:
                lines += [f"{HEADING_NUMBERS[(index // 4) % 10]}、{rng.choice(pool)[:10].rstrip('，。、；！？')}", ""]
            lines += [paragraph(pool, rng, passage_chars), ""]
        yield {"doc_id": f"bench-{number:07d}", "title": title, "text": "\n".join(lines), "paragraphs": count}


def corpus(passages: int, passage_chars: int, seed: int = SEED) -> list[dict]:
    """Generated documents holding about `passages` paragraphs (one passage each once split at `passage_chars`)."""
    chosen, total = [], 0
    for document in documents(passage_chars, seed):
        if total >= passages:
            return chosen
        chosen.append(document)
        total += document["paragraphs"]
    return chosen


def questions(limit: int = 200, seed: int = SEED) -> list[str]:
    """Real questions from the dev sets (or the bundled evaluation set when they are absent)."""
    paths = sorted(EVALSETS.glob("*/qa.jsonl")) or [REPO_ROOT / "eval" / "bundled_qa.jsonl"]
    found = [json.loads(line)["question"] for path in paths for line in path.open(encoding="utf-8") if line.strip()]
    random.Random(seed).shuffle(found)
    return found[:limit]
