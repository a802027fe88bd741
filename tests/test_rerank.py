"""The optional cross-encoder reranker: used when it is on disk, skipped with a warning when it is not."""

import logging

import pytest

from conftest import make_settings

QUESTION = "先行先试中出现的失误能否免责？"


@pytest.fixture(scope="module")
def cross_encoder_dir(tmp_path_factory):
    """A cross-encoder saved on disk: the bundled MiniLM with a fresh scoring head (scores are arbitrary but fixed)."""
    from sentence_transformers import CrossEncoder

    from vectorstore.embeddings import bundled_model_path

    path = tmp_path_factory.mktemp("models") / "minilm-cross-encoder"
    CrossEncoder(bundled_model_path(), num_labels=1, local_files_only=True).save(str(path))
    return path


def test_a_cross_encoder_on_disk_reorders_the_fused_candidates(cross_encoder_dir, tmp_path):
    from sentence_transformers import CrossEncoder

    from assistant import create_service

    service = create_service(make_settings(tmp_path / "store", rerank_model=str(cross_encoder_dir), rerank_candidates=20))
    service.ensure_sample()
    assert service.health()["rerank_model"] == "minilm-cross-encoder"
    candidates = service.retriever.invoke(QUESTION, k=20)
    scores = CrossEncoder(str(cross_encoder_dir), local_files_only=True).predict(
        [(QUESTION, f"{d.metadata['section']}\n{d.page_content}") for d in candidates]
    )
    expected = [candidates[i].id for i in sorted(range(len(candidates)), key=lambda i: (-scores[i], i))[:5]]
    reranked = service.search(QUESTION, k=5)
    assert [d.id for d in reranked] == expected
    assert [d.metadata["rerank_score"] for d in reranked] == sorted((float(s) for s in scores), reverse=True)[:5]
    assert expected != [d.id for d in candidates[:5]], "the arbitrary head does change the order"


def test_a_missing_cross_encoder_is_named_and_answers_go_on_without_it(tmp_path, caplog):
    from assistant import create_service

    with caplog.at_level(logging.WARNING):
        service = create_service(make_settings(tmp_path / "store", rerank_model=str(tmp_path / "no-such-model")))
    assert service.reranker is None
    assert "POLICYQA_RERANK_MODEL" in caplog.text and "no-such-model" in caplog.text
    service.ensure_sample()
    assert "先行先试出现的失误" in service.ask(QUESTION).text
