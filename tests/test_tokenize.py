"""The lexical tokens: rjieba segments Chinese exactly as jieba does, so the faster cut changes no token."""

import jieba
from conftest import HUBEI, XINHUA

from vectorstore.tokenize import CJK_RUN, index_tokens, jieba_tokenizer, segment


def jieba_index_tokens(text: str) -> list[str]:
    """index_tokens as written with jieba's own cut, for comparison."""
    from vectorstore.tokenize import LATIN_WORD, WORD_PREFIX, cjk_bigrams

    lowered = text.lower()
    tokenizer = jieba_tokenizer()
    cut = [w for w in tokenizer.lcut(lowered) if CJK_RUN.fullmatch(w)]
    found = cut + LATIN_WORD.findall(lowered)
    for word in cut:
        for size in (2, 3):
            if len(word) > size:
                found.extend(g for g in (word[i : i + size] for i in range(len(word) - size + 1)) if tokenizer.FREQ.get(g))
        found.append(word)
    return cjk_bigrams(text) + [WORD_PREFIX + w for w in found]


def test_rjieba_cuts_chinese_as_jieba_does():
    for path in (HUBEI, XINHUA):
        text = path.read_text(encoding="utf-8").lower()
        ours = [w for w in segment(text) if CJK_RUN.fullmatch(w)]
        theirs = [w for w in jieba.Tokenizer().lcut(text) if CJK_RUN.fullmatch(w)]
        assert ours == theirs and len(ours) > 500


def test_index_tokens_are_those_jieba_would_give():
    for path in (HUBEI, XINHUA):
        for paragraph in path.read_text(encoding="utf-8").split("\n"):
            assert sorted(index_tokens(paragraph)) == sorted(jieba_index_tokens(paragraph))


def test_bigram_codes_are_the_bigrams_of_each_text():
    from vectorstore.tokenize import bigram_code, bigram_codes, bigram_text, cjk_bigrams

    texts = [p for path in (HUBEI, XINHUA) for p in path.read_text(encoding="utf-8").split("\n")]
    texts += ["", "中", "a中b", "中国\n人", "㐀䶿豈﫿", "😀中文😀", "Policy 2025 第3号", "一、总则 › （一）目的"]
    codes, rows = bigram_codes(texts)
    found = [[] for _ in texts]
    for code, row in zip(codes.tolist(), rows.tolist()):
        found[row].append(bigram_text(code))
    for text, grams in zip(texts, found):
        assert sorted(grams) == sorted(cjk_bigrams(text))
        assert all(bigram_code(g) is not None for g in grams)
