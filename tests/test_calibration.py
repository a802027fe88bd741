"""Dense retrieval is weighed by measurement: left out when it hurts, used fully when it ranks well."""

import json

from vectorstore.calibration import TOLERANCE, WEIGHT_GRID, calibrate, choose_weight, load_or_calibrate
from vectorstore.retriever import fuse_rankings

PASSAGES = [
    f"第{i}条 {topic}工作应当坚持{aim}，由{body}负责组织实施，并定期报告进展情况。"
    for i, (topic, aim, body) in enumerate(
        [(t, a, b) for t in ("干部考核", "容错免责", "挂职锻炼", "教育培训", "关爱激励") for a in ("实事求是", "依规依纪", "公开透明", "分级负责") for b in ("组织部门", "纪检机关", "人社部门")]
    )
]


class FakePassage:
    def __init__(self, text):
        self.text = text


class FakeLexical:
    def __init__(self, ids, ranker):
        self.ids = ids
        self._ranker = ranker

    def search(self, question, k):
        return self._ranker(question, k)


class ScriptedStore:
    """A store whose two retrievers are scripted: one finds the source passage, the other does not."""

    def __init__(self, lexical_finds: bool, dense_finds: bool):
        self.ids = [f"p{i}" for i in range(len(PASSAGES))]
        self.by_id = dict(zip(self.ids, PASSAGES))
        self.lexical = FakeLexical(self.ids, lambda q, k: self._rank(q, k, lexical_finds, shift=1))
        self._dense_finds = dense_finds

    def passage(self, passage_id):
        return FakePassage(self.by_id[passage_id])

    def _source(self, question):
        return max(self.ids, key=lambda pid: sum(ch in self.by_id[pid] for ch in question))

    def _rank(self, question, k, finds, shift):
        source = self._source(question)
        others = [pid for pid in self.ids if pid != source]
        ranked = ([source] + others) if finds else (others[:shift] + others[shift + 5 :] + [source])
        return [(pid, 1.0 / (r + 1)) for r, pid in enumerate(ranked[:k])]

    def dense_search(self, question, k):
        return self._rank(question, k, self._dense_finds, shift=3)


def test_a_dense_ranking_that_pushes_good_hits_down_gets_no_weight():
    result = calibrate(ScriptedStore(lexical_finds=True, dense_finds=False), fuse_rankings, "fake")
    assert result.dense_weight == 0.0
    assert result.lexical_mrr > result.dense_mrr
    assert result.queries > 20


def test_a_dense_ranking_that_finds_the_source_is_used_fully():
    result = calibrate(ScriptedStore(lexical_finds=False, dense_finds=True), fuse_rankings, "fake")
    assert result.dense_weight == max(WEIGHT_GRID)
    assert result.dense_mrr > result.lexical_mrr


def test_a_dense_ranking_that_costs_less_than_the_tolerance_but_adds_nothing_gets_no_weight():
    lexical_alone = 0.700
    noise = {str(w): lexical_alone - TOLERANCE * w for w in WEIGHT_GRID}  # 0.05 costs 0.0005: within the tolerance
    assert choose_weight(noise) == 0.0
    helps = {str(w): lexical_alone + 0.1 * min(w, 1.0) - 0.005 * max(w - 1.0, 0) for w in WEIGHT_GRID}
    assert choose_weight(helps) == max(WEIGHT_GRID)  # 2.0 is within the tolerance of the best (1.0) and above BM25 alone


def test_bundled_model_on_the_chinese_sample_is_measured_and_remembered(sample_service, tmp_path):
    retriever = sample_service.retriever
    calibration = retriever.calibration()
    assert calibration is not None and calibration.queries > 20
    assert str(calibration.dense_weight) in calibration.fused_mrr
    assert calibration.fused_mrr[str(calibration.dense_weight)] >= max(calibration.fused_mrr.values()) - 0.01
    assert retriever.score_fusion is not None  # the bundled e5 fuses on scores measured on real questions instead

    path = tmp_path / "calibration.json"
    path.write_text(calibration.to_json(), encoding="utf-8")
    saved = json.loads(path.read_text(encoding="utf-8"))
    saved["dense_weight"] = 0.7  # a remembered result is reused, not measured again
    path.write_text(json.dumps(saved), encoding="utf-8")
    reused = load_or_calibrate(sample_service.store, fuse_rankings, retriever.model_label, path)
    assert reused.dense_weight == 0.7

