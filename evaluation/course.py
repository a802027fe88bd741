"""How well course material gathers a topic: recall and precision of the provisions, per topic and per scope.

    python -m evaluation.course [--topics eval/course_topics.jsonl] [--grid]

Each topic of the file names, by a few words each, the provisions a lesson on it must hold (`must`)
and those it may hold without being wrong (`may`). Recall: the share of `must` gathered; precision: the
share of the gathered provisions that are `must` or `may`. The bundled texts are ingested into a
temporary store with the default settings (multilingual-e5-small). `--grid` also prints the mean F1 of
the related scope over every topic for other thresholds of assistant.gather, one setting for all topics.
"""

import argparse
import itertools
import json
import tempfile
from pathlib import Path

from assistant import gather as gathering
from ingest.clean import squeeze
from settings import REPO_ROOT, Settings

TOPICS = REPO_ROOT / "eval" / "course_topics.jsonl"
GRID = {"CORE_Z": (2.0, 2.5, 3.0, 3.5), "NEIGHBOUR_Z": (0.5, 1.0, 1.5, 2.0), "ANYWHERE_Z": (1.5, 2.0, 2.5)}


def load_topics(path: Path) -> list[dict]:
    """The hand-written topics, one JSON object a line."""
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def holds(provision: str, marks: list[str]) -> list[str]:
    """The marks (a few words of a provision) found in the provision's text."""
    text = squeeze(provision)
    return [m for m in marks if squeeze(m) in text]


def score_topic(service, topic: dict, scope: str) -> dict:
    """Recall and precision of the provisions gathered for one topic in one scope."""
    texts = [p.text for p in service.course(topic["topic"], scope=scope).provisions]
    found = {m for t in texts for m in holds(t, topic["must"])}
    right = sum(bool(holds(t, topic["must"] + topic.get("may", []))) for t in texts)
    return {
        "topic": topic["topic"], "scope": scope, "gathered": len(texts),
        "recall": len(found) / len(topic["must"]), "precision": right / len(texts) if texts else 0.0,
    }


def f1(row: dict) -> float:
    """The harmonic mean of a row's recall and precision."""
    total = row["recall"] + row["precision"]
    return 2 * row["recall"] * row["precision"] / total if total else 0.0


def evaluate(service, topics: list[dict]) -> list[dict]:
    """Every topic in every scope."""
    return [score_topic(service, t, scope) for scope in gathering.SCOPES for t in topics]


def print_table(rows: list[dict]) -> None:
    """The figures per topic and scope, then the mean per scope."""
    print(f"{'scope':8} {'topic':24} {'n':>3} {'recall':>7} {'precision':>9}")
    for row in rows:
        print(f"{row['scope']:8} {row['topic']:24} {row['gathered']:>3} {row['recall']:>7.2f} {row['precision']:>9.2f}")
    for scope in gathering.SCOPES:
        own = [r for r in rows if r["scope"] == scope]
        recall, precision = (sum(r[k] for r in own) / len(own) for k in ("recall", "precision"))
        print(f"{scope:8} {'(mean)':24} {'':>3} {recall:>7.2f} {precision:>9.2f}")


def grid(service, topics: list[dict]) -> None:
    """Mean F1 of the related and all scopes over every topic for each setting of the thresholds."""
    for values in itertools.product(*GRID.values()):
        for name, value in zip(GRID, values):
            setattr(gathering, name, value)
        scores = {s: sum(f1(score_topic(service, t, s)) for t in topics) / len(topics) for s in ("section", "related", "all")}
        print(" ".join(f"{n}={v}" for n, v in zip(GRID, values)), " ".join(f"{s}={v:.3f}" for s, v in scores.items()))


def main(argv: list[str] | None = None) -> None:
    """Ingest the bundled texts into a temporary store and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topics", default=str(TOPICS))
    parser.add_argument("--grid", action="store_true", help="也按其他阈值打印各范围的平均 F1")
    args = parser.parse_args(argv)
    from assistant import create_service

    topics = load_topics(Path(args.topics))
    with tempfile.TemporaryDirectory(prefix="policyqa-course-eval-") as folder:
        service = create_service(Settings(data_dir=Path(folder)))
        service.ensure_sample()
        print_table(evaluate(service, topics))
        if args.grid:
            grid(service, topics)


if __name__ == "__main__":
    main()
