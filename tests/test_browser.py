"""The web page in a real browser: Debian's Chromium, headless, driven by Playwright against the app on loopback."""

import re
import shutil
import uuid
from pathlib import Path

import pytest
from conftest import make_settings
from serving import served
from sysdeps import require_programs

from settings import REPO_ROOT

ADMIN_PASSWORD = "测试口令-42"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]
ANSWER_TIMEOUT_MS = 120_000  # two xdist workers share two cores with servers, models and the browser
# How long a sent question may take to show in the chat before the page is taken not to have had it.
SEND_WAIT_MS = 10_000
DISLIKE = "button[aria-label='踩'], button[aria-label='Dislike']"
LIKE = "button[aria-label='赞'], button[aria-label='Like']"
NEW_POLICY = """某市机关干部夜间值班补贴管理办法（试行）
第一条 为规范机关干部夜间值班补贴发放，制定本办法。
第二条 本办法适用于市直机关在编干部。
第三条 机关干部夜间值班的，每班次发放值班补贴八十元，由所在单位按月核发。
第四条 本办法自印发之日起施行。
"""
PLANTED_POLICY = """关于网页维护安全巡检的通知<script>alert(3)</script>
第一条 单位网页维护人员每季度开展一次安全巡检<script>alert(1)</script>，发现问题及时整改。
第二条 巡检记录须留存备查<img src=x onerror=alert(2)>，保存期限为三年。
"""


@pytest.fixture(scope="module")
def browser():
    require_programs({"chromium": ["chromium", "fonts-noto-cjk"]})
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The whole server (pages and APIs) over a store of its own holding the sample, with the admin tab on."""
    from assistant import create_service
    from web.server import create_server

    settings = make_settings(tmp_path_factory.mktemp("browser-store"), admin_password=ADMIN_PASSWORD)
    service = create_service(settings)
    service.ensure_sample()
    with served(create_server(service, settings)) as url:
        yield url, service


def new_page(browser, **options):
    """A page in a browser context of its own, Chinese locale, waiting as long as an answer may take."""
    context = browser.new_context(locale="zh-CN", **options)
    context.set_default_timeout(ANSWER_TIMEOUT_MS)  # the question box opens once the page has restored its conversation
    return context.new_page()


@pytest.fixture
def page(browser, request):
    width, height = getattr(request, "param", (1280, 900))
    page = new_page(browser, viewport={"width": width, "height": height}, accept_downloads=True)
    page.dialogs, page.console = [], []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    page.on("console", lambda message: page.console.append(f"{message.type}: {message.text}"[:300]))
    page.on("pageerror", lambda error: page.console.append(f"pageerror: {error}"[:300]))
    yield page
    page.context.close()


def send(page, question: str) -> None:
    """Type a question and send it, until the page has taken it (its message shows in the chat).

    A page just opened, right after a login above all, can show the question box before it takes a
    question: the box then still holds the question, and it is sent again, as a reader would.
    """
    box, users = page.locator("#question textarea"), page.locator("#chat [data-testid='user']")
    before = users.count()
    box.fill(question)
    for _ in range(ANSWER_TIMEOUT_MS // SEND_WAIT_MS):
        box.press("Enter")
        try:
            users.nth(before).wait_for(timeout=SEND_WAIT_MS)
            return
        except Exception:  # noqa: BLE001 - not taken yet: send again only if the box still holds it
            if box.input_value() != question:
                users.nth(before).wait_for(timeout=ANSWER_TIMEOUT_MS)
                return
    raise AssertionError(f"the page never took the question {question!r}")


def ask(page, question: str):
    """Type a question, send it, and wait for its cited (or declined) answer; the last bot message."""
    bots = page.locator("#chat [data-testid='bot']")
    before = bots.count()
    send(page, question)
    try:
        bots.nth(before).wait_for(timeout=ANSWER_TIMEOUT_MS)
    except Exception as error:  # say what the page showed and logged instead of an answer
        chat = page.locator("#chat").inner_html()[-1500:] if page.locator("#chat").count() else "(no chat)"
        raise AssertionError(f"no answer to {question!r} shown; console: {page.console[-15:]!r}; chat: {chat!r}") from error
    answer = bots.nth(before)
    try:
        answer.locator("details.citation").first.wait_for(state="attached", timeout=ANSWER_TIMEOUT_MS)
    except Exception as error:  # say what the page showed instead of a cited answer
        raise AssertionError(f"no citation under the answer to {question!r}; the page shows: {answer.inner_text()[:500]!r}") from error
    settle(page)
    return answer


def settle(page, quiet_ms: int = 1000) -> None:
    """Wait until the chat has stopped changing (no change for `quiet_ms`), so that what is clicked next stays put.

    On two cores shared with the other xdist worker, the browser can take many seconds to lay out a
    long answer, replacing its elements meanwhile; a click then finds its link detached again and again.
    """
    outcome = page.evaluate(
        """([quiet, limit]) => new Promise(resolve => {
            const chat = document.querySelector('#chat');
            let changes = 0, last = performance.now(); const kinds = [];
            const observer = new MutationObserver(list => {
                changes += list.length; last = performance.now();
                for (const m of list) if (kinds.length < 6) kinds.push(m.type + ' ' + (m.target.className || m.target.nodeName));
            });
            observer.observe(chat, {subtree: true, childList: true, attributes: true, characterData: true});
            const began = performance.now();
            const check = setInterval(() => {
                const now = performance.now();
                if (now - last >= quiet || now - began >= limit) {
                    clearInterval(check); observer.disconnect();
                    resolve({settled: now - last >= quiet, changes, kinds, ms: Math.round(now - began)});
                }
            }, 100);
        })""",
        [quiet_ms, ANSWER_TIMEOUT_MS],
    )
    assert outcome["settled"], f"the chat kept changing for {outcome['ms']} ms: {outcome['changes']} changes, e.g. {outcome['kinds']}"


def gradio_uploads() -> Path:
    """The folder Gradio keeps the page's uploads in."""
    import os
    import tempfile

    return Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio")


def unlock_admin(page):
    page.get_by_role("tab", name="知识库管理").click()
    page.locator("#admin-password input").fill(ADMIN_PASSWORD)
    page.locator("#admin-unlock").click()
    page.locator("#admin-docs", has_text="中共湖北省委").wait_for()  # unlocked and listed: the tab has settled


def test_the_question_box_opens_only_once_the_saved_conversation_is_on_the_page(site, page, monkeypatch):
    """A question sent while the page was still restoring its conversation had its answer wiped by it (seen under load)."""
    import threading

    import web.history

    url, _ = site
    opened, listing = threading.Event(), web.history.history_choices
    monkeypatch.setattr(web.history, "history_choices", lambda *args: (opened.wait(60), listing(*args))[1])
    page.goto(url + "/")
    box = page.locator("#question textarea")
    box.wait_for()
    assert box.is_disabled() and page.locator("#send").is_disabled()  # still restoring: nothing can be sent
    opened.set()
    page.wait_for_function("() => !document.querySelector('#question textarea').disabled")
    assert ask(page, "先行先试中出现的失误能否免责？").locator("details.citation").count() >= 1


def test_a_cadre_asks_checks_the_source_rates_it_and_an_admin_adds_a_document(site, page, tmp_path):
    url, service = site
    shots = tmp_path / "screenshots"
    shots.mkdir()
    page.goto(url + "/")

    answer = ask(page, "先行先试中出现的失误能否免责？")
    assert re.search(r"「[^」]*先行先试出现的失误[^」]*」", answer.inner_text())
    citation = answer.locator("details#cite-0-1")
    assert not citation.evaluate("e => e.open")
    answer.locator("a.cite-ref", has_text="[1]").first.click()
    assert citation.evaluate("e => e.open")
    quote = citation.locator(":scope > blockquote mark")
    assert quote.is_visible() and "先行先试出现的失误" in quote.inner_text()
    assert "健全完善容错免责机制" in citation.inner_text() and "中共湖北省委" in citation.inner_text()
    assert "融合得分" in page.locator("#evidence").inner_text()
    page.screenshot(path=shots / "answer-with-citation.png", full_page=True)
    shutil.copyfile(shots / "answer-with-citation.png", REPO_ROOT / "docs" / "screenshot.png")
    citation.locator("details summary", has_text="阅读原文上下文").click()
    context = citation.locator("details blockquote")
    assert context.is_visible() and "严肃整治干部不担当不作为" in context.inner_text()
    assert "先行先试出现的失误" in context.locator("mark").inner_text()
    page.screenshot(path=shots / "surrounding-text.png", full_page=True)

    with page.expect_download() as download:
        page.locator("#export").click()
    exported = Path(download.value.path()).read_text(encoding="utf-8")
    assert "先行先试中出现的失误能否免责？" in exported and "**引用出处**" in exported and "先行先试出现的失误" in exported

    page.locator("#chat").locator(DISLIKE).last.click()
    page.locator("#feedback-reason").get_by_text("引用不对").click()
    page.locator("#feedback-note textarea").fill("应引用省委文件原文")
    page.locator("#feedback-submit").click()
    page.locator("#feedback-status", has_text="已记录反馈原因").wait_for()
    latest = service.feedback().list(1)[0]
    assert (latest["rating"], latest["reason"]) == ("down", "引用不对；应引用省委文件原文")
    assert latest["question"] == "先行先试中出现的失误能否免责？" and "先行先试出现的失误" in latest["answer"]
    page.screenshot(path=shots / "feedback.png", full_page=True)

    policy = tmp_path / f"夜间值班补贴办法-{uuid.uuid4().hex[:8]}.txt"  # a name no earlier run left behind
    policy.write_text(NEW_POLICY, encoding="utf-8")
    unlock_admin(page)
    page.locator("#admin-files input[type=file]").set_input_files(policy)
    page.locator("#admin-files").get_by_label(policy.name).wait_for()  # uploaded, listed under its name
    page.locator("#admin-ingest").click()
    page.locator("#admin-ingest-status", has_text="✅").wait_for(timeout=ANSWER_TIMEOUT_MS)
    assert "某市机关干部夜间值班补贴管理办法" in page.locator("#admin-docs").inner_text()
    assert not list(gradio_uploads().rglob(policy.name)), "the page's upload is not left in Gradio's temp folder"
    page.screenshot(path=shots / "admin.png", full_page=True)

    page.get_by_role("tab", name="问答").click()
    answer = ask(page, "机关干部夜间值班每班次补贴多少钱？")
    assert "每班次发放值班补贴八十元" in answer.inner_text()
    assert "某市机关干部夜间值班补贴管理办法" in answer.locator("details#cite-1-1 > summary").inner_text()
    page.screenshot(path=shots / "answer-from-upload.png", full_page=True)
    assert list(shots.glob("*.png")) and page.dialogs == []


def test_a_planted_script_in_a_document_or_question_shows_as_text_and_runs_nothing(site, page):
    url, service = site
    service.ingest_texts([{"text": PLANTED_POLICY, "source": "planted.txt", "doc_id": "planted"}])
    page.goto(url + "/")
    answer = ask(page, "<img src=x onerror=alert(4)>单位网页维护人员多久开展一次安全巡检？")
    answer.locator("a.cite-ref").first.click()
    page.locator("#chat [data-testid='user']", has_text="<img src=x onerror=alert(4)>").wait_for()
    shown = answer.inner_text()
    assert "<script>alert(1)</script>" in shown and "每季度开展一次安全巡检" in shown
    assert page.locator("#chat script, #chat img[src='x'], #chat [onerror]").count() == 0
    assert page.evaluate("() => document.querySelectorAll('img[src=\"x\"], [onerror]').length") == 0
    page.wait_for_timeout(500)  # a broken image's onerror would have fired by now; it must not have
    assert page.dialogs == []


@pytest.fixture
def planted_image_host():
    """A loopback HTTP server that counts the requests it gets (a planted image's address points here)."""
    import http.server
    import threading

    hits = []

    class Counting(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the name http.server calls
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Counting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()


def test_planted_markdown_in_a_document_shows_as_text_and_fetches_nothing(site, page, planted_image_host):
    url, service = site
    host, hits = planted_image_host
    planted = (
        "关于档案库房温湿度管理的通知\n"
        f"第一条 档案库房每日记录两次温湿度![图]({host}/x.png)，记录表[点我](javascript:alert(5))保存**粗体**五年。\n"
    )
    service.ingest_texts([{"text": planted, "source": "planted.md.txt", "doc_id": "planted-md"}])
    page.goto(url + "/")
    answer = ask(page, "档案库房每日记录几次温湿度？")
    answer.locator("a.cite-ref").first.click()
    shown = answer.inner_text()
    assert f"![图]({host}/x.png)" in shown and "[点我](javascript:alert(5))" in shown and "**粗体**" in shown
    assert page.locator("#chat img[src*='x.png'], #chat a[href^='javascript'], #chat strong:has-text('粗体')").count() == 0
    assert hits == []
    assert page.dialogs == []


def test_the_knowledge_base_tab_is_locked_by_the_password_removes_documents_and_exports_feedback(site, page):
    url, service = site
    service.ingest_texts([{"text": "临时测试文件\n第一条 本文件用于删除测试。", "source": "temporary.txt", "doc_id": "to-remove"}])
    service.ingest_texts([{"text": PLANTED_POLICY, "source": "planted.txt", "doc_id": "planted"}])
    service.feedback().add("down", "导出测试问题<img src=x onerror=alert(5)>", "导出测试回答", reason="答非所问")
    page.goto(url + "/")
    page.get_by_role("tab", name="知识库管理").click()
    page.locator("#admin-password input").fill("错误口令")
    page.locator("#admin-unlock").click()
    page.locator("#admin-lock-status", has_text="密码不正确").wait_for()
    assert page.locator("#admin-files").count() == 0 and page.locator("#admin-docs").count() == 0

    unlock_admin(page)
    listed = page.locator("#admin-docs").inner_text()
    assert "临时测试文件" in listed and "<script>alert(3)</script>" in listed  # titles shown as text
    assert "<img src=x onerror=alert(5)>" in page.locator("#admin-feedback").inner_text()
    page.locator("#admin-remove-choice input").click()
    page.get_by_role("option", name=re.compile("to-remove")).click()
    page.locator("#admin-remove").click()
    page.locator("#admin-remove-status", has_text="已删除 to-remove").wait_for()
    assert "to-remove" not in [d["doc_id"] for d in service.documents()]
    assert "临时测试文件" not in page.locator("#admin-docs").inner_text()

    page.locator("#admin-export-feedback").click()
    with page.expect_download() as download:
        page.locator("#admin-feedback-csv a[download]").click()
    exported = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert exported.startswith("id,created_at,user,rating,reason,question,answer,citations")
    assert "导出测试问题" in exported and "答非所问" in exported
    assert page.dialogs == []


def test_wrong_admin_passwords_are_logged_and_after_five_even_the_right_one_waits(sample_service, page, caplog, tmp_path):
    from web.server import create_server

    settings = make_settings(tmp_path / "unused", admin_password=ADMIN_PASSWORD)
    with served(create_server(sample_service, settings)) as url, caplog.at_level("WARNING", logger="web.ui"):
        page.goto(url + "/")
        page.get_by_role("tab", name="知识库管理").click()
        for left in range(4, -1, -1):
            page.locator("#admin-password input").fill(f"猜测-{left}")
            page.locator("#admin-unlock").click()
            page.locator("#admin-lock-status", has_text=f"还可尝试 {left} 次").wait_for()
        page.locator("#admin-password input").fill(ADMIN_PASSWORD)
        page.locator("#admin-unlock").click()
        page.locator("#admin-lock-status", has_text="密码错误次数过多").wait_for()
        assert page.locator("#admin-files").count() == 0
    failures = [r.getMessage() for r in caplog.records if "解锁失败" in r.getMessage()]
    assert len(failures) == 5 and all("127.0.0.1" in m for m in failures)
    assert any("解锁被拒" in r.getMessage() for r in caplog.records)


def test_with_logins_set_the_page_asks_for_one_and_feedback_names_the_user(site, page, tmp_path):
    from web.server import create_server

    _, service = site
    settings = make_settings(tmp_path / "unused", auth="张三:登录口令")
    with served(create_server(service, settings)) as url:
        page.goto(url + "/")
        page.locator("input[type=password]").wait_for()
        assert page.locator("#question").count() == 0
        page.locator("input[type=text]").first.fill("张三")
        page.locator("input[type=password]").fill("登录口令")
        page.locator("input[type=password]").press("Enter")
        ask(page, "先行先试中出现的失误能否免责？")
        page.locator("#chat").locator(LIKE).last.click()
        page.locator("#feedback-status", has_text="已记录 👍").wait_for()
    latest = service.feedback().list(1)[0]
    assert (latest["user"], latest["rating"], latest["question"]) == ("张三", "up", "先行先试中出现的失误能否免责？")


@pytest.mark.parametrize("page", [(400, 820)], indirect=True)
def test_the_chat_works_in_a_narrow_side_panel(site, page, tmp_path):
    url, _ = site
    page.goto(url + "/")
    page.get_by_role("button", name=re.compile("先行先试中出现的失误能否免责")).first.click()
    answer = page.locator("#chat [data-testid='bot']").first
    answer.locator("details.citation").first.wait_for(state="attached", timeout=ANSWER_TIMEOUT_MS)
    answer.locator("a.cite-ref").first.click()
    assert answer.locator("details#cite-0-1 > blockquote mark").is_visible()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 400
    for element in ("#chat", "#question", "#send"):
        box = page.locator(element).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 400, element
    page.screenshot(path=tmp_path / "narrow.png", full_page=True)


@pytest.mark.parametrize("page", [(400, 700)], indirect=True)
def test_the_embedded_chat_answers_without_header_or_admin_tab(site, page):
    url, _ = site
    page.goto(url + "/embed/")
    answer = ask(page, "先行先试中出现的失误能否免责？")
    assert "先行先试出现的失误" in answer.inner_text()
    body = page.locator("body").inner_text()
    assert "知识库管理" not in body and "PolicyQA 政策问答助手" not in body


def test_the_page_retrieves_once_per_question(site, page, retrievals):
    url, _ = site
    page.goto(url + "/")
    ask(page, "先行先试中出现的失误能否免责？")
    evidence = page.locator("#evidence")
    evidence.filter(has_text="融合得分").wait_for(timeout=ANSWER_TIMEOUT_MS)
    first = evidence.inner_text()
    ask(page, "对受处理处分影响期满的干部如何使用？")
    page.wait_for_function(
        "before => document.querySelector('#evidence').innerText !== before", arg=first, timeout=ANSWER_TIMEOUT_MS
    )
    asked = ["先行先试中出现的失误能否免责？", "对受处理处分影响期满的干部如何使用？"]
    assert [retrievals.count(q) for q in asked] == [1, 1], retrievals  # the rest: suggestions tried before they are offered
    assert "受处理处分" in evidence.inner_text(), "the panel shows the passages of the latest answer"


def test_a_saved_conversation_reopens_after_a_reload_and_a_suggestion_is_asked(site, page):
    url, service = site
    page.goto(url + "/")
    ask(page, "先行先试中出现的失误能否免责？")
    offered = page.locator("#suggestion-0")
    offered.wait_for(state="visible", timeout=ANSWER_TIMEOUT_MS)
    page.locator("#history input").wait_for()
    page.reload()
    bots = page.locator("#chat [data-testid='bot']")
    bots.first.locator("details.citation").first.wait_for(state="attached", timeout=ANSWER_TIMEOUT_MS)
    assert "先行先试出现的失误" in bots.first.inner_text() and bots.count() == 1
    assert "先行先试中出现的失误能否免责" in page.locator("#history input").input_value()
    offered.wait_for(state="visible", timeout=ANSWER_TIMEOUT_MS)
    suggestion = offered.inner_text().strip()
    assert suggestion
    offered.click()
    bots.nth(1).locator("details.citation").first.wait_for(state="attached", timeout=ANSWER_TIMEOUT_MS)
    assert "未找到相关规定" not in bots.nth(1).inner_text()
    assert suggestion in page.locator("#chat [data-testid='user']").nth(1).inner_text()

    page.wait_for_function(  # the suggestion's turn is saved to the conversation reopened, now of two turns
        "() => (document.querySelector('#history input') || {}).value?.includes('2 轮')", timeout=ANSWER_TIMEOUT_MS
    )


@pytest.fixture(scope="module")
def versions_site(tmp_path_factory):
    """The server over a store holding a 2019 measure, its 2024 revision and an expired notice (from tests.test_lifecycle)."""
    from assistant import create_service
    from test_lifecycle import EXPIRING, MEASURE_2019, MEASURE_2024, write
    from web.server import create_server

    folder = tmp_path_factory.mktemp("versions")
    files = write(folder / "files", {"2019.txt": MEASURE_2019, "2024.txt": MEASURE_2024, "notice.txt": EXPIRING})
    settings = make_settings(folder / "store", admin_password=ADMIN_PASSWORD, ingest_sample_when_empty=False)
    service = create_service(settings)
    service.ingest([files])
    with served(create_server(service, settings)) as url:
        yield url


def test_the_page_answers_from_what_was_in_force_on_the_day_picked(versions_site, page):
    from test_lifecycle import ALLOWANCE

    page.goto(versions_site)
    today = ask(page, ALLOWANCE)
    assert "500元" in today.inner_text() and "300元" not in today.inner_text()
    assert "效力：现行有效" in today.locator("details.citation").first.text_content()

    page.locator("#as-of input").first.fill("2021-05-01")
    page.locator("#as-of input").first.press("Enter")
    then = ask(page, ALLOWANCE)
    assert "300元" in then.inner_text() and "500元" not in then.inner_text()

    page.locator("#as-of input").first.fill("")
    page.locator("#as-of input").first.press("Enter")
    expired = ask(page, "基层医务人员临时性工作补助每天多少钱？")
    assert "已失效" in expired.inner_text()
    assert "效力：已失效" in expired.locator("details.citation").first.text_content()

    unlock_admin(page)
    table = page.locator("#admin-docs")
    table.get_by_text("已废止").first.wait_for(timeout=ANSWER_TIMEOUT_MS)
    assert table.get_by_text("已失效").count() >= 1 and table.get_by_text("现行有效").count() >= 1


def test_an_editor_curates_an_answer_in_the_knowledge_base_tab_and_a_paraphrase_gets_it(site, page):
    url, service = site
    page.goto(url + "/")
    unlock_admin(page)
    page.locator("#faq-question textarea").fill("干部出了失误犯任何错都能免责吗？")
    page.locator("#faq-answer textarea").fill("不是。「干部犯任何错误都一律免责」")
    page.locator("#faq-save").click()
    page.locator("#faq-status", has_text="找不到").wait_for(timeout=ANSWER_TIMEOUT_MS)
    assert "「干部犯任何错误都一律免责」" in page.locator("#faq-status").inner_text()
    page.locator("#faq-question textarea").fill("先行先试中出现的失误能否免责？")
    page.locator("#faq-answer textarea").fill("可以。「对干部在推进支点建设中因缺乏经验、先行先试出现的失误……可以不予或者免于追究责任」。")
    page.locator("#faq-save").click()
    page.locator("#faq-status", has_text="已保存").wait_for(timeout=ANSWER_TIMEOUT_MS)
    page.locator("#faq-table", has_text="先行先试中出现的失误能否免责").wait_for()
    try:
        page.get_by_role("tab", name="问答").click()
        answer = ask(page, "哪些情况下干部出了失误可以不被追责？")
        assert "可以。" in answer.inner_text() and "先行先试出现的失误" in answer.locator("details#cite-0-1").text_content()
    finally:
        for entry in service.curated.entries():
            service.curated.remove(entry["id"])


@pytest.fixture(scope="module")
def scan_site(tmp_path_factory, shared_ocr_reads):
    """The server over a store holding one page of the Hubei opinion as a scan, read by OCR."""
    from assistant import create_service
    from formats import rasterised_pdf
    from web.server import create_server

    folder = tmp_path_factory.mktemp("scan")
    scan = rasterised_pdf(Path(__file__).resolve().parent / "fixtures" / "hubei.pdf", [1], folder / "hubei-scan.pdf")
    settings = make_settings(folder / "store", admin_password=ADMIN_PASSWORD, ingest_sample_when_empty=False)
    service = create_service(settings)
    service.ingest([scan])
    assert service.ask("先行先试中出现的失误能否免责？").citations[0].page == 1  # and the first question's costs paid
    with served(create_server(service, settings)) as url:
        yield url


def test_a_citation_from_a_scan_opens_its_original_page_with_the_words_boxed(scan_site, page, tmp_path):
    page.goto(scan_site)
    answer = ask(page, "先行先试中出现的失误能否免责？")
    citation = answer.locator("details#cite-0-1")
    answer.locator("a.cite-ref", has_text="[1]").first.click()
    with page.expect_response(lambda r: "/page-images/" in r.url) as response:
        citation.locator("details.source-page summary", has_text="查看原文页（第 1 页）").click()
    assert response.value.status == 200 and response.value.headers["content-type"] == "image/png"
    image = citation.locator("details.source-page img")
    image.wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle(), timeout=ANSWER_TIMEOUT_MS)
    assert image.evaluate("img => img.naturalWidth") >= 1000 and image.is_visible()
    page.screenshot(path=tmp_path / "source-page.png", full_page=True)
