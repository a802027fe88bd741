"""Load on a served app: many concurrent clients asking through /api/v1/ask, optionally while documents come and go.

    python -m bench.load [--url URL] [--clients 32] [--listers 0] [--seconds 60] [--during-ingest | --during-long-questions] [--json OUT]

Without --url it starts `app.py serve` over a fresh data directory holding the bundled sample and
stops it afterwards. Questions are the bundled evaluation questions and, where present beside the
repository, those of ../shared/evalsets (read, never copied); every other ask is limited to one
document (`doc_ids`) or filtered by it (`filters`). `--listers` clients list the documents meanwhile.
--during-ingest runs twice, side by side: first with nothing else going on (idle), then while
generated policy files are uploaded and deleted again through /api/v1/documents for the whole run,
so reads are measured against writes; afterwards the listing is checked against the store.
--during-long-questions does the same with one more client sending 2 000-character English questions
(words from the bundled English questions and LONG_QUESTION_WORDS, shuffled) one after another: their
own latency is reported, and the ordinary questions' beside the idle run shows whether they stall others.
"""

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.probe import percentile

REPO = Path(__file__).resolve().parent.parent
EVALSETS = REPO.parent / "shared" / "evalsets"
QUESTION_SETS = [REPO / "eval" / "bundled_qa.jsonl", *sorted(EVALSETS.glob("*/qa.jsonl"))]
LONG_QUESTION_CHARS = 1999
LONG_QUESTION_WORDS = (
    "government policy training county report work year plan people public service health insurance local "
    "officials rules pilot reform mistake liability exemption promotion evaluation assessment education budget "
    "rural village town city province national party committee leader team member office meeting annual care "
    "family salary award punishment discipline supervision inspection enterprise market land housing water"
).split()


def load_questions(limit_per_set: int = 300) -> list[str]:
    """Real questions from the bundled and shared evaluation sets."""
    questions = []
    for path in QUESTION_SETS:
        if path.is_file():
            rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
            questions += [row["question"] for row in rows[:limit_per_set]]
    return questions


def ask_body(rng: random.Random, questions: list[str], doc_ids: list[str]) -> dict:
    """A question, half the time limited to one stored document by doc_ids or by a filter."""
    body, roll = {"question": rng.choice(questions)}, rng.random()
    if doc_ids and roll < 0.25:
        body["doc_ids"] = [rng.choice(doc_ids)]
    elif doc_ids and roll < 0.5:
        body["filters"] = {"doc_id": rng.choice(doc_ids)}
    return body


async def ask_loop(client: httpx.AsyncClient, url: str, next_body, until: float, results: dict, into: str, label: str = "") -> None:
    """Ask `next_body()` after question until the time is up, each latency kept in `results[into]`."""
    while time.monotonic() < until:
        began = time.perf_counter()
        try:
            reply = await client.post(url + "/api/v1/ask", json=next_body())
            ok = reply.status_code == 200 and "answer" in reply.json()
        except (httpx.HTTPError, ValueError) as error:
            ok, reply = False, error
        results[into].append((time.perf_counter() - began) * 1000)
        if not ok:
            results["errors"].append(f"{label}{str(getattr(reply, 'status_code', reply))[:200]}")


async def client_loop(client: httpx.AsyncClient, url: str, questions: list[str], doc_ids: list[str], until: float, results: dict) -> None:
    """One client asking question after question until the time is up."""
    rng = random.Random(id(results) ^ len(results["latencies_ms"]))
    await ask_loop(client, url, lambda: ask_body(rng, questions, doc_ids), until, results, "latencies_ms")


async def lister_loop(client: httpx.AsyncClient, url: str, until: float, results: dict) -> None:
    """One client listing the documents until the time is up."""
    while time.monotonic() < until:
        try:
            reply = await client.get(url + "/api/v1/documents")
            ok = reply.status_code == 200 and "documents" in reply.json()
        except (httpx.HTTPError, ValueError) as error:
            ok, reply = False, error
        results["listings"] += 1
        if not ok:
            results["errors"].append(f"listing: {str(getattr(reply, 'status_code', reply))[:200]}")


def long_question_words(questions: list[str]) -> list[str]:
    """The words long questions are made of: those of the English questions, and LONG_QUESTION_WORDS."""
    return sorted({w.strip("?,.").lower() for q in questions if q.isascii() for w in q.split()} | set(LONG_QUESTION_WORDS))


def long_english_question(rng: random.Random, vocabulary: list[str]) -> str:
    """A question of LONG_QUESTION_CHARS characters of common English words, a different order each time."""
    words = [rng.choice(vocabulary) for _ in range(LONG_QUESTION_CHARS // 3)]
    return " ".join(words)[:LONG_QUESTION_CHARS].rstrip() + "?"


async def long_question_loop(client: httpx.AsyncClient, url: str, questions: list[str], until: float, results: dict) -> None:
    """One client sending long English questions one after another until the time is up."""
    rng, vocabulary = random.Random(7), long_question_words(questions)

    def body() -> dict:
        return {"question": long_english_question(rng, vocabulary)}

    await ask_loop(client, url, body, until, results, "long_questions_ms", "long question: ")


def generated_policy(n: int) -> bytes:
    """A small policy file, different each time, built from the bundled sample's own sentences."""
    sentences = [s for path in sorted((REPO / "data" / "corpus").glob("*.txt"))
                 for s in path.read_text(encoding="utf-8").replace("\n", "").split("。") if 10 < len(s) < 120]
    rng = random.Random(n)
    body = "\n".join(f"{i}、{'。'.join(rng.sample(sentences, 4))}。" for i in "一二三四五")
    return f"关于压力测试的第{n}号通知\n{body}\n".encode()


async def ingest_loop(client: httpx.AsyncClient, url: str, until: float, results: dict) -> None:
    """Upload generated policy files and delete each again, one after another, until the time is up."""
    n = 0
    while time.monotonic() < until:
        n += 1
        try:
            reply = await client.post(url + "/api/v1/documents", files={"file": (f"load-{n}.txt", generated_policy(n))})
            results["uploads"].append(reply.status_code)
            for doc_id in reply.json().get("doc_ids", []) if reply.status_code == 201 else []:
                gone = await client.delete(f"{url}/api/v1/documents/{doc_id}")
                results["deletes"].append(gone.status_code)
        except (httpx.HTTPError, ValueError) as error:
            results["uploads"].append(str(error)[:200])


async def run_load(url: str, clients: int, listers: int, seconds: float, meanwhile: str, key: str | None) -> dict:
    """Drive the app for `seconds` with `clients` concurrent askers (and `listers`, and what `meanwhile` names:
    "ingest", "long questions" or ""); the figures of the run."""
    questions = load_questions()
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    results = {"latencies_ms": [], "errors": [], "uploads": [], "deletes": [], "listings": 0, "long_questions_ms": []}
    limits = httpx.Limits(max_connections=clients + listers + 4)
    async with httpx.AsyncClient(headers=headers, timeout=60, limits=limits) as client:
        doc_ids = [d["doc_id"] for d in (await client.get(url + "/api/v1/documents")).json()["documents"]]
        until = time.monotonic() + seconds
        tasks = [client_loop(client, url, questions, doc_ids, until, results) for _ in range(clients)]
        tasks += [lister_loop(client, url, until, results) for _ in range(listers)]
        if meanwhile == "ingest":
            tasks.append(ingest_loop(client, url, until, results))
        if meanwhile == "long questions":
            tasks.append(long_question_loop(client, url, questions, until, results))
        began = time.perf_counter()
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - began
        figures = summary(results, clients, elapsed, meanwhile)
        figures["listing_matches_store"] = await listing_matches_store(client, url)
    return figures


async def listing_matches_store(client: httpx.AsyncClient, url: str) -> bool:
    """Whether the documents listed hold as many passages as the store says it holds."""
    listed = (await client.get(url + "/api/v1/documents")).json()["documents"]
    return sum(d["passages"] for d in listed) == (await client.get(url + "/healthz")).json()["passages"]


def summary(results: dict, clients: int, elapsed: float, meanwhile: str) -> dict:
    """Throughput, latency percentiles and errors of a load run."""
    latencies, long_ones = results["latencies_ms"], results["long_questions_ms"]
    return {
        "clients": clients,
        "seconds": round(elapsed, 1),
        "requests": len(latencies),
        "throughput_rps": round(len(latencies) / elapsed, 1) if elapsed else 0.0,
        "latency_ms": {
            "p50": round(percentile(latencies, 0.50), 1),
            "p95": round(percentile(latencies, 0.95), 1),
            "p99": round(percentile(latencies, 0.99), 1),
            "mean": round(statistics.fmean(latencies), 1) if latencies else 0.0,
        },
        "errors": len(results["errors"]),
        "server_errors": sum(1 for e in results["errors"] if e.rsplit(" ", 1)[-1].startswith("5")),
        "error_examples": sorted(set(results["errors"]))[:5],
        "meanwhile": meanwhile,
        "long_questions": len(long_ones),
        "long_question_ms": {"p50": round(percentile(long_ones, 0.50), 1), "max": round(max(long_ones, default=0.0), 1)},
        "listings": results["listings"],
        "uploads": len(results["uploads"]),
        "upload_failures": sum(1 for s in results["uploads"] if s != 201),
        "deletes": len(results["deletes"]),
        "delete_failures": sum(1 for s in results["deletes"] if s != 200),
    }


def side_by_side(idle: dict, churn: dict) -> str:
    """The idle figures and those of the run with something going on meanwhile, in two columns."""
    rows = [("requests/s", "throughput_rps"), ("p50 ms", ("latency_ms", "p50")), ("p95 ms", ("latency_ms", "p95")),
            ("p99 ms", ("latency_ms", "p99")), ("errors", "errors"), ("5xx", "server_errors"), ("listings", "listings"),
            ("uploads / failed", ("uploads", "upload_failures")), ("deletes / failed", ("deletes", "delete_failures")),
            ("listing = store", "listing_matches_store"), ("long questions", "long_questions"),
            ("long p50 ms", ("long_question_ms", "p50")), ("long max ms", ("long_question_ms", "max"))]

    def cell(figures: dict, key) -> str:
        if isinstance(key, tuple) and key[0] in ("latency_ms", "long_question_ms"):
            return str(figures[key[0]][key[1]])
        if isinstance(key, tuple):
            return f"{figures[key[0]]} / {figures[key[1]]}"
        return str(figures[key])

    lines = [f"{'':18} {'idle':>14} {'during ' + churn['meanwhile']:>22}"]
    lines += [f"{label:18} {cell(idle, key):>14} {cell(churn, key):>22}" for label, key in rows]
    return "\n".join(lines)


def start_app(data_dir: Path, port: int) -> subprocess.Popen:
    """`app.py serve` over a data directory, ready to answer."""
    env = {**os.environ, "POLICYQA_DATA_DIR": str(data_dir), "POLICYQA_PORT": str(port), "POLICYQA_HOST": "127.0.0.1"}
    process = subprocess.Popen([sys.executable, str(REPO / "app.py"), "serve"], env=env, cwd=REPO,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.5)
    process.kill()
    raise RuntimeError(f"app.py serve did not start: {process.stderr.read()[-2000:]}")


def main(argv: list[str] | None = None) -> int:
    """Run the load and print (and optionally save) its figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a served app; without it one is started over the bundled sample")
    parser.add_argument("--key", help="API key to send (POLICYQA_API_KEYS / POLICYQA_ADMIN_KEYS of the served app)")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--listers", type=int, default=0, help="clients listing the documents meanwhile")
    parser.add_argument("--seconds", type=float, default=60)
    meanwhile = parser.add_mutually_exclusive_group()
    meanwhile.add_argument(
        "--during-ingest", action="store_true", help="a second run while documents are uploaded and deleted, beside the idle one"
    )
    meanwhile.add_argument(
        "--during-long-questions", action="store_true", help="a second run while 2 000-character English questions are asked"
    )
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)
    process, url = None, args.url
    if url is None:
        from socket import socket

        with socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        process = start_app(Path(tempfile.mkdtemp(prefix="policyqa-load-")), port)
        url = f"http://127.0.0.1:{port}"
    load = (url.rstrip("/"), args.clients, args.listers, args.seconds)
    second = "ingest" if args.during_ingest else "long questions" if args.during_long_questions else ""
    try:
        figures = asyncio.run(run_load(*load, "", args.key))
        if second:
            figures = {"idle": figures, "during_" + second.replace(" ", "_"): asyncio.run(run_load(*load, second, args.key))}
    finally:
        if process:
            process.terminate()
            process.wait(timeout=30)
    print(json.dumps(figures, ensure_ascii=False, indent=2))
    runs = [figures["idle"], figures["during_" + second.replace(" ", "_")]] if second else [figures]
    if second:
        print(side_by_side(*runs))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, ensure_ascii=False, indent=2), encoding="utf-8")
    return 1 if any(r["errors"] or r.get("upload_failures") or r.get("delete_failures") or not r["listing_matches_store"] for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
