"""English questions at scale: what translating one costs, beside the BM25 search it then makes.

    python -m bench.translate [--passages N]

An English question is put into Chinese by looking, for each candidate translation of each word, at
which passages hold it (assistant/crosslingual.py), so its cost grows with the store. This indexes N
generated passages (bench/corpus.py) and, for the English questions of eval/bundled_qa.jsonl and two
more, prints the milliseconds of choosing the translation beside those of the lexical search
over every passage that any question (English or Chinese) makes, and the translation chosen.
"""

import argparse
import json
import time

import numpy as np

from assistant.crosslingual import glossary, is_english, translate
from bench.corpus import corpus
from settings import PASSAGE_MAX_CHARS, REPO_ROOT
from vectorstore.lexical import LexicalIndex

BATCH = 20_000
REPEATS = 5
PARAGRAPH_LEAST = 100  # a generated document's lines are its title, headings of a few words, and paragraphs
MORE_QUESTIONS = (
    "How do I apply for a business license in Beijing?",
    "Which departments are responsible for epidemic prevention and control?",
)


def english_questions() -> list[str]:
    """The English questions of the bundled gold set, then a few more about other topics."""
    path = REPO_ROOT / "eval" / "bundled_qa.jsonl"
    found = [json.loads(line)["question"] for line in path.open(encoding="utf-8") if line.strip()]
    return list(dict.fromkeys([q for q in found if is_english(q)] + list(MORE_QUESTIONS)))


def build_index(passages: int) -> LexicalIndex:
    """A lexical index over `passages` generated paragraphs of the configured passage size."""
    paragraphs = [p for d in corpus(passages, PASSAGE_MAX_CHARS) for p in d["text"].split("\n") if len(p) > PARAGRAPH_LEAST]
    index = LexicalIndex()
    for start in range(0, passages, BATCH):
        stop = min(start + BATCH, passages, len(paragraphs))
        index.add([f"p{n}" for n in range(start, stop)], paragraphs[start:stop])
    return index


def median_ms(work) -> tuple[float, object]:
    """The median milliseconds of REPEATS runs of work(), and what it gave."""
    times, result = [], None
    for _ in range(REPEATS):
        began = time.perf_counter()
        result = work()
        times.append((time.perf_counter() - began) * 1000)
    return float(np.median(times)), result


def main(passages: int) -> None:
    index = build_index(passages)
    glossary()
    print(f"{len(index)} passages; milliseconds, median of {REPEATS}")
    print("translate  search  question -> translation")
    for question in english_questions():
        translating, translation = median_ms(lambda: translate(question, index.passages_holding))
        searching, _ = median_ms(lambda: index.search(translation.query, 50))
        print(f"{translating:9.1f}  {searching:6.1f}  {question} -> {translation.query}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=100_000)
    main(parser.parse_args().passages)
