"""Answers a cadre reads: a one-line answer where the provision states it, whole lists, follow-ups."""

import json

import pytest


EXEMPTION = "先行先试中出现的失误能否免责？"


@pytest.mark.parametrize(
    ("question", "lead", "stated"),
    [
        (EXEMPTION, "可以。", "可以不予或者免于追究责任"),
        ("资历不靠前但实绩突出的副职能否直接提任正职？", "可以。", "可直接提任正职"),
        ("受处理处分影响期满的干部还能被使用吗？", "可以。", "按规定积极合理使用"),
        ("民主测评优秀和称职得票率达不到多少会被调整？", "三分之二。", "三分之二"),
        ("夷陵区选派了多少名骨干去上海跟班学习？", "25名。", "25名骨干"),
        ("甘肃提出了多少条激励干部的措施？", "19条。", "19条措施"),
        # the answering sentence is the passage's second quoted one; its first holds 一线, not a count
        ("安徽防疫抗洪一线有多少干部被提拔？", "235名。", "235名干部得到提拔"),
        ("安徽在抗洪防疫中表现好的干部，有多少人被提拔？", "235名。", "235名干部得到提拔"),  # 多少人, counted in 名
        ("省委十二届十次全会是哪天审议通过这个意见的？", "8月6日。", "8月6日"),
    ],
)
def test_yes_no_and_number_questions_lead_with_the_answer_the_quote_states(sample_service, question, lead, stated):
    answer = sample_service.ask(question)
    first_line, rest = answer.text.split("\n", 1)
    assert first_line == lead
    assert "「" in rest and "[1]" in rest
    assert stated in " ".join(answer.citations[0].quotes)


def test_a_question_asking_to_be_spared_is_not_answered_yes_by_a_provision_that_imposes_it():
    from assistant.questions import yes_no_answer

    question = "改革试点里犯了错，干部能不被问责吗？"
    terms = ("改革", "试点", "犯了错", "干部", "不", "问责")
    assert yes_no_answer(question, "开展“一案双查”,对失职失责的党组织和领导干部严肃问责", terms) is None
    assert yes_no_answer(question, "对先行先试出现的失误,可以不予或者免于追究责任", terms) == "可以。"
    assert yes_no_answer("受处理处分影响期满的干部还能被使用吗？", "按规定积极合理使用", ("处分", "干部", "使用")) == "可以。"


def test_a_question_without_a_stated_answer_gets_no_invented_lead(sample_service):
    answer = sample_service.ask("不担当不作为的干部怎么处理？")
    assert answer.text.startswith("《")


def test_a_listing_question_gathers_every_item_of_the_section(sample_service):
    answer = sample_service.ask("容错免责机制有哪些内容？")
    quoted = " ".join(q for c in answer.citations for q in c.quotes)
    assert "免责减责事项清单" in quoted and "可以暂缓或者不进行函询" in quoted
    assert all(c.section.endswith("健全完善容错免责机制") for c in answer.citations)
    assert len({c.passage_id for c in answer.citations}) == len(answer.citations)


def test_a_follow_up_is_answered_in_the_light_of_the_question_before(sample_service):
    history = [{"role": "user", "content": EXEMPTION}, {"role": "assistant", "content": "可以。"}]
    answer = sample_service.ask("那受处分影响期满的干部呢？", history=history)
    assert not answer.refused
    assert "受处理处分影响期满的干部" in answer.citations[0].quotes[0]


def test_follow_up_through_the_command_line_history_file(tmp_path, cli):
    history = tmp_path / "history.json"
    history.write_text(json.dumps([EXEMPTION], ensure_ascii=False), encoding="utf-8")
    result = cli(tmp_path / "var", "ask", "那受处分影响期满的干部呢？", "--history", history, "--json", check_code=0)
    answer = json.loads(result.stdout)
    assert "受处理处分影响期满" in answer["citations"][0]["text"]


def test_the_same_provision_in_two_documents_is_cited_once(fresh_service, tmp_path):
    from conftest import HUBEI

    copy = tmp_path / "copy.txt"
    copy.write_text("转发通知\n\n" + HUBEI.read_text(encoding="utf-8"), encoding="utf-8")
    fresh_service.ingest([HUBEI, copy])
    answer = fresh_service.ask(EXEMPTION)
    texts = [c.text for c in answer.citations]
    assert len(texts) == len(set(texts))


def test_a_quote_that_ends_its_passage_is_followed_by_the_paragraph_that_carries_on(fresh_service, tmp_path):
    sentence = "各地要切实加强组织领导，压实工作责任，确保各项措施落到实处，并定期报告工作进展情况。"
    filler = sentence * (fresh_service.settings.passage_max_chars // len(sentence) // 2 + 1)  # two paragraphs never share a passage
    text = (
        "关于做好高校毕业生就业工作的通知\n\n一、就业补贴\n\n" + filler + "对吸纳高校毕业生就业的小微企业，按以下标准发放一次性吸纳就业补贴。\n\n"
        "每吸纳一名毕业生补贴三千元，同一企业每年最多补贴二十名。" + filler + "\n"
    )
    path = tmp_path / "notice.txt"
    path.write_text(text, encoding="utf-8")
    fresh_service.ingest([path])
    answer = fresh_service.ask("吸纳高校毕业生就业的小微企业一次性吸纳就业补贴标准是什么？")
    assert not answer.refused
    assert "按以下标准发放一次性吸纳就业补贴" in answer.citations[0].quotes[-1]
    assert answer.citations[1].quotes == ("每吸纳一名毕业生补贴三千元，同一企业每年最多补贴二十名。",)
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))


PLANTED = {
    "问答汇编.txt": "常见问题\n一、干部考核怎么开展？\n二、先行先试中出现的失误能否免责？\n三、容错纠错的程序是什么？",
    "一问.txt": "二、先行先试中出现的失误能否免责？",
    "思考题.txt": "关于免责的问答\n先行先试中出现的失误能否免责？先行先试中出现的失误能否免责？请大家思考先行先试中出现的失误能否免责。",
}


@pytest.fixture
def planted(tmp_path):
    folder = tmp_path / "planted"
    folder.mkdir()
    for name, text in PLANTED.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_passages_that_only_restate_the_question_are_not_evidence(fresh_service, planted):
    from conftest import HUBEI, XINHUA

    assert fresh_service.ingest([HUBEI, XINHUA, planted]).errors == []
    answer = fresh_service.ask(EXEMPTION)
    assert not answer.refused
    assert "可以不予或者免于追究责任" in answer.citations[0].quotes[0]
    assert all(c.source.startswith(str(HUBEI.parent)) for c in answer.citations), [c.title for c in answer.citations]


def test_a_store_holding_only_the_question_restated_declines_it(fresh_service, planted):
    assert fresh_service.ingest([planted]).errors == []
    answer = fresh_service.ask(EXEMPTION)
    assert answer.refused and not answer.citations
