"""Score fusion: the model's similarity leads, the share of the question's words and both ranks refine it."""

from vectorstore.retriever import ScoreFusion


def test_a_passage_both_lists_find_outranks_one_found_by_either_alone():
    lexical = ["both", "words-only"]
    dense = [("meaning-only", 0.91), ("both", 0.90), ("far", 0.80)]
    coverage = {"both": 0.8, "words-only": 0.9, "meaning-only": 0.1, "far": 0.0}
    ranked = [pid for pid, _ in ScoreFusion().fuse(lexical, dense, coverage, limit=4)]
    assert ranked[0] == "both"
    assert ranked.index("meaning-only") < ranked.index("words-only")  # outside the model's list it counts at its lowest similarity
    assert ranked[-1] == "far"


def test_a_passage_outside_the_models_list_gets_its_lowest_similarity():
    fused = dict(ScoreFusion().fuse(["lexical-only"], [("a", 0.95), ("b", 0.85)], {"lexical-only": 1.0}, limit=3))
    expected = 0.85 + ScoreFusion.lexical * 1.0 + ScoreFusion.lexical_rank / 61
    assert abs(fused["lexical-only"] - expected) < 1e-9
    assert set(fused) == {"a", "b", "lexical-only"}
