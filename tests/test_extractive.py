"""Evidence weighing for the extractive answerer: which question words a passage holds."""

from vectorstore.evidence import weigh_terms


def flat_idf(_word: str) -> float:
    return 1.0


def test_a_passage_holding_every_informative_word_covers_the_question():
    terms = weigh_terms("先行先试中出现的失误能否免责？", flat_idf)
    assert "能否" not in terms.terms
    assert terms.coverage("对干部在推进支点建设中因缺乏经验、先行先试出现的失误，建立免责减责事项清单") == 1.0


def test_an_abbreviation_counts_where_its_full_form_stands_but_not_across_a_sentence():
    terms = weigh_terms("犯错会被追责吗？", flat_idf)
    share = 1 / len(terms.terms)
    assert terms.coverage("可以不予或者免于追究责任") == share
    assert terms.coverage("追查线索，加强管理，明确职责") == 0.0


def test_rare_words_weigh_more_than_common_ones():
    idf = {"干部": 0.1, "住宿费": 5.0, "出差": 5.0, "标准": 1.0}.get
    terms = weigh_terms("干部出差住宿费标准是多少？", lambda w: idf(w, 1.0))
    assert terms.coverage("干部的标准") < 0.2
    assert terms.coverage("出差住宿费") > 0.8


def test_the_passage_of_the_best_sentence_is_quoted_first_whatever_its_retrieval_rank():
    from assistant.extractive import SentenceCandidate, pick_quotes

    best_in_second = SentenceCandidate(rank=1, start=10, end=30, score=0.91)
    close_in_first = SentenceCandidate(rank=0, start=0, end=12, score=0.90)
    earlier_in_second = SentenceCandidate(rank=1, start=0, end=10, score=0.895)
    by_rank = pick_quotes([best_in_second, close_in_first, earlier_in_second], max_quotes=4, margin=0.02)
    assert list(by_rank) == [1, 0]  # the answer (and its yes/no or number lead) starts from the best sentence
    assert by_rank[1] == [(0, 30)]  # within a passage, in reading order, adjacent sentences merged
