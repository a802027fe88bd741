"""Score fusion: the model's similarity leads, the share of the question's words and both ranks refine it."""

import numpy as np

from vectorstore.retriever import ScoreFusion, WordsOrMeaningFusion, centrality_of


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


def test_a_question_whose_words_no_passage_holds_is_ranked_without_the_direction_every_passage_shares():
    dense = [("general", 0.900), ("provision", 0.893), ("other", 0.880)]
    centrality = {"general": 0.04, "provision": -0.01, "other": 0.0}  # "general" lies along the store's centroid
    few_words = {"general": 0.2, "provision": 0.1, "other": 0.3}
    ranked = [pid for pid, _ in WordsOrMeaningFusion().fuse([], dense, few_words, 3, lambda: centrality)]
    assert ranked[0] == "provision"  # 0.893 + 0.005 against 0.900 - 0.020

    held_words = {**few_words, "general": 0.8}
    kept = [pid for pid, _ in WordsOrMeaningFusion().fuse(["general"], dense, held_words, 3, lambda: centrality)]
    assert kept[0] == "general"  # a question whose words a passage holds is fused as before
    assert WordsOrMeaningFusion().fuse(["general"], dense, held_words, 3, lambda: centrality) == ScoreFusion().fuse(["general"], dense, held_words, 3)


def test_without_a_centroid_a_question_found_by_meaning_is_fused_as_one_found_by_words():
    dense = [("general", 0.900), ("provision", 0.893)]
    coverage = {"general": 0.2, "provision": 0.1}
    assert WordsOrMeaningFusion().fuse([], dense, coverage, 2, lambda: None) == ScoreFusion().fuse([], dense, coverage, 2)


def test_the_centroid_is_the_mean_stored_vector_and_is_measured_again_once_the_store_grows_by_a_tenth(fresh_service):
    texts = [{"text": f"第{i}条 {topic}工作由{body}负责，每年向社会公布{what}。", "source": f"rule-{i}.txt"}
             for i, (topic, body, what) in enumerate(
                 [(t, b, w) for t in ("干部考核", "容错免责", "挂职锻炼", "教育培训") for b in ("组织部门", "纪检机关", "人社部门") for w in ("结果", "名单", "经费")])]
    fresh_service.ingest_texts(texts[:30])
    store, retriever = fresh_service.store, fresh_service.retriever

    def stored_mean():
        return np.mean(np.asarray(list(store.passage_vectors(sorted(store.passage_ids())).values())), axis=0)

    first = retriever.centroid()
    assert len(store) == 30 and np.allclose(first, stored_mean(), atol=1e-6)
    fresh_service.ingest_texts(texts[30:31])
    assert retriever.centroid() is first  # one passage in 31 is not a tenth
    fresh_service.ingest_texts(texts[31:])
    second = retriever.centroid()
    assert len(store) == 36 and np.allclose(second, stored_mean(), atol=1e-6) and not np.allclose(second, first)
    centrality = centrality_of(store.passage_vectors(sorted(store.passage_ids())), second)
    assert abs(np.mean(list(centrality.values()))) < 1e-5  # a typical passage's centrality is 0


def test_a_passage_along_the_centroid_has_positive_centrality_and_one_across_it_negative():
    centroid = np.array([0.9, 0.0, 0.0], dtype=np.float32)
    centrality = centrality_of({"along": [1.0, 0.0, 0.0], "across": [0.0, 1.0, 0.0], "typical": [0.9, 0.3, 0.0]}, centroid)
    assert centrality["along"] > 0 > centrality["across"]
    assert abs(centrality["along"] - (0.9 - 0.81)) < 1e-6 and abs(centrality["typical"]) < 1e-6


def test_the_retriever_centres_the_models_list_only_for_a_question_whose_words_the_passages_lack(sample_service, monkeypatch):
    store, retriever = sample_service.store, sample_service.retriever

    def ranked(question, centroid):
        monkeypatch.setattr(retriever._centroid, "get", lambda: centroid)
        return [d.id for d in retriever.invoke(question)]

    def place(passage_id, ids):
        return ids.index(passage_id) if passage_id in ids else len(ids)

    def model_first(question):
        return next(d.id for d in retriever.invoke(question) if d.metadata["dense_rank"] == 0)

    by_meaning = "组织上怎么关心干部的身体？"  # a cadre's words: the text says 关注干部身心健康…体检休假
    hub = model_first(by_meaning)
    # A centroid pointing at the model's first passage makes it the hub every question comes near: taken out, it falls back.
    toward_hub = 0.95 * np.asarray(store.passage_vectors([hub])[hub], dtype=np.float32)
    assert place(hub, ranked(by_meaning, toward_hub)) > place(hub, ranked(by_meaning, None))

    by_words = "先行先试中出现的失误能否免责？"  # the provision's own words: fused on words as before, whatever the centroid
    hub = model_first(by_words)
    toward_hub = 0.95 * np.asarray(store.passage_vectors([hub])[hub], dtype=np.float32)
    assert ranked(by_words, toward_hub) == ranked(by_words, None)
