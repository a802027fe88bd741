"""What the audit log costs an answer: the same questions asked straight of the knowledge bases (no log), through the
gate (each ask recorded), and through the gate with a log that cannot be written (as on a full disk), interleaved.

    python -m bench.audit [--rounds 5] [--json OUT]

Over a fresh data directory holding the bundled sample; the questions are the bundled evaluation questions,
answered without suggestions so that only the answer is timed. Prints p50 / p95 / max ms per way.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from settings import REPO_ROOT, Settings  # noqa: E402

WAYS = ("without log", "with log", "log unwritable")


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` of the values lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def open_gates(root: Path):
    """Two gates over one sample store: one with a writable audit log, one whose log file cannot be opened."""
    from assistant import create_service
    from assistant.access import UserStore
    from assistant.audit import AuditLog
    from assistant.bases import KnowledgeBases
    from assistant.gate import Gate

    settings = Settings(data_dir=root / "var")
    bases = KnowledgeBases(settings, create_service)
    bases.ensure_sample()
    blocked = root / "blocked"
    (blocked / "audit.sqlite3").mkdir(parents=True)
    return bases, Gate.open(bases), Gate(bases, UserStore(root / "var"), AuditLog(blocked))


def run(rounds: int) -> dict:
    """Ask every bundled question `rounds` times each way; milliseconds per answer, per way."""
    from assistant.gate import LOCAL_ADMIN, Actor

    questions = [json.loads(line)["question"] for line in (REPO_ROOT / "eval" / "bundled_qa.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as folder:
        bases, logged, blocked = open_gates(Path(folder))
        actor = Actor(LOCAL_ADMIN, "bench")
        asks = {
            "without log": lambda q: bases.ask(["default"], q, suggest=False),
            "with log": lambda q: logged.ask(actor, q, "default", suggest=False),
            "log unwritable": lambda q: blocked.ask(actor, q, "default", suggest=False),
        }
        for q in questions[:5]:  # warm the model and caches
            asks["without log"](q)
        times = {way: [] for way in WAYS}
        for r in range(rounds):
            for i, q in enumerate(questions):
                order = WAYS[(i + r) % 3:] + WAYS[: (i + r) % 3]
                for way in order:
                    start = time.perf_counter()
                    asks[way](q)
                    times[way].append((time.perf_counter() - start) * 1000)
        written = logged.audit.flush()
        events = len(logged.audit.events())
        logged.audit.close()
        blocked.audit.close(timeout=1)
    return {
        way: {"asks": len(t), "p50_ms": round(statistics.median(t), 1), "p95_ms": round(percentile(t, 0.95), 1), "max_ms": round(max(t), 1)}
        for way, t in times.items()
    } | {"events_written": events, "all_written": written}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.audit", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="times each question is asked each way (default 5)")
    parser.add_argument("--json", help="write the figures to this JSON file")
    args = parser.parse_args(argv)
    result = run(args.rounds)
    print("| | asks | p50 ms | p95 ms | max ms |\n| --- | --- | --- | --- | --- |")
    for way in WAYS:
        r = result[way]
        print(f"| {way} | {r['asks']} | {r['p50_ms']} | {r['p95_ms']} | {r['max_ms']} |")
    print(f"audit events written: {result['events_written']} (all written: {result['all_written']})", file=sys.stderr)
    if args.json:
        Path(args.json).write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
