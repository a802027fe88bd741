"""The passage store over restarts: the saved lexical index is loaded when it matches Chroma, and never trusted when it does not."""

import errno

import pytest

from conftest import make_settings
from vectorstore.lexical import LexicalIndex
from vectorstore.store import PassageStore

QUESTION = "先行先试中出现的失误能否免责？"


def sample_store(data_dir):
    """A service over its own store holding the bundled sample."""
    from assistant import create_service

    service = create_service(make_settings(data_dir))
    service.ensure_sample()
    return service


def reopened(data_dir):
    from assistant import create_service

    return create_service(make_settings(data_dir, ingest_sample_when_empty=False))


def chroma_ids(service) -> set[str]:
    return set(service.store.vectors.get(include=[])["ids"])


def test_a_restart_loads_the_saved_index_instead_of_reading_chroma(tmp_path, monkeypatch):
    first = sample_store(tmp_path)
    expected = first.ask(QUESTION)

    def no_reading(self):
        raise AssertionError("the saved index should have been used")

    monkeypatch.setattr(PassageStore, "synchronise", no_reading)
    again = reopened(tmp_path)
    assert again.store.passage_ids() == chroma_ids(again)
    assert again.ask(QUESTION).text == expected.text
    assert again.store.passages_of(expected.citations[0].doc_id) == first.store.passages_of(expected.citations[0].doc_id)


def test_a_damaged_saved_index_is_rebuilt_from_chroma(tmp_path):
    first = sample_store(tmp_path)
    expected = first.ask(QUESTION).text
    for segment in first.store.index_dir.glob("seg-*.npz"):
        segment.write_bytes(b"not an index")
    again = reopened(tmp_path)
    assert again.store.passage_ids() == chroma_ids(again)
    assert again.ask(QUESTION).text == expected


def test_a_saved_index_behind_chroma_is_brought_in_line(tmp_path):
    first = sample_store(tmp_path)
    doc_id = first.ask(QUESTION).citations[0].doc_id
    gone = [p.passage_id for p in first.store.passages_of(doc_id)]
    first.store.vectors.delete(ids=gone)  # a change the saved index never heard of
    again = reopened(tmp_path)
    assert again.store.passage_ids() == chroma_ids(again)
    assert not set(gone) & again.store.passage_ids()
    assert doc_id not in again.store.doc_ids()


def test_an_index_that_could_not_be_saved_is_caught_up_at_the_next_start(tmp_path, monkeypatch):
    def disk_full(self, folder, stamp):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(LexicalIndex, "save", disk_full)
    first = sample_store(tmp_path)
    assert len(first.store) > 0 and not first.store.index_dir.exists()
    monkeypatch.undo()
    again = reopened(tmp_path)
    assert again.store.passage_ids() == chroma_ids(again) == first.store.passage_ids()
    assert not again.ask(QUESTION).refused


def test_removing_a_document_updates_the_index_in_place(tmp_path):
    service = sample_store(tmp_path)
    doc_id = service.ask(QUESTION).citations[0].doc_id
    removed = service.remove(doc_id)
    assert removed > 0
    assert service.store.passage_ids() == chroma_ids(service)
    assert all(service.store.passage(i).doc_id != doc_id for i in service.store.passage_ids())
    assert reopened(tmp_path).store.passage_ids() == chroma_ids(service)
    with pytest.raises(FileNotFoundError):
        service.document_text(doc_id)


def test_counting_the_passages_searched_agrees_with_the_passages_matched(tmp_path):
    store = sample_store(tmp_path).store
    docs = sorted(store.doc_ids())
    assert store.count_matching() == len(store) == len(store.passage_ids())
    for doc_ids, filters in (([docs[0]], None), (docs[:2] + docs[:1], None), (["no-such-document"], None), (docs, {"kind": "item"})):
        assert store.count_matching(doc_ids, filters) == len(store.matching(doc_ids, filters))
    assert 0 < store.count_matching([docs[0]]) < len(store)


def test_a_collection_another_app_created_first_is_opened_not_an_error(tmp_path, monkeypatch):
    """Two apps starting together over one server both find the passages missing; the second create must not fail."""
    import chromadb
    from langchain_core.embeddings import DeterministicFakeEmbedding

    from vectorstore.chroma import MODEL_KEY, make_store

    settings = make_settings(tmp_path)
    client = chromadb.PersistentClient(path=str(tmp_path / "chroma"), settings=chromadb.Settings(anonymized_telemetry=False))
    first = make_store(settings, DeterministicFakeEmbedding(size=8), "fake", client)
    first.passages.add(ids=["p1"], embeddings=[[0.1] * 8], metadatas=[{"doc_id": "d"}])
    listed_before_the_first_app_created_it = []
    monkeypatch.setattr(client, "list_collections", lambda: listed_before_the_first_app_created_it)
    second = make_store(settings.model_copy(update={"embed_model": "another"}), DeterministicFakeEmbedding(size=8), "fake", client)
    assert second.passages.count() == 1 and second.passages.metadata[MODEL_KEY] == settings.embed_model


def test_a_store_that_looked_in_the_middle_of_another_ones_change_sees_the_end_of_it_by_the_stamp_alone(tmp_path, monkeypatch):
    """A change renews the stamp when it is done as well as before: another store that looked while the new
    passages were in and the old ones not yet gone sees the old ones go without counting Chroma's passages."""
    import vectorstore.store as store_module

    policy = tmp_path / "inbox" / "村级档案.txt"
    policy.parent.mkdir()
    policy.write_text("关于村级档案管理的通知\n一、保管期限\n村级会计档案的保管期限为三十年。\n", encoding="utf-8")
    first = sample_store(tmp_path / "data")
    first.ingest([policy])
    second = reopened(tmp_path / "data")
    monkeypatch.setattr(store_module, "CHECK_INTERVAL", 1e-9)  # every question looks
    monkeypatch.setattr(store_module, "COUNT_INTERVAL", 3600.0)  # and never counts
    second.store.refresh_if_changed(max_age=0)
    old = {p.passage_id for p in second.store.passages_of("村级档案")}
    added = first.store.vectors.add_texts

    def add_then_the_other_store_looks(*args, **kwargs):
        ids = added(*args, **kwargs)
        assert second.store.refresh_if_changed()  # the new version is in, the old one not yet deleted
        return ids

    monkeypatch.setattr(first.store.vectors, "add_texts", add_then_the_other_store_looks)
    policy.write_text("关于村级档案管理的通知\n一、保管期限\n村级会计档案的保管期限为十五年。\n", encoding="utf-8")
    first.ingest([policy])
    assert old <= second.store.passage_ids()  # what it saw in the middle
    assert second.store.refresh_if_changed()
    assert second.store.passage_ids() == chroma_ids(second) == first.store.passage_ids()
    assert not old & second.store.passage_ids()
    assert "十五年" in second.ask("村级会计档案保管多少年？").text


def test_a_change_another_store_makes_while_this_one_writes_is_read_at_this_ones_next_look(tmp_path, monkeypatch):
    """Two processes may write at once: the one finishing last must not take the stamp it renews at the end
    as proof that it has seen everything (the other's change here keeps the number of passages the same)."""
    import vectorstore.store as store_module

    policy = tmp_path / "inbox" / "村级档案.txt"
    policy.parent.mkdir()
    policy.write_text("关于村级档案管理的通知\n一、保管期限\n村级会计档案的保管期限为三十年。\n", encoding="utf-8")
    other = tmp_path / "inbox" / "学时.txt"
    other.write_text("关于干部教育培训学时的通知\n一、学时要求\n参加脱产培训的干部每年累计不少于一百一十学时。\n", encoding="utf-8")
    first = sample_store(tmp_path / "data")
    first.ingest([policy])
    second = reopened(tmp_path / "data")
    monkeypatch.setattr(store_module, "CHECK_INTERVAL", 1e-9)
    monkeypatch.setattr(store_module, "COUNT_INTERVAL", 3600.0)
    added = first.store.vectors.add_texts

    def add_while_the_other_store_replaces_a_document(*args, **kwargs):
        ids = added(*args, **kwargs)
        policy.write_text("关于村级档案管理的通知\n一、保管期限\n村级会计档案的保管期限为十五年。\n", encoding="utf-8")
        second.ingest([policy])
        return ids

    monkeypatch.setattr(first.store.vectors, "add_texts", add_while_the_other_store_replaces_a_document)
    first.ingest([other])
    monkeypatch.undo()
    assert first.store.refresh_if_changed(max_age=1e-9)
    assert first.store.passage_ids() == chroma_ids(first)
    assert "十五年" in first.ask("村级会计档案保管多少年？").text
