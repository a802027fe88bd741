"""Serving an app on loopback for tests: a real uvicorn server in a thread of the test process."""

import subprocess
import threading
import time
from contextlib import contextmanager

import httpx
import pytest
import uvicorn

from conftest import free_port

START_TIMEOUT_S = 240


@contextmanager
def served(app, ready_path: str = "/healthz", host: str = "127.0.0.1"):
    """Serve a FastAPI app on a free port (of `host`); yields its loopback base URL (no trailing slash)."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + ready_path, timeout=2).status_code < 500:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        raise RuntimeError(f"server on {url} did not become ready")
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def wait_until_up(url: str, process: subprocess.Popen, what: str) -> None:
    """Wait for a server to answer on `url`, failing with its output if it dies or never does."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{what} exited: {process.stderr.read()[-3000:] if process.stderr else ''}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            time.sleep(0.3)
    process.kill()
    pytest.fail(f"{what} did not come up on {url}")
