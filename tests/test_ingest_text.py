"""Cleaning and splitting of real policy text: structure, section paths, offsets, ids."""

import re

import pytest

from conftest import HUBEI, XINHUA
from ingest import IngestError, clean_policy_text, load_policy_file, parse_policy_text
from ingest.loaders import read_policy_text

EXEMPTION_PATH_TAIL = ("旗帜鲜明为担当作为的干部撑腰鼓劲", "健全完善容错免责机制")


def without_space(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize("path", [HUBEI, XINHUA])
def test_cleaning_changes_whitespace_only(path):
    raw = path.read_text(encoding="utf-8")
    assert without_space(clean_policy_text(raw)) == without_space(raw)


def test_lines_broken_mid_sentence_are_joined_and_headings_kept_apart():
    cleaned = clean_policy_text(XINHUA.read_text(encoding="utf-8"))
    assert "兼任上一级领导班子书记，发挥好“领头雁”作用。" in cleaned
    assert "丹东欣时代生物医药科技有限公司是一家专业从事" in cleaned
    hubei = clean_policy_text(HUBEI.read_text(encoding="utf-8")).split("\n")
    assert "健全完善容错免责机制" in hubei
    assert "旗帜鲜明为担当作为的干部撑腰鼓劲" in hubei


@pytest.mark.parametrize("path", [HUBEI, XINHUA])
def test_passage_offsets_point_at_their_text_in_the_cleaned_document(path):
    for document, passages in load_policy_file(path):
        assert passages
        for passage in passages:
            assert document.text[passage.start : passage.end] == passage.text
        starts = [p.start for p in passages]
        assert starts == sorted(starts)


def all_passages(path):
    return [p for _, passages in load_policy_file(path) for p in passages]


def test_two_articles_in_one_file_are_two_documents_each_under_its_own_title():
    (opinion, chart), (report, reactions) = load_policy_file(HUBEI)
    assert opinion.title == "中共湖北省委关于进一步激励干部在加快建成中部地区崛起重要战略支点中担当作为的意见"
    assert report.title.startswith("提能善为担当作为,在支点建设中建功立业")
    assert opinion.doc_id != report.doc_id
    assert any("先行先试出现的失误" in p.text for p in chart)
    assert all("先行先试出现的失误" not in p.text for p in reactions)
    assert any(p.text.startswith("支点建设需要实干家") for p in reactions)
    assert all(p.title == report.title for p in reactions)


def test_bullet_items_carry_their_visible_heading_path():
    passages = all_passages(HUBEI)
    exemption = next(p for p in passages if "先行先试出现的失误" in p.text)
    assert exemption.kind == "item"
    assert exemption.section_path[-2:] == EXEMPTION_PATH_TAIL
    assert not exemption.text.startswith("-")
    probation = next(p for p in passages if "受处理处分影响期满" in p.text)
    assert probation.section_path[-1] == "强化受处理处分干部教育管理"


def test_titles_come_from_the_text():
    hubei, _ = load_policy_file(HUBEI)[0]
    xinhua, _ = load_policy_file(XINHUA)[0]
    assert hubei.title == "中共湖北省委关于进一步激励干部在加快建成中部地区崛起重要战略支点中担当作为的意见"
    assert xinhua.title == "广大干部新征程上奋力担当作为——各地激励干部担当作为工作综述"


def test_an_unrelated_report_pasted_on_without_a_byline_becomes_a_document_of_its_own():
    articles = load_policy_file(XINHUA)
    assert len(articles) == 2
    (roundup, roundup_passages), (tail, tail_passages) = articles
    assert "安康杯" not in roundup.text and not any("安康杯" in p.text for p in roundup_passages)
    assert tail.text.startswith("“贾师傅，‘安康杯’竞赛报名了吗？”")
    assert all(p.title == tail.title != roundup.title for p in tail_passages)
    assert roundup.text.endswith("发挥好“领头雁”作用。")


def test_a_statute_whose_last_items_do_not_repeat_its_title_stays_one_document(tmp_path):
    statute = tmp_path / "条例.txt"
    statute.write_text(
        "数据开放管理条例\n第一条 为了规范公共数据开放，制定本条例。\n第二条 公共数据开放应当遵循依法、安全的原则。\n"
        "第三条 公共数据开放主体应当编制公共数据开放目录。\n第四条 有下列情形之一的，不予开放：\n"
        "（一）涉及国家秘密的；\n（二）涉及商业秘密、个人隐私的；\n（三）法律、法规规定不得开放的其他情形。\n"
        "第五条 本规定自2025年1月1日起施行，此前发布的有关文件与本规定不一致的，以本规定为准。\n"
        "各区县可以结合实际制定实施细则，报市人民政府备案。实施中遇到的问题，由市人民政府办公厅负责解释。\n",
        encoding="utf-8",
    )
    assert len(load_policy_file(statute)) == 1


def test_bylines_and_captions_are_not_headings_and_close_the_outline():
    passages = all_passages(HUBEI)
    sections = {p.section for p in passages}
    assert not any("记者" in s or "制图" in s for s in sections)
    report = next(p for p in passages if p.text.startswith("支点建设需要实干家"))
    assert "大力选树担当作为的先进典型" not in report.section


def test_numbered_official_headings_nest_by_their_numbering():
    text = (
        "关于加强基层治理的实施意见\n一、总体要求\n（一）指导思想\n坚持以人民为中心。\n（二）基本原则\n坚持问题导向。\n"
        "二、主要任务\n1.加强组织建设\n健全村级组织体系。\n第三条 本办法自发布之日起施行。"
    )
    _, passages = parse_policy_text(text, "意见.txt")
    by_text = {p.text: p.section_path for p in passages}
    assert by_text["坚持以人民为中心。"] == ("一、总体要求", "（一）指导思想")
    assert by_text["坚持问题导向。"] == ("一、总体要求", "（二）基本原则")
    assert by_text["健全村级组织体系。"] == ("二、主要任务", "1.加强组织建设")


def test_markdown_headings_nest_by_level():
    text = "# 办法\n\n## 第一部分\n\n### 细则\n\n内容甲。\n\n## 第二部分\n\n内容乙。"
    document, passages = parse_policy_text(text, "办法.md")
    by_text = {p.text: p.section_path for p in passages}
    assert document.title == "办法"
    assert by_text["内容甲。"] == ("第一部分", "细则")
    assert by_text["内容乙。"] == ("第二部分",)


def test_long_paragraphs_split_at_sentence_ends_within_the_limit():
    sentence = "各级党组织要把激励干部担当作为摆在突出位置，切实抓好各项措施落实。"
    text = "标题\n" + sentence * 20
    _, passages = parse_policy_text(text, "长段.txt", max_chars=120)
    assert len(passages) > 1
    assert all(len(p.text) <= 120 for p in passages)
    assert all(p.text.endswith("。") for p in passages)
    assert "".join(p.text for p in passages) == sentence * 20


def test_ids_derive_from_content_whatever_the_whitespace():
    raw = HUBEI.read_text(encoding="utf-8")
    first, first_passages = parse_policy_text(raw, "a.txt")
    again, again_passages = parse_policy_text(raw.replace("\n\n", "\n"), "b.txt")
    assert first.doc_id == again.doc_id
    assert [p.text for p in first_passages] == [p.text for p in again_passages]
    assert len({p.passage_id for p in first_passages}) == len(first_passages)
    _, repeat = parse_policy_text(raw, "a.txt")
    assert [p.passage_id for p in repeat] == [p.passage_id for p in first_passages]


def test_gbk_text_is_detected_not_assumed(tmp_path):
    path = tmp_path / "gbk.txt"
    path.write_bytes(HUBEI.read_text(encoding="utf-8").encode("gb18030"))
    assert read_policy_text(path) == HUBEI.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"  \n", "为空"),
        ("binary.txt", b"\x00\x01\x02\xff" * 50, "二进制"),
        ("broken.pdf", b"%PDF-1.7 truncated", "损坏"),
        ("old.doc", b"\xd0\xcf\x11\xe0" * 10, "另存为 .docx"),
        ("slides.key", b"PK\x03\x04", "不支持 .key"),
    ],
)
def test_unusable_files_get_a_clear_reason(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(IngestError, match=reason):
        load_policy_file(path)


def test_flattened_page_takes_its_headline_as_title_not_a_document_it_mentions():
    text = (
        "重庆市场监管九成事务通过网上办理 2月11日市市场监管局发布消息称，依据《重庆市市场主体登记管理办法》，"
        "全市共通过“网上办”方式办理各类市场主体注册登记。"
    )
    document, _ = parse_policy_text(text, "flat.txt")
    assert document.title == "重庆市场监管九成事务通过网上办理"


def test_a_document_named_deep_inside_a_paragraph_is_not_taken_as_title():
    text = "各地要认真做好复工复产工作。" * 20 + "依据《国务院关于做好复工复产工作的通知》执行。"
    document, _ = parse_policy_text(text, "通知正文.txt")
    assert document.title == "通知正文"


def test_short_paragraphs_under_one_heading_are_packed_and_items_kept_apart():
    text = "一、工作要求\n第一段。\n第二段。\n第三段。\n二、具体措施\n- 措施甲\n- 措施乙"
    document, passages = parse_policy_text(text, "要求.txt", max_chars=300)
    paragraphs = [p for p in passages if p.kind == "paragraph"]
    assert len(paragraphs) == 1
    assert paragraphs[0].text == "第一段。\n第二段。\n第三段。"
    assert document.text[paragraphs[0].start : paragraphs[0].end] == paragraphs[0].text
    assert [p.text for p in passages if p.kind == "item"] == ["措施甲", "措施乙"]


@pytest.mark.parametrize("text", ["详细情况请您咨询北京市科委条财处，联系电话：66153398", "北京市交通委员会职责介绍", "（出处：北京市防汛手册）"])
def test_a_one_line_text_without_body_is_its_own_passage(text):
    _, passages = parse_policy_text(text, "short.txt")
    assert [p.text for p in passages] == [text]
