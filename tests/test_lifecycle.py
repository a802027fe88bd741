"""Policy lifecycle: which document is in force, what replaced it, and answers as of a day."""

import json
from pathlib import Path

import httpx
import pytest

from conftest import make_settings
from ingest import parse_policy_text
from ingest.lifecycle import extract_lifecycle
from serving import served

ALLOWANCE = "乡镇干部交通补贴标准是多少？"
MEASURE_2019 = """湖北省基层干部交通补贴管理办法

鄂组发〔2019〕5号

第一条 为保障基层干部下乡开展工作，规范交通补贴发放，制定本办法。

第五条 乡镇干部交通补贴标准为每人每月300元，按月随工资发放。

第九条 本办法自2019年4月1日起施行。

中共湖北省委组织部
2019年3月15日
"""
MEASURE_2024 = """湖北省基层干部交通补贴管理办法

鄂组发〔2024〕3号

第一条 为保障基层干部下乡开展工作，规范交通补贴发放，制定本办法。

第五条 乡镇干部交通补贴标准为每人每月500元，按月随工资发放。

第九条 本办法自2024年3月1日起施行，《湖北省基层干部交通补贴管理办法》（鄂组发〔2019〕5号）同时废止。

中共湖北省委组织部
2024年2月1日
"""
EXPIRING = """关于疫情期间发放基层医务人员临时性工作补助的通知

各市、州、县人力资源和社会保障局：

一、对参与疫情防控一线工作的基层医务人员，按每人每天200元标准发放临时性工作补助。

二、本通知自印发之日起施行，有效期至2023年12月31日。

湖北省人力资源和社会保障厅
2022年3月5日
"""


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def versions(tmp_path, cli):
    """A store holding the 2019 measure, its 2024 revision and a notice that expired, ingested as plain text with no sidecar."""
    files = write(tmp_path / "files", {"2019.txt": MEASURE_2019, "2024.txt": MEASURE_2024, "notice.txt": EXPIRING})
    data = tmp_path / "store"
    cli(data, "ingest", files, check_code=0, env={"POLICYQA_INGEST_SAMPLE_WHEN_EMPTY": "false"})
    return data


def listed(cli, data, *extra) -> dict[str, dict]:
    documents = json.loads(cli(data, "docs", "--json", *extra, check_code=0).stdout)
    return {d["doc_number"] or d["title"]: d for d in documents}


def asked(cli, data, question, *extra) -> dict:
    return json.loads(cli(data, "ask", question, "--json", *extra, check_code=0).stdout)


@pytest.mark.parametrize(
    ("text", "issued", "expected"),
    [
        ("本办法自2024年3月1日起施行。", "2024-02-01", {"effective_date": "2024-03-01", "expiry_date": ""}),
        ("本通知自印发之日起施行，有效期5年。", "2021-06-30", {"effective_date": "2021-06-30", "expiry_date": "2026-06-29"}),
        ("本方案自发布之日起实施，有效期为三年。", "2020-01-10", {"effective_date": "2020-01-10", "expiry_date": "2023-01-09"}),
        ("本通知有效期至2023年12月31日。", "2022-03-05", {"effective_date": "", "expiry_date": "2023-12-31"}),
        ("本规定自2025年1月1日起执行，有效期至2027年12月31日。", "", {"effective_date": "2025-01-01", "expiry_date": "2027-12-31"}),
    ],
)
def test_dates_are_read_from_the_sentences_that_state_them(text, issued, expected):
    stated = extract_lifecycle(text, issued)
    assert {k: stated.get(k, "") for k in expected} == expected


def test_repeals_and_amendments_name_their_documents_by_number_or_title():
    stated = extract_lifecycle(
        "本办法自2024年3月1日起施行，《湖北省基层干部交通补贴管理办法》（鄂组发〔2019〕5号）同时废止。"
        "原《关于规范乡镇干部下乡补贴的通知》不再执行。对《湖北省干部差旅费管理办法》（鄂财行发〔2020〕8号）第五条予以修订。",
        "2024-02-01",
    )
    assert json.loads(stated["repeals"]) == [
        {"title": "湖北省基层干部交通补贴管理办法", "doc_number": "鄂组发〔2019〕5号"},
        {"title": "关于规范乡镇干部下乡补贴的通知", "doc_number": ""},
    ]
    assert json.loads(stated["amends"]) == [{"title": "湖北省干部差旅费管理办法", "doc_number": "鄂财行发〔2020〕8号"}]


def test_a_revision_keeps_its_own_number_not_the_one_it_repeals():
    document, _ = parse_policy_text(MEASURE_2024, "2024.txt")
    assert document.metadata["doc_number"] == "鄂组发〔2024〕3号"
    no_own_number = MEASURE_2024.replace("鄂组发〔2024〕3号\n", "")
    document, _ = parse_policy_text(no_own_number, "2024.txt")
    assert document.metadata["doc_number"] == "", "the repealed measure's number is not this document's"


def test_statuses_links_and_answers_follow_the_day_asked(versions, cli):
    today = listed(cli, versions)
    assert today["鄂组发〔2019〕5号"]["status"] == "repealed" and today["鄂组发〔2019〕5号"]["status_label"] == "已废止"
    assert today["鄂组发〔2024〕3号"]["status"] == "in_force"
    notice = next(d for d in today.values() if d["title"].startswith("关于疫情期间"))
    assert notice["status"] == "expired" and notice["expiry_date"] == "2023-12-31"
    revision = today["鄂组发〔2024〕3号"]["doc_id"]
    assert today["鄂组发〔2019〕5号"]["replaced_by"] == revision
    assert today["鄂组发〔2024〕3号"]["repeals"] == [today["鄂组发〔2019〕5号"]["doc_id"]]

    current = asked(cli, versions, ALLOWANCE)
    assert not current["refused"] and "500元" in current["answer"] and "300元" not in current["answer"]
    assert current["answer"].startswith("500元。"), "the lead is the amount, not the article number 五条"
    assert all(c["status"] == "in_force" and c["doc_id"] == revision for c in current["citations"])

    then = asked(cli, versions, ALLOWANCE, "--as-of", "2021-05-01")
    assert "300元" in then["answer"] and "500元" not in then["answer"]
    assert then["citations"][0]["status"] == "in_force", "in 2021 the 2019 measure was in force"
    assert listed(cli, versions, "--as-of", "2021-05-01")["鄂组发〔2024〕3号"]["status"] == "not_yet_effective"


def test_an_expired_notice_is_quoted_and_marked_expired(versions, cli):
    answer = asked(cli, versions, "基层医务人员临时性工作补助每天多少钱？")
    assert "200元" in answer["answer"]
    assert answer["citations"][0]["status"] == "expired" and answer["citations"][0]["expiry_date"] == "2023-12-31"
    assert "已失效" in answer["answer"] and "有效期至2023年12月31日" in answer["answer"]
    earlier = asked(cli, versions, "基层医务人员临时性工作补助每天多少钱？", "--as-of", "2023-06-01")
    assert earlier["citations"][0]["status"] == "in_force" and "已失效" not in earlier["answer"]


def test_three_generations_and_a_repeal_by_title_without_number(tmp_path, cli):
    first = MEASURE_2019.replace("鄂组发〔2019〕5号", "鄂组发〔2015〕2号").replace("2019年", "2015年").replace("300元", "200元")
    second = MEASURE_2019.replace(
        "本办法自2019年4月1日起施行。", "本办法自2019年4月1日起施行，《湖北省基层干部交通补贴管理办法》（鄂组发〔2015〕2号）同时废止。"
    )
    third = MEASURE_2024.replace("《湖北省基层干部交通补贴管理办法》（鄂组发〔2019〕5号）同时废止", "原《湖北省基层干部交通补贴管理办法》不再执行")
    files = write(tmp_path / "files", {"a.txt": first, "b.txt": second, "c.txt": third})
    data = tmp_path / "store"
    cli(data, "ingest", files, check_code=0, env={"POLICYQA_INGEST_SAMPLE_WHEN_EMPTY": "false"})
    for day, amount, status in (("2016-01-01", "200元", "in_force"), ("2020-01-01", "300元", "in_force"), ("2025-01-01", "500元", "in_force")):
        answer = asked(cli, data, ALLOWANCE, "--as-of", day)
        shown = {a for a in ("200元", "300元", "500元") if a in answer["answer"]}
        assert shown == {amount}, (day, answer["answer"])
        assert answer["citations"][0]["status"] == status
    statuses = {k: d["status"] for k, d in listed(cli, data).items()}
    assert statuses == {"鄂组发〔2015〕2号": "repealed", "鄂组发〔2019〕5号": "repealed", "鄂组发〔2024〕3号": "in_force"}


def test_a_partial_amendment_marks_the_amended_measure(tmp_path, cli):
    amendment = """关于修订《湖北省基层干部交通补贴管理办法》部分条款的通知

鄂组发〔2022〕9号

对《湖北省基层干部交通补贴管理办法》（鄂组发〔2019〕5号）第七条予以修订，其余条款继续执行。本通知自2022年7月1日起施行。

中共湖北省委组织部
2022年6月1日
"""
    files = write(tmp_path / "files", {"2019.txt": MEASURE_2019, "amendment.txt": amendment})
    data = tmp_path / "store"
    cli(data, "ingest", files, check_code=0, env={"POLICYQA_INGEST_SAMPLE_WHEN_EMPTY": "false"})
    assert listed(cli, data)["鄂组发〔2019〕5号"]["status"] == "amended"
    answer = asked(cli, data, ALLOWANCE)
    assert "300元" in answer["answer"], "an amended measure still answers"
    assert answer["citations"][0]["status"] == "amended" and "已修订" in answer["answer"]
    assert listed(cli, data, "--as-of", "2022-01-01")["鄂组发〔2019〕5号"]["status"] == "in_force"


def test_a_sidecar_sets_the_fields_and_bad_values_say_what_to_write(tmp_path, cli):
    files = write(tmp_path / "files", {"notice.txt": EXPIRING.replace("，有效期至2023年12月31日", "")})
    data = tmp_path / "store"
    env = {"POLICYQA_INGEST_SAMPLE_WHEN_EMPTY": "false"}
    (files / "notice.txt.meta.json").write_text(json.dumps({"status": "过期"}, ensure_ascii=False), encoding="utf-8")
    refused = cli(data, "ingest", files, check_code=1, env=env)
    assert "status 应为" in refused.stderr and "已失效" in refused.stderr
    (files / "notice.txt.meta.json").write_text(json.dumps({"expiry_date": "2024-06-30"}), encoding="utf-8")
    cli(data, "ingest", files, check_code=0, env=env)
    (notice,) = listed(cli, data).values()
    assert notice["status"] == "expired" and notice["expiry_date"] == "2024-06-30"
    with pytest.raises(SystemExit) as exited:
        cli(data, "ask", ALLOWANCE, "--as-of", "2021/05/01")
    assert exited.value.code == 2


def test_the_api_answers_as_of_a_day_and_corrections_survive_reingest(versions, cli):
    from assistant import create_service
    from web.server import create_server

    admin = "admin-key-lifecycle"
    settings = make_settings(versions, admin_keys=admin, ingest_sample_when_empty=False)
    service = create_service(settings)
    headers = {"Authorization": f"Bearer {admin}"}
    with served(create_server(service, settings)) as url:
        now = httpx.post(url + "/api/v1/ask", json={"question": ALLOWANCE}, headers=headers, timeout=60).json()
        then = httpx.post(url + "/api/v1/ask", json={"question": ALLOWANCE, "as_of": "2021-05-01"}, headers=headers, timeout=60).json()
        assert "500元" in now["answer"] and "300元" not in now["answer"]
        assert "300元" in then["answer"] and "500元" not in then["answer"]
        found = httpx.post(url + "/api/v1/search", json={"query": ALLOWANCE, "as_of": "2021-05-01"}, headers=headers, timeout=60).json()
        assert {p["metadata"]["doc_number"] for p in found["passages"]} <= {"鄂组发〔2019〕5号", ""}
        assert all(p["metadata"]["status"] == "in_force" for p in found["passages"])
        bad = httpx.post(url + "/api/v1/ask", json={"question": ALLOWANCE, "as_of": "明天"}, headers=headers, timeout=60)
        assert bad.status_code == 422

        documents = httpx.get(url + "/api/v1/documents", params={"as_of": "2021-05-01"}, headers=headers).json()["documents"]
        revision = next(d for d in documents if d["doc_number"] == "鄂组发〔2024〕3号")
        assert revision["status"] == "not_yet_effective"
        corrected = httpx.patch(url + f"/api/v1/documents/{revision['doc_id']}", json={"expiry_date": "2024-12-31"}, headers=headers)
        assert corrected.status_code == 200 and corrected.json()["status"] == "expired"
        malformed = httpx.patch(url + f"/api/v1/documents/{revision['doc_id']}", json={"status": "作废"}, headers=headers)
        assert malformed.status_code == 422 and "status 应为" in malformed.json()["detail"]
        bad_day = httpx.patch(url + f"/api/v1/documents/{revision['doc_id']}", json={"date": "2024/02/01"}, headers=headers)
        assert bad_day.status_code == 422 and "YYYY-MM-DD" in bad_day.json()["detail"]
        reissued = httpx.patch(url + f"/api/v1/documents/{revision['doc_id']}", json={"date": "2030-01-01"}, headers=headers).json()
        assert reissued["date"] == "2030-01-01" and reissued["status"] == "not_yet_effective", "a corrected issue date counts"
        httpx.patch(url + f"/api/v1/documents/{revision['doc_id']}", json={"date": "2024-02-01"}, headers=headers)
        missing = httpx.patch(url + "/api/v1/documents/doc-000000000000", json={"status": "repealed"}, headers=headers)
        assert missing.status_code == 404
    cli(versions, "remove", revision["doc_id"], check_code=0)
    cli(versions, "ingest", versions.parent / "files", check_code=0)
    again = listed(cli, versions)["鄂组发〔2024〕3号"]
    assert again["doc_id"] == revision["doc_id"] and again["status"] == "expired" and again["expiry_date"] == "2024-12-31"


def test_course_material_leaves_out_what_is_not_in_force_and_flags_it_when_chosen(versions, cli):
    material = cli(versions, "course", "交通补贴", check_code=0).stdout
    assert "500元" in material and "300元" not in material, "the repealed measure is not taught"
    notice = next(d for d in listed(cli, versions).values() if d["title"].startswith("关于疫情期间"))
    chosen = cli(versions, "course", "临时性工作补助", "--doc", notice["doc_id"], check_code=0).stdout
    assert "200元" in chosen and "效力：已失效" in chosen
    left_out = cli(versions, "course", "临时性工作补助", check_code=1)
    assert "200元" not in left_out.stdout and "未找到" in left_out.stderr, "an expired notice is left out by default"


def test_a_revision_uploaded_while_serving_replaces_the_old_measure_at_once(fresh_service):
    fresh_service.ingest_upload("2019.txt", MEASURE_2019.encode())
    assert "300元" in fresh_service.ask(ALLOWANCE).text
    fresh_service.ingest_upload("2024.txt", MEASURE_2024.encode())
    answer = fresh_service.ask(ALLOWANCE)
    assert "500元" in answer.text and "300元" not in answer.text
