"""Shared fixtures: a real service (real Chroma on disk, the bundled model) over the bundled sample."""

import os
import socket
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from settings import REPO_ROOT, Settings  # noqa: E402

SAMPLE_DIR = REPO_ROOT / "data" / "corpus"
HUBEI = SAMPLE_DIR / "hubei-2025-opinion-cadre-incentives.txt"
XINHUA = SAMPLE_DIR / "xinhua-2021-cadre-incentives-roundup.txt"


def make_settings(data_dir: Path, **overrides) -> Settings:
    """Settings for a test store under `data_dir`, ignoring the caller's environment."""
    return Settings(data_dir=data_dir, **overrides)


@pytest.fixture(scope="session", autouse=True)
def shared_embedding_cache(tmp_path_factory):
    """One embedding cache for the whole run: the real model embeds each text once, however many stores hold it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("POLICYQA_EMBED_CACHE", str(tmp_path_factory.mktemp("embeddings") / "cache.sqlite3"))
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
