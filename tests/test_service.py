"""The assistant service on the real bundled texts, real Chroma on disk and the real bundled model."""

import re
import shutil

import pytest
from langchain_core.retrievers import BaseRetriever

from assistant import QuestionError
from assistant.answer import NOT_FOUND
from conftest import HUBEI, XINHUA
from ingest import load_policy_file

EXEMPTION = "先行先试中出现的失误能否免责？"
QUOTE_MARK = re.compile(r"「(.+?)」\[(\d+)\]", re.S)
ANSWERABLE = (
    EXEMPTION,
    "对受处理处分影响期满的干部如何使用？",
    "年度考核不称职的干部怎么处理？",
    "表现突出的乡镇党政正职可以直接提任什么职务？",
    "甘肃出台了多少条激励干部的措施？",
    "反映问题失实的怎么处理？",
)


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_exemption_question_quotes_the_provision_with_its_section(sample_service):
    answer = sample_service.ask(EXEMPTION)
    assert not answer.refused
    assert "因缺乏经验、先行先试出现的失误" in answer.text
    first = answer.citations[0]
    assert first.title.startswith("中共湖北省委关于进一步激励干部")
    assert "健全完善容错免责机制" in first.section
    assert "[1]" in answer.text


def test_question_the_documents_do_not_answer_is_declined(sample_service):
    answer = sample_service.ask("公务员的基本工资标准是多少？")
    assert answer.refused
    assert answer.text.startswith(NOT_FOUND)
    assert answer.citations == ()
    assert answer.related, "the nearest passages are shown as possibly related"
    assert "可能相关" in answer.text


@pytest.mark.parametrize("question", ANSWERABLE)
def test_every_quote_occurs_verbatim_in_the_document_its_citation_names(sample_service, question):
    answer = sample_service.ask(question)
    assert not answer.refused, question
    quotes = QUOTE_MARK.findall(answer.text)
    assert quotes, answer.text
    citations = {c.n: c for c in answer.citations}
    for quote, n in quotes:
        citation = citations[int(n)]
        document = squeeze(sample_service.document_text(citation.doc_id))
        for part in quote.split("……"):
            assert squeeze(part) in document, (question, part)
        assert sample_service.document_text(citation.doc_id)[citation.start : citation.end] == citation.text


def test_retriever_is_a_langchain_retriever_returning_cited_documents(sample_service):
    assert isinstance(sample_service.retriever, BaseRetriever)
    documents = sample_service.retriever.invoke("容错免责机制")
    assert documents
    for key in ("doc_id", "title", "section", "start", "end", "passage_id", "score"):
        assert key in documents[0].metadata
    assert any("健全完善容错免责机制" in d.metadata["section"] for d in documents[:3])


@pytest.mark.parametrize("question", ["", "   \n\t", "\x00\x01"])
def test_empty_questions_get_a_clear_error(sample_service, question):
    with pytest.raises(QuestionError, match="不能为空"):
        sample_service.ask(question)


def test_overlong_question_gets_a_clear_error(sample_service):
    with pytest.raises(QuestionError, match="过长"):
        sample_service.ask("干部" * 5000)


def test_ingesting_the_same_files_twice_stores_nothing_twice(fresh_service):
    first = fresh_service.ingest([HUBEI, XINHUA])
    count = len(fresh_service.store)
    again = fresh_service.ingest([HUBEI, XINHUA])
    assert first.documents_added == 4 and first.passages_added == count  # each file holds two articles
    assert again.passages_added == 0 and again.documents_unchanged == 4
    assert len(fresh_service.store) == count
    assert fresh_service.store.vectors.get(include=[])["ids"].__len__() == count


def test_changed_file_replaces_its_old_passages(fresh_service, tmp_path):
    path = tmp_path / "policy.txt"
    shutil.copy(HUBEI, path)
    fresh_service.ingest([path])
    old_ids = fresh_service.store.passage_ids()
    path.write_text(HUBEI.read_text(encoding="utf-8") + "\n\n新增一条：对基层干部每年安排一次专题培训。\n", encoding="utf-8")
    fresh_service.ingest([path])
    documents = fresh_service.documents()
    assert len(documents) == 2 and {d["source"] for d in documents} == {str(path)}
    assert any("专题培训。" in fresh_service.document_text(d["doc_id"]) for d in documents)
    assert fresh_service.store.passage_ids() != old_ids
    assert len(fresh_service.store.vectors.get(include=[])["ids"]) == len(fresh_service.store.lexical)


def test_remove_deletes_a_document_from_chroma_and_the_lexical_index(fresh_service):
    fresh_service.ingest([HUBEI, XINHUA])
    hubei = next(d for d in fresh_service.documents() if d["title"].startswith("中共湖北省委"))
    removed = fresh_service.remove(hubei["doc_id"])
    assert removed == hubei["passages"]
    assert hubei["doc_id"] not in [d["doc_id"] for d in fresh_service.documents()]
    assert all(fresh_service.store.passage(i).doc_id != hubei["doc_id"] for i in fresh_service.store.passage_ids())
    remaining = fresh_service.store.vectors.get(include=["metadatas"])["metadatas"]
    assert remaining and all(m["doc_id"] != hubei["doc_id"] for m in remaining)
    assert fresh_service.ask(EXEMPTION).refused
    with pytest.raises(KeyError):
        fresh_service.remove(hubei["doc_id"])


def test_bad_files_are_reported_and_the_good_ones_and_earlier_ones_kept(fresh_service, tmp_path):
    fresh_service.ingest([XINHUA])
    before = len(fresh_service.store)
    folder = tmp_path / "inbox"
    folder.mkdir()
    shutil.copy(HUBEI, folder / "hubei.txt")
    (folder / "empty.txt").write_text("", encoding="utf-8")
    (folder / "blob.txt").write_bytes(bytes(range(256)) * 20)
    (folder / "corrupt.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage")
    report = fresh_service.ingest([folder, tmp_path / "missing.txt"])
    assert len(report.errors) == 4
    assert any("empty.txt" in e and "为空" in e for e in report.errors)
    assert any("blob.txt" in e and "二进制" in e for e in report.errors)
    assert any("corrupt.pdf" in e and "PDF" in e for e in report.errors)
    assert any("missing.txt" in e and "不存在" in e for e in report.errors)
    assert report.documents_added == 2  # the two articles of the Hubei file
    assert len(fresh_service.store) > before
    assert not fresh_service.ask(EXEMPTION).refused


def test_store_survives_a_restart(tmp_path):
    from assistant import create_service
    from conftest import make_settings

    settings = make_settings(tmp_path / "store", ingest_sample_when_empty=False)
    create_service(settings).ingest([HUBEI])
    reopened = create_service(settings)
    assert len(reopened.store) > 0
    assert not reopened.ask(EXEMPTION).refused


def test_a_new_passage_size_re_splits_files_ingested_before(tmp_path):
    from assistant import create_service
    from conftest import make_settings

    small = make_settings(tmp_path / "store", ingest_sample_when_empty=False, passage_max_chars=300)
    create_service(small).ingest([HUBEI])
    again = create_service(small).ingest([HUBEI])
    assert again.passages_added == 0 and again.documents_unchanged == 2

    large = small.model_copy(update={"passage_max_chars": 800})
    service = create_service(large)
    service.ingest([HUBEI])
    expected = {p.passage_id for _, passages in load_policy_file(HUBEI, 800) for p in passages}
    assert expected != {p.passage_id for _, passages in load_policy_file(HUBEI, 300) for p in passages}
    assert service.store.passage_ids() == expected
    assert set(service.store.vectors.get(include=[])["ids"]) == expected


def test_first_places_show_several_documents_and_the_passages_stay_the_best_k(fresh_service):
    """A document whose every passage matches does not fill the first places: another document's best
    passage moves up, while the k passages returned are still the k best."""
    question = "困难企业缓缴社会保险费"
    sections = "\n".join(
        f"第{n}条 困难企业缓缴社会保险费的，第{n}项申请材料按要求提交，由人社部门审核办理，缓缴社会保险费期满后补缴。"
        for n in range(1, 7)
    )
    fresh_service.ingest_texts(
        [
            {"doc_id": "many", "source": "many.txt", "title": "缓缴社会保险费办理指南", "text": sections},
            {"doc_id": "other", "source": "other.txt", "title": "企业纾困若干措施", "text": "受疫情影响的困难企业可以申请缓缴社会保险费。"},
        ]
    )
    plain = [pid for pid, _ in fresh_service.store.lexical.search(question, 8)]
    spread = [d.id for d in fresh_service.retriever.invoke(question, k=8)]
    other = next(pid for pid in plain if fresh_service.store.passage(pid).doc_id == "other")
    assert plain.index(other) >= 2, "the test needs the other document below the first places"
    assert spread.index(other) < plain.index(other)
    assert spread.index(other) <= 1
    assert set(spread) == set(plain)
