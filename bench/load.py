"""Load on a served app: many concurrent clients asking through /api/v1/ask, optionally while an ingest runs.

    python -m bench.load [--url URL] [--clients 32] [--seconds 60] [--during-ingest] [--json OUT]

Without --url it starts `app.py serve` over a fresh data directory holding the bundled sample and
stops it afterwards. Questions are the bundled evaluation questions and, where present beside the
repository, those of ../shared/evalsets (read, never copied). --during-ingest uploads generated
policy files through /api/v1/documents for the whole run, so reads are measured against writes.
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


def load_questions(limit_per_set: int = 300) -> list[str]:
    """Real questions from the bundled and shared evaluation sets."""
    questions = []
    for path in QUESTION_SETS:
        if path.is_file():
            rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
            questions += [row["question"] for row in rows[:limit_per_set]]
    return questions


async def client_loop(client: httpx.AsyncClient, url: str, questions: list[str], until: float, results: dict) -> None:
    """One client asking question after question until the time is up."""
    rng = random.Random(id(results) ^ len(results["latencies_ms"]))
    while time.monotonic() < until:
        began = time.perf_counter()
        try:
            reply = await client.post(url + "/api/v1/ask", json={"question": rng.choice(questions)})
            ok = reply.status_code == 200 and "answer" in reply.json()
        except (httpx.HTTPError, ValueError) as error:
            ok, reply = False, error
        results["latencies_ms"].append((time.perf_counter() - began) * 1000)
        if not ok:
            results["errors"].append(str(getattr(reply, "status_code", reply))[:200])


def generated_policy(n: int) -> bytes:
    """A small policy file, different each time, built from the bundled sample's own sentences."""
    sentences = [s for path in sorted((REPO / "data" / "corpus").glob("*.txt"))
                 for s in path.read_text(encoding="utf-8").replace("\n", "").split("。") if 10 < len(s) < 120]
    rng = random.Random(n)
    body = "\n".join(f"{i}、{'。'.join(rng.sample(sentences, 4))}。" for i in "一二三四五")
    return f"关于压力测试的第{n}号通知\n{body}\n".encode()


async def ingest_loop(client: httpx.AsyncClient, url: str, until: float, results: dict) -> None:
    """Upload generated policy files one after another until the time is up."""
    n = 0
    while time.monotonic() < until:
        n += 1
        try:
            reply = await client.post(url + "/api/v1/documents", files={"file": (f"load-{n}.txt", generated_policy(n))})
            results["uploads"].append(reply.status_code)
        except httpx.HTTPError as error:
            results["uploads"].append(str(error)[:200])


async def run_load(url: str, clients: int, seconds: float, during_ingest: bool, key: str | None) -> dict:
    """Drive the app for `seconds` with `clients` concurrent askers; the figures of the run."""
    questions = load_questions()
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    results = {"latencies_ms": [], "errors": [], "uploads": []}
    limits = httpx.Limits(max_connections=clients + 4)
    async with httpx.AsyncClient(headers=headers, timeout=60, limits=limits) as client:
        until = time.monotonic() + seconds
        tasks = [client_loop(client, url, questions, until, results) for _ in range(clients)]
        if during_ingest:
            tasks.append(ingest_loop(client, url, until, results))
        began = time.perf_counter()
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - began
    return summary(results, clients, elapsed, during_ingest)


def summary(results: dict, clients: int, elapsed: float, during_ingest: bool) -> dict:
    """Throughput, latency percentiles and errors of a load run."""
    latencies = results["latencies_ms"]
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
        "error_examples": sorted(set(results["errors"]))[:5],
        "during_ingest": during_ingest,
        "uploads": len(results["uploads"]),
        "upload_failures": sum(1 for s in results["uploads"] if s != 201),
    }


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
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--during-ingest", action="store_true", help="also upload documents for the whole run")
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
    try:
        figures = asyncio.run(run_load(url.rstrip("/"), args.clients, args.seconds, args.during_ingest, args.key))
    finally:
        if process:
            process.terminate()
            process.wait(timeout=30)
    print(json.dumps(figures, ensure_ascii=False, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, ensure_ascii=False, indent=2), encoding="utf-8")
    return 1 if figures["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
