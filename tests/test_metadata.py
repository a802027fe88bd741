"""Document metadata: read from the text, given beside the file, shown in citations and usable as filters."""

import json
import shutil

import pytest

from assistant import QuestionError
from conftest import HUBEI, XINHUA
from ingest import parse_policy_text

NOTICE = """湖北省人民政府办公厅关于进一步做好稳就业工作的通知
鄂政办发〔2025〕12号
各市、州、县人民政府，省政府各部门：
现就进一步做好稳就业工作有关事项通知如下。
一、对吸纳高校毕业生就业的小微企业，按规定给予一次性吸纳就业补贴。
湖北省人民政府办公厅
2025年3月1日"""

ANNOUNCEMENT = """财政部 税务总局关于支持疫情防控有关个人所得税政策的公告
财政部 税务总局公告2020年第10号
为支持新型冠状病毒感染的肺炎疫情防控工作，现就有关个人所得税政策公告如下：
一、对参加疫情防治工作的医务人员按照政府规定标准取得的临时性工作补助和奖金，免征个人所得税。
财政部 税务总局
2020年2月6日"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (NOTICE, {"issuer": "湖北省人民政府办公厅", "date": "2025-03-01", "doc_number": "鄂政办发〔2025〕12号"}),
        (ANNOUNCEMENT, {"issuer": "财政部 税务总局", "date": "2020-02-06", "doc_number": "财政部税务总局公告2020年第10号"}),
    ],
)
def test_issuer_date_and_document_number_are_read_from_the_text(text, expected):
    document, passages = parse_policy_text(text, "notice.txt")
    assert document.metadata == expected
    assert all("号" not in p.section and "年" not in p.section for p in passages), "number and date lines are no headings"


def test_a_title_names_its_issuer_when_no_signature_does():
    document, _ = parse_policy_text("中共湖北省委关于进一步激励干部担当作为的意见\n各级党组织要抓好落实。", "x.txt")
    assert document.metadata["issuer"] == "中共湖北省委"
    assert document.metadata["date"] == "" and document.metadata["doc_number"] == ""


def test_sidecar_metadata_is_shown_in_citations_and_filters_the_search(fresh_service, tmp_path):
    tmp_path = tmp_path / "inbox"
    tmp_path.mkdir()
    notice = tmp_path / "notice.txt"
    notice.write_text(NOTICE, encoding="utf-8")
    shutil.copy(XINHUA, tmp_path / "xinhua.txt")
    (tmp_path / "xinhua.txt.meta.json").write_text(
        json.dumps({"issuer": "新华社", "date": "2021-08-01"}, ensure_ascii=False), encoding="utf-8"
    )
    report = fresh_service.ingest([tmp_path])
    assert report.errors == [] and report.documents_added == 3  # the Xinhua file holds two articles
    by_source = {d["source"]: d for d in fresh_service.documents()}
    assert by_source[str(tmp_path / "xinhua.txt")]["issuer"] == "新华社"
    assert by_source[str(notice)]["doc_number"] == "鄂政办发〔2025〕12号"

    answer = fresh_service.ask("吸纳高校毕业生就业的小微企业有什么补贴？")
    assert not answer.refused
    cited = answer.citations[0]
    assert (cited.issuer, cited.date, cited.doc_number) == ("湖北省人民政府办公厅", "2025-03-01", "鄂政办发〔2025〕12号")

    assert fresh_service.ask("吸纳高校毕业生就业的小微企业有什么补贴？", filters={"issuer": "新华社"}).refused
    only_notice = fresh_service.ask("吸纳高校毕业生就业的小微企业有什么补贴？", doc_ids=[cited.doc_id])
    assert {c.doc_id for c in only_notice.citations} == {cited.doc_id}


def test_filtering_by_document_keeps_answers_inside_it(fresh_service):
    fresh_service.ingest([HUBEI, XINHUA])
    xinhua = next(d for d in fresh_service.documents() if d["source"] == str(XINHUA))
    assert fresh_service.ask("先行先试中出现的失误能否免责？", doc_ids=[xinhua["doc_id"]]).refused
    assert not fresh_service.ask("先行先试中出现的失误能否免责？", filters={"issuer": "中共湖北省委"}).refused
    with pytest.raises(QuestionError, match="不能按 colour 过滤"):
        fresh_service.ask("先行先试中出现的失误能否免责？", filters={"colour": "red"})


def test_a_broken_sidecar_is_reported_and_the_file_left_out(fresh_service, tmp_path):
    tmp_path = tmp_path / "inbox"
    tmp_path.mkdir()
    shutil.copy(XINHUA, tmp_path / "xinhua.txt")
    (tmp_path / "xinhua.txt.meta.json").write_text("{not json", encoding="utf-8")
    report = fresh_service.ingest([tmp_path])
    assert len(report.errors) == 1 and "元数据文件" in report.errors[0]
    assert fresh_service.documents() == []


def test_metadata_given_on_the_command_line_is_stored(tmp_path, cli):
    given = ["--issuer", "新华社", "--date", "2021-08-01", "--doc-number", "新华社稿〔2021〕1号"]
    cli(tmp_path / "var", "ingest", XINHUA, *given, check_code=0)
    documents = json.loads(cli(tmp_path / "var", "docs", "--json", check_code=0).stdout)
    assert len(documents) == 2, "the roundup and the report pasted after it"
    for document in documents:
        assert (document["issuer"], document["date"], document["doc_number"]) == ("新华社", "2021-08-01", "新华社稿〔2021〕1号")


TRAINING_NOTICE = """关于做好2025年度干部教育培训工作的通知
各市、州、县委组织部：
为深入贯彻落实《中共湖北省委关于进一步激励干部在加快建成中部地区崛起重要战略支点中担当作为的意见》，现就做好2025年度干部教育培训工作通知如下。
一、培训对象
全省县处级以上领导干部。
二、培训内容
县处级以上领导干部每年参加集中脱产培训的时间累计不少于5天。
中共湖北省委组织部
2025年2月10日"""

SERVICE_REPLY = "您好，来信已收悉。根据《住房公积金管理条例》规定，职工离休、退休的，可以提取职工住房公积金账户内的存储余额。"


def test_a_notice_keeps_its_own_title_not_that_of_a_work_it_cites(fresh_service, tmp_path):
    (tmp_path / "培训通知.txt").write_text(TRAINING_NOTICE, encoding="utf-8")
    (tmp_path / "公积金答复.txt").write_text(SERVICE_REPLY, encoding="utf-8")
    report = fresh_service.ingest([tmp_path])
    assert report.errors == [] and report.documents_added == 2
    assert sorted(d["title"] for d in fresh_service.documents()) == ["公积金答复", "关于做好2025年度干部教育培训工作的通知"]
    answer = fresh_service.ask("县处级以上领导干部每年集中脱产培训不少于几天？")
    assert not answer.refused
    assert answer.citations[0].title == "关于做好2025年度干部教育培训工作的通知"
    assert answer.citations[0].issuer == "中共湖北省委组织部"
    assert "《关于做好2025年度干部教育培训工作的通知》（二、培训内容）" in answer.text


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("关于印发《湖北省干部教育培训规划》的通知\n各市、州：现将《湖北省干部教育培训规划》印发给你们。", "湖北省干部教育培训规划"),
        ("《湖北省干部教育培训规划》\n第一条 为了规范干部教育培训工作，制定本规划。", "湖北省干部教育培训规划"),
        ("关于《本溪市支持中小企业生产经营若干政策措施》的文件解读 一、发文背景 为深入贯彻落实有关精神。", "关于《本溪市支持中小企业生产经营若干政策措施》的文件解读"),
        ("按照《关于印发基本医疗保险关系转移接续暂行办法的通知》文件精神，学生可视为连续参保。", "答复"),
    ],
)
def test_a_document_name_in_quotes_is_the_title_only_where_the_text_names_itself(text, title):
    document, _ = parse_policy_text(text, "答复.txt")
    assert document.title == title
