"""One citation record, made one way and formatted one way wherever it is shown."""

from dataclasses import asdict

from assistant.answer import Citation
from vectorstore.table import StoredPassage

PASSAGE = StoredPassage(
    passage_id="p1", text="因缺乏经验、先行先试出现的失误，可以不予或者免于追究责任。", doc_id="doc-1",
    title="关于进一步激励干部担当作为的意见", section="三、健全完善容错免责机制 › （二）免责情形", start=120, end=150,
    kind="paragraph", order=3, source="hubei.txt", issuer="中共湖北省委", date="", doc_number="鄂发〔2025〕1号",
)


def test_a_citation_from_a_stored_passage_and_from_a_retrieved_one_agree():
    from langchain_core.documents import Document

    stored = Citation.of(asdict(PASSAGE), 2, quotes=("先行先试出现的失误",))
    metadata = {k: v for k, v in asdict(PASSAGE).items() if k != "text"} | {"score": 0.5, "lexical_rank": 0}
    retrieved = Citation.of({**Document(page_content=PASSAGE.text, metadata=metadata).metadata, "text": PASSAGE.text}, 2,
                            quotes=("先行先试出现的失误",))
    assert stored == Citation(**{**asdict(retrieved), "score": 0.0, "quotes": retrieved.quotes})
    assert (retrieved.n, retrieved.doc_id, retrieved.start, retrieved.end, retrieved.score) == (2, "doc-1", 120, 150, 0.5)


def test_the_facts_come_in_one_order_and_blank_ones_are_left_out():
    citation = Citation.of(asdict(PASSAGE), 1)
    assert citation.facts() == ("中共湖北省委", "鄂发〔2025〕1号")
    assert citation.facts(labelled=True) == ("发文机关：中共湖北省委", "文号：鄂发〔2025〕1号")
    assert citation.reference() == "[1] 《关于进一步激励干部担当作为的意见》 › 三、健全完善容错免责机制 › （二）免责情形（中共湖北省委，鄂发〔2025〕1号）"
    bare = Citation.of({**asdict(PASSAGE), "issuer": "", "doc_number": "", "section": ""}, 3)
    assert bare.reference() == "[3] 《关于进一步激励干部担当作为的意见》" and bare.place() == "《关于进一步激励干部担当作为的意见》"
