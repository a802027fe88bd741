"""Questions asked from several threads while another thread ingests and removes documents."""

import threading
import time

from conftest import make_settings

ROUNDS = 12
DEADLINE_S = 600
QUESTIONS = ("先行先试中出现的失误能否免责？", "干部教育培训多久一次？", "村级会计档案的保管期限是多久？")


def churn_text(round_number: int) -> str:
    """A document of many short provisions, so that adding and removing it changes many passages at once."""
    items = "\n".join(
        f"第{i + 1}条 村级第{i + 1}类档案的保管期限为{10 + i}年，由乡镇档案室统一保管。" for i in range(80)
    )
    return f"关于村级档案管理的通知（第{round_number}版）\n{items}\n"


def test_asks_listings_and_filters_stay_consistent_while_documents_come_and_go(tmp_path, caplog):
    from assistant import create_service

    service = create_service(make_settings(tmp_path / "store"))
    service.ensure_sample()
    sample_ids = sorted(service.store.doc_ids())
    errors: list[str] = []
    writing = threading.Event()
    done = threading.Event()

    def writer() -> None:
        try:
            for round_number in range(ROUNDS):
                report = service.ingest_texts([{"text": churn_text(round_number), "source": f"churn-{round_number}.txt"}])
                assert not report.errors, report.errors
                writing.set()
                service.remove(report.doc_ids[0])
        except Exception as error:  # noqa: BLE001 - recorded and asserted below
            errors.append(f"writer: {type(error).__name__}: {error}")
        finally:
            done.set()

    def reader(number: int) -> None:
        asks = [
            {},
            {"doc_ids": sample_ids[:1]},
            {"filters": {"doc_id": sample_ids[-1]}},
            {"filters": {"kind": "article"}},
        ]
        turn = number
        while not done.is_set():
            options = asks[turn % len(asks)]
            turn += 1
            try:
                answer = service.ask(QUESTIONS[turn % len(QUESTIONS)], **options)
                allowed = options.get("doc_ids") or ([options["filters"]["doc_id"]] if "doc_id" in options.get("filters", {}) else None)
                if allowed:
                    assert all(c.doc_id in allowed for c in answer.citations), "a filtered answer cites only the allowed documents"
                listed = service.documents()
                assert all(d["passages"] > 0 for d in listed)
            except Exception as error:  # noqa: BLE001 - recorded and asserted below
                errors.append(f"reader {number}: {type(error).__name__}: {error}")

    threads = [threading.Thread(target=writer)] + [threading.Thread(target=reader, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + DEADLINE_S
    for thread in threads:
        thread.join(max(deadline - time.monotonic(), 0))
    assert not any(t.is_alive() for t in threads), "the threads finish"
    assert writing.is_set()
    assert errors == [], errors[:5]

    stored = service.store.vectors.get(include=[])["ids"]
    assert sorted(service.store.doc_ids()) == sample_ids, "every churned document is gone again"
    assert sum(d["passages"] for d in service.documents()) == len(stored), "the listing equals what Chroma holds"
    caplog.clear()
    reopened = create_service(make_settings(tmp_path / "store"))
    assert len(reopened.store) == len(stored)
    assert "检索索引无法读取" not in caplog.text, "the saved index opens whole"
