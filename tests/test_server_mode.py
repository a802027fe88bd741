"""Server mode: several services over one real Chroma server (`chroma run`) see each other's changes; a stopped server fails clearly and recovers."""

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from conftest import eventually, free_port, make_settings, raises
from vectorstore.chroma import StoreUnavailable

POLICY = (
    "关于农村户用厕所改造的补助办法\n\n"
    "一、补助标准\n\n"
    "农村户用厕所改造每户补助一千二百元，由县级财政在验收合格后三十日内拨付到户。\n\n"
    "二、申请程序\n\n"
    "农户向村民委员会提出申请，乡镇人民政府审核后报县级农业农村部门备案。\n"
)
QUESTION = "农村户用厕所改造每户补助多少？"


class ChromaServer:
    """A `chroma run` process on loopback over a temporary folder, which can be stopped and started again."""

    def __init__(self, path: Path) -> None:
        self.path, self.port, self.process = path, free_port(), None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        chroma = Path(sys.executable).with_name("chroma")
        command = [str(chroma), "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        eventually(self.beats, timeout=60, interval=0.2, what="chroma run answering its heartbeat")

    def beats(self) -> bool:
        try:
            return httpx.get(f"{self.url}/api/v2/heartbeat", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


@pytest.fixture
def chroma_server(tmp_path):
    server = ChromaServer(tmp_path / "chroma-server")
    server.start()
    yield server
    server.stop()


def server_service(chroma_server, data_dir: Path):
    """A service of its own (own data folder) over the shared Chroma server."""
    from assistant import create_service

    return create_service(make_settings(data_dir, chroma_url=chroma_server.url, ingest_sample_when_empty=False))


def test_a_document_ingested_through_one_process_is_answered_by_another(chroma_server, tmp_path):
    first = server_service(chroma_server, tmp_path / "app-1")
    second = server_service(chroma_server, tmp_path / "app-2")
    assert second.documents() == []

    report = first.ingest_texts([{"text": POLICY, "source": "toilets.txt"}])
    assert report.passages_added >= 2
    def answered():
        answer = second.ask(QUESTION)
        return None if answer.refused else answer

    answer = eventually(answered, what="the second process answers")  # it looks for changes at most once a second
    assert "一千二百元" in answer.text
    doc_id = answer.citations[0].doc_id
    assert [d["doc_id"] for d in second.documents()] == [doc_id]
    assert second.document_text(doc_id) == first.document_text(doc_id)

    first.remove(doc_id)
    eventually(lambda: second.documents() == [], what="the removal reaches the second process")
    assert second.ask(QUESTION).refused


def test_a_new_process_starts_over_the_shared_store_without_data_of_its_own(chroma_server, tmp_path):
    server_service(chroma_server, tmp_path / "app-1").ingest_texts([{"text": POLICY, "source": "toilets.txt"}])
    late = server_service(chroma_server, tmp_path / "app-late")
    answer = late.ask(QUESTION)
    assert "一千二百元" in answer.text
    assert POLICY.splitlines()[0] in late.document_text(answer.citations[0].doc_id)


def test_a_stopped_server_fails_clearly_and_the_service_recovers_when_it_returns(chroma_server, tmp_path):
    service = server_service(chroma_server, tmp_path / "app-1")
    service.ingest_texts([{"text": POLICY, "source": "toilets.txt"}])
    chroma_server.stop()
    eventually(lambda: raises(StoreUnavailable, lambda: service.ask(QUESTION)), what="the stopped server is noticed")

    with pytest.raises(StoreUnavailable, match="向量库不可用") as failure:
        service.ask(QUESTION)
    assert chroma_server.url in str(failure.value)
    with pytest.raises(StoreUnavailable):
        service.ingest_texts([{"text": POLICY.replace("一千二百", "一千五百"), "source": "toilets-2.txt"}])

    chroma_server.start()
    answer = service.ask(QUESTION)
    assert "一千二百元" in answer.text
    assert len(service.documents()) == 1


def test_a_server_that_is_not_running_at_start_is_named(tmp_path):
    from assistant import create_service

    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(StoreUnavailable, match="chroma run"):
        create_service(make_settings(tmp_path / "app", chroma_url=url, ingest_sample_when_empty=False))
