"""Two departments in a real browser (#22): each user logs in to its own base's page with its own account, sees its
own documents only, and the knowledge-base tab opens by role, not by a shared password; logins are audited."""

import re
from pathlib import Path

import pytest
from conftest import eventually, make_settings
from departments import ALLOWANCE, EXEMPTION, two_departments
from serving import served
from test_browser import ANSWER_TIMEOUT_MS, ask, browser, new_page, page, send  # noqa: F401 - the browser and page fixtures

READER_PASSWORD, EDITOR_PASSWORD, ADMIN_PASSWORD = "组织部读者口令", "人社厅编辑口令", "管理员口令-2026"


@pytest.fixture(scope="module")
def departments(tmp_path_factory):
    """Served: zzb (the Hubei opinion) read by 张三, rst (an allowance notice) edited by 李四, both with page passwords."""
    from app import create_app
    from assistant.access import UserStore

    data_dir = tmp_path_factory.mktemp("departments-page")
    settings = make_settings(data_dir, ingest_sample_when_empty=False)
    two_departments(settings)
    users = UserStore(data_dir)
    users.add("张三", "reader", ["zzb"], password=READER_PASSWORD)
    users.add("李四", "editor", ["rst"], password=EDITOR_PASSWORD)
    users.add("王五", "admin", [], password=ADMIN_PASSWORD)
    with served(create_app(settings)) as url:
        yield url, data_dir


def log_in(page, url: str, name: str, password: str) -> None:
    """Open a page and log in on Gradio's login form."""
    page.goto(url)
    page.locator("input[type=password]").wait_for()
    page.locator("input[type=text]").first.fill(name)
    page.locator("input[type=password]").fill(password)
    page.locator("input[type=password]").press("Enter")


def reply(page, question: str) -> str:
    """Ask and wait for the answer, declined or not: its text."""
    bots = page.locator("#chat [data-testid='bot']")
    before = bots.count()
    send(page, question)
    answer = bots.nth(before).filter(has_text=re.compile("未找到相关规定|150元|「"))
    answer.wait_for(timeout=ANSWER_TIMEOUT_MS)
    return answer.inner_text()


def logins(data_dir) -> list[tuple]:
    from assistant.audit import AuditLog

    return [(e["user"], e["kb"], e["outcome"]) for e in AuditLog.reader(data_dir).events() if e["action"] == "login"]


def test_two_logins_two_views(departments, page, browser, tmp_path):  # noqa: F811 - pytest fixtures
    url, data_dir = departments
    log_in(page, url + "/kb/zzb/", "张三", READER_PASSWORD)
    answer = ask(page, EXEMPTION)
    assert "先行先试出现的失误" in answer.inner_text() and "组织部" in page.locator("#page-heading").inner_text()
    asked = reply(page, ALLOWANCE)
    assert "未找到相关规定" in asked and "150元" not in asked, "the allowance notice is in rst's page only"
    assert page.get_by_role("tab", name="知识库管理").count() == 0, "a reader sees no knowledge-base tab"

    log_in(page, url + "/kb/rst/", "张三", READER_PASSWORD)
    eventually(lambda: ("张三", "rst", "denied: 无权使用知识库 rst") in logins(data_dir), what="张三 refused at rst's page")
    page.goto(url + "/kb/rst/")
    page.locator("input[type=password]").wait_for()
    assert page.locator("#question").count() == 0

    other = new_page(browser)
    try:
        log_in(other, url + "/kb/rst/", "李四", EDITOR_PASSWORD)
        assert "150元" in ask(other, ALLOWANCE).inner_text()
        other.get_by_role("tab", name="知识库管理").click()
        listed = other.locator("#admin-docs", has_text="关于调整工伤保险伤残津贴的通知")
        listed.wait_for()
        assert other.locator("#admin-password").count() == 0 or not other.locator("#admin-password").is_visible()
        assert "中共湖北省委" not in listed.inner_text()
        notice = tmp_path / "工伤认定时限.txt"
        notice.write_text("关于工伤认定时限的通知\n一、认定时限\n应当自受理申请之日起60日内作出工伤认定的决定。\n", encoding="utf-8")
        other.locator("#admin-files input[type=file]").set_input_files(notice)
        other.locator("#admin-files").get_by_label(notice.name).wait_for()
        other.locator("#admin-ingest").click()
        other.locator("#admin-ingest-status", has_text="✅").wait_for(timeout=60_000)
    finally:
        other.context.close()

    from assistant.audit import AuditLog

    events = AuditLog.reader(data_dir).events()
    assert ("张三", "zzb", "ok") in logins(data_dir) and ("李四", "rst", "ok") in logins(data_dir)
    asks = [(e["user"], e["kb"], e["question"], e["outcome"]) for e in events if e["action"] == "ask"]
    assert ("张三", "zzb", EXEMPTION, "answered") in asks and ("李四", "rst", ALLOWANCE, "answered") in asks
    uploads = [(e["user"], e["kb"], e["question"], e["outcome"]) for e in events if e["action"] == "upload"]
    assert uploads == [("李四", "rst", "工伤认定时限.txt", "ok")]
    assert [e["doc_ids"] for e in events if e["action"] == "upload"][0], "the upload names the document it stored"


def test_an_admin_sees_the_dashboard_and_the_audit_log_others_do_not(departments, page, browser, tmp_path):  # noqa: F811 - pytest fixtures
    url, data_dir = departments
    log_in(page, url + "/kb/zzb/", "张三", READER_PASSWORD)
    reply(page, "公务员的基本工资标准是多少？")
    assert page.locator("#dashboard").count() == 0 or not page.locator("#dashboard").is_visible()
    log_in(page, url + "/kb/rst/", "张三", READER_PASSWORD)
    eventually(lambda: ("张三", "rst", "denied: 无权使用知识库 rst") in logins(data_dir), what="张三 refused at rst's page")

    admin = new_page(browser, accept_downloads=True)
    try:
        log_in(admin, url + "/kb/zzb/", "王五", ADMIN_PASSWORD)
        admin.locator("#question textarea").wait_for()
        admin.get_by_role("tab", name="知识库管理").click()
        admin.locator("#dashboard-summary", has_text="zzb").wait_for()
        summary = admin.locator("#dashboard-summary").inner_text()
        assert "个问题" in summary and "未找到依据" in summary
        assert "公务员的基本工资标准是多少？" in admin.locator("#dashboard-declined-questions").inner_text()
        admin.locator("#dashboard-per-day").wait_for()
        assert "denied: 无权使用知识库 rst" in admin.locator("#audit-table").inner_text()
        admin.screenshot(path=tmp_path / "dashboard.png", full_page=True)
        admin.locator("#audit-export").click()
        with admin.expect_download() as download:
            admin.locator("#audit-csv a[download]").click()
        exported = Path(download.value.path()).read_text(encoding="utf-8-sig")
        assert exported.startswith("time,user,client,kb,action,outcome,question,doc_ids") and "张三" in exported
    finally:
        admin.context.close()
