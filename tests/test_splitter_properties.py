"""Properties of cleaning and splitting, over generated policy-like texts: nothing lost or reordered, exact offsets, stable ids."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest import IngestError, document_id, parse_policy_text
from ingest.clean import ITEM_PATTERN, squeeze
from ingest.structure import blocks_of

WORDS = ["干部", "考核", "容错", "纠错", "机制", "激励", "担当", "作为", "先行先试", "免责", "财政", "补助", "农村", "改造", "记者", "来源"]
PUNCTUATION = ["，", "、", "：", "；", "。", "！", "？", "“", "”", "（", "）", "—"]
HEADINGS = ["一、", "二、", "（一）", "（二）", "1.", "2、", "（1）", "第一章", "第二条", "# ", "- ", "• "]
SPACES = [" ", "\u3000", "\t", "\n", "\n\n"]


def line_of(draw) -> str:
    """A line: an optional numbering or item mark, words and punctuation, maybe a sentence end."""
    start = draw(st.sampled_from(["", "", "", *HEADINGS]))
    body = draw(st.lists(st.sampled_from(WORDS + PUNCTUATION + ["2025", "年", "3", "月"]), min_size=1, max_size=60))
    end = draw(st.sampled_from(["", "。", "；", "！", ""]))
    return start + "".join(body) + end


@st.composite
def raw_documents(draw) -> str:
    """Raw policy-like text: lines of numbered headings, items and sentences, with stray whitespace between."""
    lines = draw(st.lists(st.builds(lambda: None), min_size=1, max_size=25))
    return "".join(line_of(draw) + draw(st.sampled_from(SPACES)) for _ in lines)


def parsed(raw: str, max_chars: int):
    try:
        return parse_policy_text(raw, "generated.txt", max_chars)
    except IngestError:
        return None


PROPERTY_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(raw_documents(), st.sampled_from([50, 120, 300]))
def test_offsets_point_at_the_passage_text_in_order(raw, max_chars):
    result = parsed(raw, max_chars)
    if result is None:
        assert not raw.strip()
        return
    document, passages = result
    for passage in passages:
        assert document.text[passage.start : passage.end] == passage.text
    assert all(a.end <= b.start for a, b in zip(passages, passages[1:]))
    assert [p.order for p in passages] == list(range(len(passages)))


@PROPERTY_SETTINGS
@given(raw_documents(), st.sampled_from([50, 120, 300]))
def test_no_text_is_lost_only_headings_bylines_and_item_marks_stay_outside_passages(raw, max_chars):
    result = parsed(raw, max_chars)
    if result is None:
        return
    document, passages = result
    covered = bytearray(len(document.text))
    for passage in passages:
        covered[passage.start : passage.end] = b"\1" * (passage.end - passage.start)
    outside_passages = set()
    for block in blocks_of(document.text):
        if block.kind in ("heading", "meta"):
            outside_passages.update(range(block.start, block.end))
        elif block.kind == "item":
            outside_passages.update(range(block.start, block.start + len(ITEM_PATTERN.match(block.text).group(0))))
    if not passages or not any(covered):
        return
    lost = [i for i, ch in enumerate(document.text) if not covered[i] and not ch.isspace() and i not in outside_passages]
    assert lost == [], f"characters left out: {''.join(document.text[i] for i in lost)!r}"
    assert squeeze(document.text) == squeeze(raw)


@PROPERTY_SETTINGS
@given(raw_documents())
def test_ids_are_the_same_every_time_and_blind_to_whitespace(raw):
    first, second = parsed(raw, 300), parsed(raw + "\n\n", 300)
    if first is None:
        return
    assert [p.passage_id for p in first[1]] == [p.passage_id for p in parsed(raw, 300)[1]]
    assert first[0].doc_id == second[0].doc_id == document_id(first[0].text)


def test_ids_do_not_depend_on_the_run():
    """Pinned values: ids derive from content alone (no hash seed, no clock), so they hold in every process."""
    document, passages = parse_policy_text("一、总体要求\n\n建立容错纠错机制，激励干部担当作为。\n", "fixed.txt")
    assert document.doc_id == document_id(document.text) == "doc-4e9adfdd4e23"
    assert passages[0].passage_id == "f3f6fd0b10a88a1a4e7d"
