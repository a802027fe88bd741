"""The lexical index: the same BM25 scores as bm25s, updated in place, saved and loaded, damage detected."""

import bm25s
import numpy as np
import pytest

from conftest import HUBEI, XINHUA
from vectorstore.lexical import BM25_B, BM25_K1, IndexFileError, LexicalIndex
from vectorstore.tokenize import index_tokens, query_tokens

QUESTIONS = ["先行先试中出现的失误能否免责", "干部考核评价", "容错纠错机制", "激励广大干部担当作为"]


def sample_passages() -> tuple[list[str], list[str]]:
    """Paragraphs of the bundled texts with ids."""
    texts = [p for path in (HUBEI, XINHUA) for p in path.read_text(encoding="utf-8").split("\n") if len(p) > 10]
    return [f"p{i}" for i in range(len(texts))], texts


def same_ranking(ours: list[tuple[str, float]], theirs: list[tuple[str, float]]) -> bool:
    """Same ids in the same order with the same scores (to float precision)."""
    return [pid for pid, _ in ours] == [pid for pid, _ in theirs] and [s for _, s in ours] == pytest.approx([s for _, s in theirs])


def bm25s_ranking(texts: list[str], question: str, k: int) -> list[tuple[int, float]]:
    """What bm25s itself ranks for these texts (the reference)."""
    model = bm25s.BM25(k1=BM25_K1, b=BM25_B)
    model.index([index_tokens(t) for t in texts], show_progress=False)
    tokens = [t for t in query_tokens(question) if t in model.vocab_dict]
    scores = model.get_scores(tokens)
    order = np.argsort(-scores, kind="stable")[:k]
    return [(int(i), float(scores[i])) for i in order if scores[i] > 0]


@pytest.mark.parametrize("question", QUESTIONS)
def test_scores_equal_bm25s_after_adding_in_several_batches(question):
    ids, texts = sample_passages()
    index = LexicalIndex()
    for start in range(0, len(texts), 7):
        index.add(ids[start : start + 7], texts[start : start + 7])
    ours = index.search(question, 10)
    reference = bm25s_ranking(texts, question, 10)
    assert [score for _, score in ours] == pytest.approx([score for _, score in reference], rel=1e-4)
    assert {pid for pid, _ in ours} == {ids[i] for i, _ in reference}


def test_removing_passages_scores_as_if_they_had_never_been_added():
    ids, texts = sample_passages()
    index = LexicalIndex()
    for start in range(0, len(texts), 5):
        index.add(ids[start : start + 5], texts[start : start + 5])
    dropped = set(ids[::3])
    index.remove(dropped)
    kept = [(pid, text) for pid, text in zip(ids, texts) if pid not in dropped]
    fresh = LexicalIndex()
    fresh.add([pid for pid, _ in kept], [text for _, text in kept])
    for question in QUESTIONS:
        assert same_ranking(index.search(question, 8), fresh.search(question, 8))
    assert sorted(index.ids) == sorted(fresh.ids)
    assert index.idf("干部") == pytest.approx(fresh.idf("干部"))


def test_allowed_ids_restrict_the_results():
    ids, texts = sample_passages()
    index = LexicalIndex()
    index.add(ids, texts)
    allowed = set(ids[10:20])
    hits = index.search("干部", 50, allowed)
    assert hits and {pid for pid, _ in hits} <= allowed


def test_saved_index_loads_with_the_same_results_and_payloads(tmp_path):
    ids, texts = sample_passages()
    index = LexicalIndex()
    for start in range(0, len(texts), 9):
        index.add(ids[start : start + 9], texts[start : start + 9], [[t[:5]] for t in texts[start : start + 9]])
        index.save(tmp_path, stamp=f"s{start}")
    index.remove(ids[:4])
    index.save(tmp_path, stamp="last")
    loaded, manifest = LexicalIndex.load(tmp_path)
    assert manifest["stamp"] == "last"
    assert dict(loaded.payloads()) == dict(index.payloads())
    for question in QUESTIONS:
        assert same_ranking(loaded.search(question, 8), index.search(question, 8))
    loaded.add(["extra"], ["全新的段落：农村人居环境整治"])
    assert loaded.search("农村人居环境整治", 1)[0][0] == "extra"


def test_a_damaged_index_is_refused(tmp_path):
    ids, texts = sample_passages()
    index = LexicalIndex()
    index.add(ids, texts)
    index.save(tmp_path, stamp="s")
    segment = next(tmp_path.glob("seg-*.npz"))
    segment.write_bytes(segment.read_bytes()[:100])
    with pytest.raises(IndexFileError):
        LexicalIndex.load(tmp_path)


def test_passage_tokens_are_the_tokens_of_the_whole_text():
    from vectorstore.tokenize import passage_tokens

    _, texts = sample_passages()
    for title in ("关于进一步激励干部担当作为的意见", "Policy 2025 第3号"):
        text = f"{title}\n一、总体要求 › （一）健全容错机制\n{texts[3]}"
        assert sorted(passage_tokens(text)) == sorted(index_tokens(text))


def test_an_index_loaded_from_disk_and_added_to_scores_as_one_built_at_once(tmp_path):
    ids, texts = sample_passages()
    half = len(texts) // 2
    first = LexicalIndex()
    first.add(ids[: half // 2], texts[: half // 2])  # two batches: the word list no longer follows code order
    first.add(ids[half // 2 : half], texts[half // 2 : half])
    first.save(tmp_path, stamp="half")
    loaded, _ = LexicalIndex.load(tmp_path)
    loaded.add(ids[half:], texts[half:])  # bigrams already known must keep their term, new ones get theirs
    assert len(loaded.vocabulary.terms) == len(set(loaded.vocabulary.terms))
    for question in QUESTIONS:
        theirs = [(ids[i], score) for i, score in bm25s_ranking(texts, question, 8)]
        assert same_ranking(loaded.search(question, 8), theirs)


def test_passages_holding_a_word_are_the_live_ones_that_hold_it_in_order():
    ids, texts = sample_passages()
    index = LexicalIndex()
    for start in range(0, len(texts), 9):
        index.add(ids[start : start + 9], texts[start : start + 9])
    index.remove(ids[::4])
    every_row = [pid for segment in index.segments for pid in segment.ids]
    removed = set(ids[::4])

    def holding(word: str) -> set[str]:
        positions = index.passages_holding(word)
        assert np.all(np.diff(positions) > 0)
        return {every_row[p] for p in positions}

    for word in ("干部", "免责", "担当"):  # jieba words: exactly the passages holding them
        expected = {pid for pid, text in zip(ids, texts) if word in text} - removed
        assert expected and holding(word) == expected
    # not a jieba word: the passages holding all its bigrams, which include those holding the phrase
    assert {pid for pid, text in zip(ids, texts) if "激励干部" in text} - removed <= holding("激励干部")
    assert len(index.passages_holding("量子纠缠")) == 0
