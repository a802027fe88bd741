"""Serving an app on loopback for tests: a real uvicorn server in a thread of the test process."""

import subprocess
import threading
from contextlib import contextmanager

import httpx
import pytest
import uvicorn

from conftest import eventually, free_port

START_TIMEOUT_S = 240


@contextmanager
def served(app, ready_path: str = "/healthz", host: str = "127.0.0.1"):
    """Serve a FastAPI app on a free port (of `host`); yields its loopback base URL (no trailing slash)."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    eventually(lambda: answers(url + ready_path), timeout=30, interval=0.1, what=f"the server on {url} answering")
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def wait_until_up(url: str, process: subprocess.Popen, what: str) -> None:
    """Wait for a server to answer on `url`, failing with its output if it dies or never does."""

    def up() -> bool:
        if process.poll() is not None:
            pytest.fail(f"{what} exited: {process.stderr.read()[-3000:] if process.stderr else ''}")
        return answers(url)

    try:
        eventually(up, timeout=START_TIMEOUT_S, interval=0.3, what=f"{what} answering on {url}")
    except pytest.fail.Exception:
        process.kill()
        raise


def answers(url: str) -> bool:
    """Whether something on `url` answers without a server error."""
    try:
        return httpx.get(url, timeout=2).status_code < 500
    except httpx.HTTPError:
        return False
