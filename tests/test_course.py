"""Course material for trainers: every provision on a topic, cited, with an outline and a quiz, as Word and Markdown."""

import json
import re
import subprocess
import sys
from io import BytesIO

import gradio as gr
import pytest
from docx import Document
from docx.oxml.ns import qn
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from assistant.course import TopicNotCovered, collect_provisions
from assistant.llm import make_llm
from assistant.quiz import BLANK, OPTION_LETTERS
from conftest import free_port, make_settings
from export import course_dict, course_docx, course_markdown, course_pptx
from ingest.clean import squeeze
from llm_standin import StandInChatServer
from settings import REPO_ROOT
from sysdeps import require_programs
from web.course_tab import add_course_tab, course_html

TOPIC = "容错免责"
KEY_PROVISION = "先行先试出现的失误"
UNCOVERED = "量子纠缠通信"
RENDER_TIMEOUT_S = 240

# A made-up rule book from another field: eleven articles on 数据开放 (more than the retriever's
# top 8), one long enough to be stored as two passages, short ones packed together, and other topics between.
LONG_ARTICLE = "第五条 公共数据开放实行目录管理，" + "，".join(
    f"第{n}类数据的开放属性由数据提供单位逐项标注并报主管部门审核" for n in range(1, 16)
) + "。"
DATA_RULES = "\n".join(
    [
        "某市公共数据开放管理办法",
        "第一章 总则",
        "第一条 为了促进公共数据开放和利用，制定本办法。",
        "第二条 本办法所称数据开放，是指向社会提供公共数据的行为。",
        "第三条 差旅费报销应当凭合法票据办理。",
        "第二章 开放范围",
        "第四条 数据开放应当遵循需求导向、安全可控的原则。",
        LONG_ARTICLE,
        "第六条 涉及个人隐私的数据不得开放；经脱敏处理的，可以有条件开放。数据开放前应当进行安全评估。",
        "第七条 数据开放目录每年更新1次，更新时间不得晚于3月31日。",
        "第八条 会议室使用实行预约登记。",
        "第三章 开放平台",
        "第九条 市大数据中心负责建设统一的数据开放平台。",
        "第十条 数据开放平台应当提供<b>批量下载</b>和*接口调用*两种方式。",
        "第十一条 数据开放平台的访问日志保存不少于6个月。",
        "第四章 监督",
        "第十二条 对违反规定开放数据的单位，由主管部门责令改正。",
        "第十三条 数据开放工作纳入年度绩效考核。",
        "第十四条 公务用车按规定统一管理。",
    ]
)
DATA_TOPIC = "数据开放"
DATA_ARTICLES = ("第一条", "第二条", "第四条", "第五条", "第六条", "第七条", "第九条", "第十条", "第十一条", "第十二条", "第十三条")
OTHER_ARTICLES = ("第三条", "第八条", "第十四条")


@pytest.fixture(scope="module")
def course(sample_service):
    return sample_service.course(TOPIC)


@pytest.fixture(scope="module")
def word(course):
    return Document(BytesIO(course_docx(course)))


@pytest.fixture(scope="module")
def data_service(tmp_path_factory):
    from assistant import create_service

    # 300-character passages, so that the long article is stored as two passages
    settings = make_settings(tmp_path_factory.mktemp("data-rules"), ingest_sample_when_empty=False, passage_max_chars=300)
    service = create_service(settings)
    report = service.ingest_texts([{"text": DATA_RULES, "source": "data-rules.txt", "doc_id": "data-rules"}])
    assert not report.errors
    return service


def paragraph_texts(document) -> list[str]:
    return [p.text for p in document.paragraphs]


def test_the_exemption_provision_is_collected_verbatim_with_its_citation(course, sample_service):
    key = next(p for p in course.provisions if KEY_PROVISION in p.text)
    assert "中共湖北省委关于进一步激励干部" in key.title
    assert key.section.endswith("健全完善容错免责机制")
    assert sample_service.document_text(key.doc_id)[key.start : key.end].strip() == key.text
    assert key.text.startswith("建立重点领域免责减责事项清单") and key.text.endswith("可以不予或者免于追究责任")
    assert [p.n for p in course.provisions] == list(range(1, len(course.provisions) + 1))
    assert len({squeeze(p.text) for p in course.provisions}) == len(course.provisions)


def test_every_provision_on_a_topic_is_collected_whole_in_document_order(data_service):
    documents = collect_provisions(data_service.store, DATA_TOPIC, bar=data_service.settings.min_evidence)
    assert len(documents) == 1
    provisions = documents[0].provisions
    assert len(provisions) > data_service.settings.top_k, "more than the retriever's top k"
    assert [p.text.split(" ")[0] for p in provisions] == list(DATA_ARTICLES)
    assert not any(p.text.startswith(OTHER_ARTICLES) for p in provisions)
    assert [p.start for p in provisions] == sorted(p.start for p in provisions)
    long_one = next(p for p in provisions if p.text.startswith("第五条"))
    assert long_one.text == LONG_ARTICLE, "a paragraph stored as two passages is quoted whole"
    assert len([p for p in data_service.store.passages_of("data-rules") if p.start < long_one.end and p.end > long_one.start]) >= 2
    sections = [s.section for s in documents[0].sections]
    assert [s.split(" › ")[-1] for s in sections] == ["第一章 总则", "第二章 开放范围", "第三章 开放平台", "第四章 监督"]


def test_the_outline_lists_the_headings_the_provisions_stand_under(course):
    headings = [(e.level, e.heading) for e in course.outline]
    assert headings[0] == (1, f"《{course.documents[0].title}》")
    exemption = next(e for e in course.outline if e.heading == "健全完善容错免责机制")
    key = next(p for p in course.provisions if KEY_PROVISION in p.text)
    assert key.n in exemption.provisions
    for provision in course.provisions:
        for heading in provision.section.split(" › ") if provision.section else ():
            assert heading in {h for _, h in headings}


def test_the_quiz_has_five_questions_or_more_each_answered_by_its_cited_provision(course):
    assert len(course.questions) >= 5
    assert {q.kind for q in course.questions} >= {"填空", "判断"}
    numbers = {p.n: p for p in course.provisions}
    for question in course.questions:
        assert question.answer and question.prompt
        assert numbers[question.source.n] == question.source
        assert question.evidence in question.source.text


def test_each_fill_in_answer_stands_in_its_provision_at_the_blank(course):
    fill_ins = [q for q in course.questions if q.kind == "填空"]
    assert fill_ins
    for question in fill_ins:
        text, answer = question.source.text, question.answer
        assert text[question.blank_at : question.blank_at + len(answer)] == answer
        gapped = question.prompt.split("填空：", 1)[1]
        assert gapped.count(BLANK) == 1
        assert gapped.replace(BLANK, answer) == question.evidence
        assert answer not in gapped, "the answer is not given away elsewhere in the sentence"


def test_true_false_statements_are_the_provision_or_clearly_differ_from_it(course):
    judgements = [q for q in course.questions if q.kind == "判断"]
    assert {q.answer for q in judgements} == {"正确", "错误"}
    for question in judgements:
        statement = question.prompt.split("「", 1)[1].rsplit("」", 1)[0]
        if question.answer == "正确":
            assert statement in question.source.text
        else:
            assert statement != question.evidence and squeeze(statement) not in squeeze(question.source.text)
            assert question.note.startswith("原文为")


def test_a_number_or_another_measure_is_what_a_false_statement_changes(data_service, course):
    data = data_service.course(DATA_TOPIC)
    false = {q.source.text.split(" ")[0]: q for q in data.questions if q.kind == "判断" and q.answer == "错误"}
    assert "原文为「1」" in false["第七条"].note
    measures = [q for q in course.questions if q.kind == "判断" and q.answer == "错误" and "不是「" in q.note]
    assert measures, "a rule's measure swapped for another provision's"
    for question in measures:
        statement = question.prompt.split("「", 1)[1].rsplit("」", 1)[0]
        assert statement.startswith("对") and not any(squeeze(statement) in squeeze(p.text) for p in course.provisions)


def test_the_word_file_holds_title_outline_provisions_quiz_answers_and_sources(course, word):
    texts = paragraph_texts(word)
    styles = {p.style.name for p in word.paragraphs}
    assert {"Title", "Heading 1", "Heading 2", "Heading 3"} <= styles
    headings = [p.text for p in word.paragraphs if p.style.name == "Heading 1"]
    assert headings == ["一、学习提纲", "二、规定原文", "三、练习题", "四、参考答案", "五、出处"]
    key = next(p for p in course.provisions if KEY_PROVISION in p.text)
    assert any(KEY_PROVISION in t and t.endswith(f"[{key.n}]") for t in texts)
    assert any(t.startswith(f"[{key.n}] 《{key.title}》") and "健全完善容错免责机制" in t for t in texts)
    assert any(t.startswith("健全完善容错免责机制 ") for t in texts), "the outline"
    answers = texts[texts.index("四、参考答案") + 1 : texts.index("五、出处")]
    assert len(answers) == len(course.questions) >= 5
    for number, (answer, question) in enumerate(zip(answers, course.questions), start=1):
        label = "参考答案" if question.kind == "简答" else "答案"
        assert answer.startswith(f"{number}. {label}：{question.answer}")
        assert f"依据《{question.source.title}》" in answer and f"[{question.source.n}]" in answer


def test_the_word_file_sets_chinese_fonts_on_body_and_headings(word):
    for name, font in (("Normal", "SimSun"), ("Heading 1", "SimHei"), ("Heading 3", "SimHei"), ("Title", "SimHei")):
        fonts = word.styles[name].element.rPr.rFonts
        assert fonts.get(qn("w:eastAsia")) == font
        assert fonts.get(qn("w:eastAsiaTheme")) is None, "a theme font would override the one set"


def test_markdown_holds_the_same_material_with_document_text_escaped(course, data_service):
    text = course_markdown(course)
    assert text.startswith(f"# 备课材料：{TOPIC}\n")
    for heading in ("## 一、学习提纲", "## 二、规定原文", "## 三、练习题", "## 四、参考答案", "## 五、出处"):
        assert heading in text
    key = next(p for p in course.provisions if KEY_PROVISION in p.text)
    assert f"> {key.text} [{key.n}]" in text
    data = course_markdown(data_service.course(DATA_TOPIC))
    assert r"\<b\>批量下载\</b\>和\*接口调用\*" in data
    assert "<b>" not in data


def test_an_uncovered_topic_is_said_plainly(sample_service):
    with pytest.raises(TopicNotCovered, match=f"未找到与「{UNCOVERED}」相关的规定"):
        sample_service.course(UNCOVERED)
    assert collect_provisions(sample_service.store, UNCOVERED, bar=sample_service.settings.min_evidence) == ()


def test_cli_writes_word_and_refuses_an_uncovered_topic_without_writing(tmp_path, cli):
    def run_cli(data_dir, *args):
        return cli(data_dir, "course", *args)

    data_dir, out = tmp_path / "var", tmp_path / "course.docx"
    result = run_cli(data_dir, TOPIC, "--format", "docx", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert any(KEY_PROVISION in t for t in paragraph_texts(Document(str(out))))
    missing = tmp_path / "none.docx"
    refused = run_cli(data_dir, UNCOVERED, "--format", "docx", "-o", str(missing))
    assert refused.returncode == 1
    assert f"未找到与「{UNCOVERED}」相关的规定" in refused.stderr
    assert not missing.exists()
    markdown = run_cli(data_dir, TOPIC)
    assert markdown.returncode == 0 and markdown.stdout.startswith(f"# 备课材料：{TOPIC}") and KEY_PROVISION in markdown.stdout


def model_questions(key_n: int, other_n: int) -> str:
    """A model's reply: one sound question, one whose key the provision does not hold, one with two right options."""
    return json.dumps(
        [
            {"question": "因缺乏经验、先行先试出现的失误，可以如何处理？", "options": ["一律从重处分", "可以不予或者免于追究责任", "移送司法机关", "降级使用"], "answer": "B", "provision": key_n},
            {"question": "探索性试验中的失误由谁认定？", "options": ["省委组织部", "纪委监委", "所在单位", "上级党委"], "answer": "A", "provision": key_n},
            {"question": "下列哪项属于可以免责的情形？", "options": ["先行先试出现的失误", "为推动发展的无意过失", "贪污受贿", "弄虚作假"], "answer": "A", "provision": key_n},
            {"question": "对无实质内容的反映如何处理？", "options": ["立案审查", "可以暂缓或者不进行函询", "公开通报", "直接处分"], "answer": "B", "provision": other_n},
        ],
        ensure_ascii=False,
    )


def test_a_model_adds_multiple_choice_questions_and_unsupported_ones_are_dropped(sample_service, course):
    key = next(p for p in course.provisions if KEY_PROVISION in p.text)
    other = next(p for p in course.provisions if "可查性不强" in p.text)
    llm = GenericFakeChatModel(messages=iter([AIMessage(content=f"```json\n{model_questions(key.n, other.n)}\n```")]))
    with_model = sample_service.course(TOPIC, llm=llm)
    choices = list(with_model.questions[len(course.questions) :])
    assert {q.kind for q in choices} == {"单选"}
    assert [(q.answer, q.evidence) for q in choices] == [("B", "可以不予或者免于追究责任"), ("B", "可以暂缓或者不进行函询")]
    assert all(q.evidence in q.source.text and len(q.options) == 4 for q in choices)
    assert len(with_model.warnings) == 2 and all(w.startswith("已舍弃一道选择题") for w in with_model.warnings)
    assert "B. 可以不予或者免于追究责任" in course_markdown(with_model)


def test_multiple_choice_through_an_openai_compatible_server_gets_the_provisions_as_data(sample_service, course, tmp_path):
    key = next(p for p in course.provisions if KEY_PROVISION in p.text)
    server = StandInChatServer().start()
    try:
        server.replies.append(model_questions(key.n, key.n))
        llm = make_llm(make_settings(tmp_path, llm_base_url=server.base_url, llm_model="qwen-standin", llm_timeout=5))
        with_model = sample_service.course(TOPIC, llm=llm)
    finally:
        server.stop()
    messages = server.requests[-1]["messages"]
    assert "不是指令" in messages[0]["content"]
    assert f"[{key.n}] 《{key.title}》" in messages[-1]["content"] and key.text in messages[-1]["content"]
    assert [q.answer for q in with_model.questions[len(course.questions) :]] == ["B"]


def test_a_failing_model_leaves_the_extractive_quiz_with_a_warning(sample_service, course):
    llm = GenericFakeChatModel(messages=iter([]))
    with_model = sample_service.course(TOPIC, llm=llm)
    assert [q.prompt for q in with_model.questions] == [q.prompt for q in course.questions]
    assert any("未生成选择题" in w for w in with_model.warnings)


def test_the_course_tab_shows_escaped_material_and_offers_both_files(data_service):
    from gradio_client import Client

    with gr.Blocks() as demo, gr.Tab("备课"):
        add_course_tab(data_service, data_service.settings)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        page, docx_file, md_file = client.predict(DATA_TOPIC, api_name="/course")
        refused, no_docx, no_md = client.predict(UNCOVERED, api_name="/course")
    finally:
        demo.close()
    assert "&lt;b&gt;批量下载&lt;/b&gt;" in page and "<b>批量下载" not in page
    assert "第十一条 数据开放平台的访问日志保存不少于6个月。" in page
    assert docx_file["visible"] and docx_file["value"].endswith(".docx") and md_file["value"].endswith(".md")
    assert any("第十一条" in t for t in paragraph_texts(Document(docx_file["value"])))
    assert f"未找到与「{UNCOVERED}」相关的规定" in refused
    assert not no_docx["visible"] and no_docx["value"] is None and not no_md["visible"]


@pytest.fixture(scope="module")
def rendered(course, tmp_path_factory):
    """The Word file rendered by scripts/render_docx.py (LibreOffice to PDF, pages to PNG)."""
    require_programs({"libreoffice": ["libreoffice-writer-nogui", "fonts-noto-cjk"]})
    if not subprocess.run(["fc-list", ":lang=zh"], check=False, capture_output=True, text=True).stdout.strip():
        pytest.fail("没有中文字体：请安装 Debian 软件包 fonts-noto-cjk")
    folder = tmp_path_factory.mktemp("rendered")
    docx_path = folder / "course.docx"
    docx_path.write_bytes(course_docx(course))
    command = [sys.executable, str(REPO_ROOT / "scripts" / "render_docx.py"), str(docx_path), "--out-dir", str(folder)]
    result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=RENDER_TIMEOUT_S)
    return folder, result


def test_the_word_file_renders_in_libreoffice_with_chinese_glyphs(rendered):
    import pdfplumber

    sys.path.insert(0, str(REPO_ROOT / "scripts"))
    from render_docx import CJK_FONT, cjk_fonts, pdf_text

    folder, result = rendered
    assert result.returncode == 0, result.stdout + result.stderr
    pdf = folder / "course.pdf"
    assert KEY_PROVISION in squeeze(pdf_text(pdf))
    fonts = cjk_fonts(pdf)
    assert sum(fonts.values()) > 500 and all(CJK_FONT.search(f) for f in fonts), fonts
    pngs = sorted(folder.glob("course-page*.png"))
    assert len(pngs) >= 2
    with pdfplumber.open(pdf) as document:
        assert len(document.pages) == len(pngs)
    from PIL import Image

    pixels = Image.open(pngs[0]).convert("L")
    assert pixels.size[0] > 500 and pixels.getextrema()[0] < 100, "the page has dark text on it"


PLENARY = "全会指出,建立重点领域免责减责事项清单,健全查诬澄清保护机制,强化受处理处分干部教育管理"
NEIGHBOURS = ("对反映问题失实或属于道听途说、主观臆测的", "对受处理处分影响期满的干部")
NEGATION_WORDS = re.compile("不得|禁止|严禁|可以|允许|无须|不|未|无|非")
SERVER_PATH = re.compile(r"/work/|/tmp/|\.txt|data/corpus")


def test_the_plenary_restatement_and_the_neighbouring_protections_are_gathered_with_why(course, sample_service):
    texts = [p.text for p in course.provisions]
    assert any(t.startswith(PLENARY) for t in texts), "the report's restatement of the plenary"
    assert all(any(t.startswith(n) for t in texts) for n in NEIGHBOURS), "查诬澄清 and 受处理处分干部的使用"
    restated = next(p for p in course.provisions if p.text.startswith(PLENARY))
    assert course.why(restated.n).reason.startswith("复述「") and course.why(restated.n).score >= 0.97
    assert all(course.why(p.n) is not None and course.why(p.n).score > 0 for p in course.provisions)
    narrow = sample_service.course(TOPIC, scope="section")
    assert KEY_PROVISION in "".join(p.text for p in narrow.provisions)
    assert not any(p.text.startswith(PLENARY) for p in narrow.provisions), "section scope leaves the restatement out"
    assert len(sample_service.course(TOPIC, scope="all").provisions) >= len(course.provisions) > len(narrow.provisions)
    with pytest.raises(ValueError, match="范围应为"):
        sample_service.course(TOPIC, scope="everything")


def test_the_quiz_has_single_choice_and_four_kinds_with_no_sentence_used_twice_in_one(course):
    kinds = {q.kind for q in course.questions}
    assert len(kinds) >= 4 and "单选" in kinds and "多选" in kinds
    for kind in kinds:
        used = [q.evidence for q in course.questions if q.kind == kind]
        assert len(used) == len(set(used)), kind
        assert len([q.source.n for q in course.questions if q.kind == kind]) == len({q.source.n for q in course.questions if q.kind == kind})
    for question in course.questions:
        assert "《" not in question.prompt, "the stem does not repeat the document's title"


def test_wrong_options_are_real_terms_of_other_provisions_that_the_provision_does_not_hold(course, sample_service):
    pool = squeeze("".join(sample_service.document_text(d) for d in sample_service.store.doc_ids()))
    for question in (q for q in course.questions if q.kind in ("单选", "多选")):
        keys = {OPTION_LETTERS.index(letter) for letter in question.answer}
        for index, option in enumerate(question.options):
            assert squeeze(option) in pool, "every option is a real term of the documents"
            assert (squeeze(option) in squeeze(question.source.text)) == (index in keys), option
    single = next(q for q in course.questions if q.kind == "单选" and KEY_PROVISION in q.source.text)
    assert single.options[OPTION_LETTERS.index(single.answer)] == "可以不予或者免于追究责任"


def test_no_false_statement_differs_from_its_provision_only_by_a_negation_word(course, data_service):
    for material in (course, data_service.course(DATA_TOPIC)):
        for question in (q for q in material.questions if q.kind == "判断" and q.answer == "错误"):
            statement = question.prompt.split("「", 1)[1].rsplit("」", 1)[0]
            bare = lambda text: squeeze(NEGATION_WORDS.sub("", text)).replace(",", "，")  # noqa: E731
            assert bare(statement) != bare(question.evidence), statement


def test_no_format_names_a_file_on_the_server(course, word, tmp_path):
    from pptx import Presentation

    texts = {
        "md": course_markdown(course),
        "docx": "\n".join(paragraph_texts(word)),
        "json": json.dumps(course_dict(course), ensure_ascii=False),
        "pptx": "\n".join(slide_texts(Presentation(BytesIO(course_pptx(course))))),
        "tab": course_html(course),
    }
    for form, text in texts.items():
        assert not SERVER_PATH.search(text), form
        assert "发文机关：中共湖北省委" in text and "健全完善容错免责机制" in text, form


def slide_texts(deck) -> list[str]:
    return ["\n".join(s.text_frame.text for s in slide.shapes if s.has_text_frame) for slide in deck.slides]


def test_the_cli_writes_slides_with_the_provisions_the_quiz_and_the_key(tmp_path, cli, course):
    from pptx import Presentation
    from pptx.oxml.ns import qn as pptx_qn

    out = tmp_path / "course.pptx"
    result = cli(tmp_path / "var", "course", TOPIC, "--format", "pptx", "-o", str(out))
    assert result.returncode == 0, result.stderr
    deck = Presentation(str(out))
    slides = slide_texts(deck)
    assert slides[0].startswith(f"备课材料：{TOPIC}") and slides[1].startswith("一、学习提纲")
    provision_slides = [s for s in slides if s.startswith("规定 [")]
    assert len(provision_slides) == len(course.provisions)
    assert any(KEY_PROVISION in s and "出处：" in s and "发文机关：中共湖北省委" in s for s in provision_slides)
    quiz = "\n".join(s for s in slides if s.startswith("三、练习题"))
    assert all(label in quiz for label in ("（单选题）", "（多选题）", "（判断题）", "（填空题）", "（简答题）"))
    assert quiz.count("以下各题依据") < len(course.questions), "the document is named once per section"
    assert any(s.startswith("四、参考答案") and "答案：" in s for s in slides)
    runs = [r for slide in deck.slides for shape in slide.shapes if shape.has_text_frame for p in shape.text_frame.paragraphs for r in p.runs]
    assert runs and all(r._r.rPr.find(pptx_qn("a:ea")).get("typeface") in ("SimSun", "SimHei") for r in runs)


def test_the_api_serves_slides(sample_service):
    from fastapi import FastAPI
    from fastapi.testclient import TestClient
    from pptx import Presentation

    from web.api import api_router

    app = FastAPI()
    app.include_router(api_router(sample_service, sample_service.settings))
    reply = TestClient(app).post("/api/v1/course", json={"topic": TOPIC, "format": "pptx", "scope": "related"})
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].endswith("presentationml.presentation")
    assert any(KEY_PROVISION in t for t in slide_texts(Presentation(BytesIO(reply.content))))


def test_the_slides_render_in_libreoffice_with_chinese_glyphs(course, tmp_path):
    require_programs({"soffice": ["libreoffice-impress-nogui", "fonts-noto-cjk"]})
    sys.path.insert(0, str(REPO_ROOT / "scripts"))
    from render_docx import CJK_FONT, cjk_fonts, pdf_text

    slides = tmp_path / "course.pptx"
    slides.write_bytes(course_pptx(course))
    command = [sys.executable, str(REPO_ROOT / "scripts" / "render_docx.py"), str(slides), "--out-dir", str(tmp_path)]
    result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=RENDER_TIMEOUT_S)
    assert result.returncode == 0, result.stdout + result.stderr
    pdf = tmp_path / "course.pdf"
    assert KEY_PROVISION in squeeze(pdf_text(pdf))
    fonts = cjk_fonts(pdf)
    assert sum(fonts.values()) > 500 and all(CJK_FONT.search(f) for f in fonts), fonts
    from PIL import Image

    pixels = Image.open(tmp_path / "course-page1.png").convert("L")
    assert pixels.size[0] > 500 and pixels.getextrema()[0] < 100, "the title slide has dark text on it"
