"""Several app processes over one real Chroma server (`chroma run`): what one ingests, the others answer from."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from conftest import eventually, free_port
from serving import wait_until_up
from settings import REPO_ROOT

NEW_POLICY = "关于村级档案管理的通知\n一、保管期限\n村级会计档案的保管期限为三十年。\n".encode()


class ChromaServer:
    """A real Chroma server (`chroma run`) on loopback over a folder; it can be stopped and started again."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> "ChromaServer":
        chroma = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
        self.process = subprocess.Popen(
            [chroma, "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        wait_until_up(self.url + "/api/v2/heartbeat", self.process, "chroma run")
        return self

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


@pytest.fixture
def chroma_server(tmp_path):
    """A real Chroma server on loopback over a temporary folder; yields its URL."""
    server = ChromaServer(tmp_path / "chroma").start()
    yield server.url
    server.stop()


def start_app(chroma_url: str, data_dir: Path) -> tuple[str, subprocess.Popen]:
    """`app.py serve` against the Chroma server, with its own data folder; returns once it answers."""
    url, process = launch_app(chroma_url, data_dir)
    wait_until_up(url + "/healthz", process, "app.py serve")
    return url, process


def launch_app(chroma_url: str, data_dir: Path) -> tuple[str, subprocess.Popen]:
    """`app.py serve` against the Chroma server, with its own data folder, started; its URL and process."""
    port = free_port()
    env = {
        **os.environ, "POLICYQA_CHROMA_URL": chroma_url, "POLICYQA_DATA_DIR": str(data_dir),
        "POLICYQA_PORT": str(port), "POLICYQA_INGEST_SAMPLE_WHEN_EMPTY": "false",
    }
    process = subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "app.py"), "serve"], env=env, cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    return f"http://127.0.0.1:{port}", process


def test_a_document_uploaded_through_one_app_is_answered_by_another(chroma_server, tmp_path):
    apps = [launch_app(chroma_server, tmp_path / f"app-{i}") for i in (1, 2)]  # both start at once
    (first, _), (second, _) = apps
    try:
        for url, process in apps:
            wait_until_up(url + "/healthz", process, "app.py serve")
        assert httpx.get(second + "/healthz").json()["store"] == chroma_server
        question = {"question": "村级会计档案的保管期限是多久？"}
        before = httpx.post(second + "/api/v1/ask", json=question, timeout=60).json()
        assert before["refused"]
        uploaded = httpx.post(first + "/api/v1/documents", files={"file": ("档案通知.txt", NEW_POLICY)}, timeout=120)
        assert uploaded.status_code == 201, uploaded.text
        doc_id = uploaded.json()["doc_ids"][0]
        after = httpx.post(second + "/api/v1/ask", json=question, timeout=60).json()
        assert not after["refused"] and "三十年" in after["answer"]
        assert after["citations"][0]["doc_id"] == doc_id
        assert doc_id in {d["doc_id"] for d in httpx.get(second + "/api/v1/documents").json()["documents"]}
        assert httpx.delete(second + f"/api/v1/documents/{doc_id}").status_code == 200
        gone = httpx.post(first + "/api/v1/ask", json=question, timeout=60).json()
        assert gone["refused"], "a removal through one process reaches the other too"
    finally:
        for _, process in apps:
            process.terminate()
            process.wait(timeout=30)
    notice = apps[0][1].stderr.read()
    assert "只接受本机请求" in notice, "with no keys configured the server says so at start"


def answer_with(url: str, question: dict, status: int) -> httpx.Response | None:
    """The app's response to the question when it has this status, else None."""
    response = httpx.post(url + "/api/v1/ask", json=question, timeout=60)
    return response if response.status_code == status else None


def test_with_the_chroma_server_stopped_requests_fail_clearly_then_recover(tmp_path):
    server = ChromaServer(tmp_path / "chroma").start()
    url, app = start_app(server.url, tmp_path / "app")
    question = {"question": "村级会计档案的保管期限是多久？"}
    try:
        assert httpx.post(url + "/api/v1/documents", files={"file": ("档案通知.txt", NEW_POLICY)}, timeout=120).status_code == 201
        assert httpx.get(url + "/healthz", timeout=60).status_code == 200
        server.stop()
        # the health check asks the server itself, not the view refreshed at most once a second
        health = httpx.get(url + "/healthz", timeout=60)
        assert health.status_code == 503 and health.json()["detail"].startswith("向量库不可用")
        down = eventually(lambda: answer_with(url, question, 503), what="the stopped server is noticed")
        assert down.json()["detail"].startswith("向量库不可用")
        server.start()
        again = eventually(lambda: answer_with(url, question, 200), what="the app answers again")
        assert "三十年" in again.json()["answer"]
    finally:
        app.terminate()
        app.wait(timeout=30)
        server.stop()
