"""Users and roles (#22): keys made once and stored hashed, readers, editors and admins per knowledge base through the
command line and the API, the configured keys working as before, and bad or hostile input refused clearly."""

import io
import json
import threading

import httpx
import pytest

from conftest import make_settings
from departments import ALLOWANCE, EXEMPTION, two_departments
from serving import served

TRUE_QUOTE = "因缺乏经验、先行先试出现的失误"
READ_KEY, ADMIN_KEY = "configured-read-key", "configured-admin-key"


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def test_users_get_a_key_once_stored_hashed_and_replaced_or_removed(tmp_path, cli, monkeypatch):
    data_dir = tmp_path / "var"
    cli(data_dir, "kb", "create", "zzb", check_code=0)
    added = cli(data_dir, "users", "add", "alice", "--role", "reader", "--kb", "zzb", check_code=0)
    key = added.stdout.strip()
    assert key.startswith("pqa_") and len(key) > 40 and "只显示这一次" in added.stderr
    assert key.encode() not in (data_dir / "users.sqlite3").read_bytes(), "only the key's hash is stored"
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-password\n"))
    cli(data_dir, "users", "add", "王芳", "--role", "editor", "--kb", "zzb,default", "--password", check_code=0)
    listed = {u["name"]: u for u in json.loads(cli(data_dir, "users", "list", "--json", check_code=0).stdout)}
    assert listed["alice"]["role"] == "reader" and listed["alice"]["kbs"] == ["zzb"] and listed["alice"]["password"] is False
    assert listed["王芳"]["kbs"] == ["zzb", "default"] and listed["王芳"]["password"] is True
    assert key not in json.dumps(listed)

    asked = cli(data_dir, "docs", "--key", key, "--json", check_code=0)
    assert {d["kb"] for d in json.loads(asked.stdout)} <= {"zzb"}
    new_key = cli(data_dir, "users", "key", "alice", check_code=0).stdout.strip()
    assert new_key != key
    assert "API 密钥无效" in cli(data_dir, "docs", "--key", key, check_code=4).stderr
    cli(data_dir, "docs", "--key", new_key, check_code=0)
    cli(data_dir, "users", "remove", "alice", check_code=0)
    assert "API 密钥无效" in cli(data_dir, "docs", "--key", new_key, check_code=4).stderr
    assert "没有用户 alice" in cli(data_dir, "users", "key", "alice", check_code=2).stderr


@pytest.mark.parametrize("name", ["x'; DROP TABLE users;--", "bob smith", "../../etc/passwd", "a" * 65, ""])
def test_a_bad_user_name_is_refused_and_changes_nothing(tmp_path, cli, name):
    data_dir = tmp_path / "var"
    cli(data_dir, "users", "add", "carol", "--role", "admin", check_code=0)
    refused = cli(data_dir, "users", "add", name, "--role", "reader", check_code=2)
    assert "用户名只能由字母、汉字、数字" in refused.stderr
    assert [u["name"] for u in json.loads(cli(data_dir, "users", "list", "--json", check_code=0).stdout)] == ["carol"]
    logged = json.loads(cli(data_dir, "audit", "--format", "json", check_code=0).stdout)[-1]
    assert (logged["action"], logged["question"]) == ("user_add", name[:200]) and logged["outcome"].startswith("denied: 用户名只能")


def test_a_user_for_a_base_that_does_not_exist_or_a_taken_name_is_refused(tmp_path, cli):
    data_dir = tmp_path / "var"
    assert "没有知识库 zzb" in cli(data_dir, "users", "add", "dave", "--role", "reader", "--kb", "zzb", check_code=1).stderr
    assert "知识库名称" in cli(data_dir, "users", "add", "dave", "--role", "reader", "--kb", "../x", check_code=2).stderr
    cli(data_dir, "users", "add", "dave", "--role", "reader", check_code=0)
    assert "已存在" in cli(data_dir, "users", "add", "dave", "--role", "editor", check_code=2).stderr


def test_concurrent_user_changes_take_turns(tmp_path):
    from assistant.access import UserError, UserStore

    users = UserStore(tmp_path)
    outcomes, start = [], threading.Barrier(8)

    def add(i: int) -> None:
        start.wait()
        try:
            outcomes.append(users.add("same", "reader", ["default"]) if i % 2 else users.add(f"user{i}", "reader", ["default"]))
        except UserError as error:
            outcomes.append(error)

    threads = [threading.Thread(target=add, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    keys = [o for o in outcomes if isinstance(o, str)]
    assert len(keys) == 5 and sum(isinstance(o, UserError) for o in outcomes) == 3, "one 'same' and four others"
    assert sorted(u["name"] for u in users.list()) == ["same", "user0", "user2", "user4", "user6"]
    assert sum(users.by_key(k) is not None and users.by_key(k).name == "same" for k in keys) == 1


@pytest.fixture(scope="module")
def departments(tmp_path_factory):
    """Served: bases zzb (the Hubei opinion) and rst (an allowance notice), a reader of zzb, an editor of rst, an admin,
    and the configured read and admin keys."""
    from app import create_app
    from assistant.access import UserStore

    data_dir = tmp_path_factory.mktemp("departments")
    settings = make_settings(data_dir, api_keys=READ_KEY, admin_keys=ADMIN_KEY, ingest_sample_when_empty=False)
    bases = two_departments(settings)
    users = UserStore(data_dir)
    keys = {
        "reader": users.add("zhang", "reader", ["zzb"]), "editor": users.add("li", "editor", ["rst"]),
        "admin": users.add("boss", "admin", []), "removed": users.add("gone", "reader", ["zzb"]),
    }
    users.remove("gone")
    zzb_docs = bases.service("zzb").store.doc_ids()
    with served(create_app(settings)) as url:
        yield url, keys, zzb_docs


def ask(url: str, key: str, question: str, kb=None):
    body = {"question": question} | ({"kb": kb} if kb is not None else {})
    return httpx.post(url + "/api/v1/ask", json=body, headers=bearer(key), timeout=60)


def test_a_reader_asks_in_its_base_only_and_sees_none_of_the_others_passages(departments):
    url, keys, zzb_docs = departments
    own = ask(url, keys["reader"], EXEMPTION, "zzb").json()
    assert TRUE_QUOTE in own["answer"] and {c["doc_id"] for c in own["citations"] + own["related"]} <= zzb_docs
    unnamed = ask(url, keys["reader"], ALLOWANCE).json()
    assert "150元" not in unnamed["answer"] and all(c["kb"] == "zzb" for c in unnamed["citations"] + unnamed["related"])
    other = ask(url, keys["reader"], ALLOWANCE, "rst")
    missing = ask(url, keys["reader"], ALLOWANCE, "nope")
    assert other.status_code == missing.status_code == 403
    assert other.json()["detail"] == "拒绝访问：无权使用知识库 rst" and missing.json()["detail"] == "拒绝访问：无权使用知识库 nope"
    assert "150" not in other.text
    assert ask(url, keys["reader"], EXEMPTION, ["zzb", "rst"]).status_code == 403, "one base not its own spoils the question"
    search = httpx.post(url + "/api/v1/search", json={"query": "伤残津贴", "kb": "rst"}, headers=bearer(keys["reader"]))
    assert search.status_code == 403
    assert httpx.get(url + "/api/v1/documents?kb=rst", headers=bearer(keys["reader"])).status_code == 403
    assert [b["name"] for b in httpx.get(url + "/api/v1/kbs", headers=bearer(keys["reader"])).json()["kbs"]] == ["zzb"]
    models = [m["id"] for m in httpx.get(url + "/v1/models", headers=bearer(keys["reader"])).json()["data"]]
    assert models == ["policyqa", "policyqa/zzb"]
    chat = httpx.post(url + "/v1/chat/completions", headers=bearer(keys["reader"]), timeout=60,
                      json={"model": "policyqa/rst", "messages": [{"role": "user", "content": ALLOWANCE}]})
    assert chat.status_code == 403 and chat.json()["error"]["message"] == "拒绝访问：无权使用知识库 rst"


def test_a_reader_may_not_change_documents_whether_they_exist_or_not(departments):
    url, keys, zzb_docs = departments
    doc = sorted(zzb_docs)[0]
    for target in (f"/api/v1/documents/{doc}?kb=zzb", "/api/v1/documents/no-such-doc?kb=zzb", f"/api/v1/documents/{doc}"):
        refused = httpx.delete(url + target, headers=bearer(keys["reader"]))
        assert refused.status_code == 403 and "只能读取" in refused.json()["detail"]
    upload = httpx.post(url + "/api/v1/documents", headers=bearer(keys["reader"]), files={"file": ("x.txt", "内容".encode())})
    assert upload.status_code == 403


def test_an_editor_changes_its_own_base_and_no_other(departments):
    url, keys, zzb_docs = departments
    doc = sorted(zzb_docs)[0]
    text = "关于工伤认定时限的通知\n一、认定时限\n应当自受理工伤认定申请之日起60日内作出工伤认定的决定。\n".encode()
    into_zzb = httpx.post(url + "/api/v1/documents", headers=bearer(keys["editor"]), data={"kb": "zzb"}, files={"file": ("t.txt", text)})
    assert into_zzb.status_code == 403 and into_zzb.json()["detail"] == "拒绝访问：无权修改知识库 zzb"
    for target in (f"/api/v1/documents/{doc}?kb=zzb", "/api/v1/documents/no-such-doc?kb=zzb"):
        assert httpx.delete(url + target, headers=bearer(keys["editor"])).json()["detail"] == "拒绝访问：无权修改知识库 zzb"
    into_rst = httpx.post(url + "/api/v1/documents", headers=bearer(keys["editor"]), data={"kb": "rst"}, files={"file": ("t.txt", text)})
    assert into_rst.status_code == 201
    new_doc = into_rst.json()["doc_ids"][0]
    assert httpx.delete(url + f"/api/v1/documents/{new_doc}?kb=rst", headers=bearer(keys["editor"])).status_code == 200
    assert ask(url, keys["editor"], EXEMPTION, "zzb").status_code == 403


def test_an_admin_and_the_configured_keys_use_every_base(departments):
    url, keys, _ = departments
    for key in (keys["admin"], ADMIN_KEY, READ_KEY):
        assert TRUE_QUOTE in ask(url, key, EXEMPTION, "zzb").json()["answer"]
        assert "150元" in ask(url, key, ALLOWANCE, "rst").json()["answer"]
    refused = httpx.delete(url + "/api/v1/documents/rst-allowance?kb=rst", headers=bearer(READ_KEY))
    assert refused.status_code == 403, "a configured read key still only reads"
    names = [b["name"] for b in httpx.get(url + "/api/v1/kbs", headers=bearer(keys["admin"])).json()["kbs"]]
    assert names == ["default", "rst", "zzb"]


def test_a_removed_users_key_and_an_unknown_key_get_401(departments):
    url, keys, _ = departments
    for key in (keys["removed"], "pqa_not-a-key"):
        refused = ask(url, key, EXEMPTION, "zzb")
        assert refused.status_code == 401 and refused.json()["detail"] == "API 密钥无效"


def test_once_a_user_exists_a_local_caller_needs_a_key(tmp_path):
    from app import create_app
    from assistant.access import UserStore

    settings = make_settings(tmp_path / "var", ingest_sample_when_empty=False)
    app = create_app(settings)
    with served(app) as url:
        assert httpx.get(url + "/api/v1/documents").status_code == 200, "no key, no user: this machine may ask, as before"
        key = UserStore(tmp_path / "var").add("erin", "reader", ["default"])
        assert httpx.get(url + "/api/v1/documents").status_code == 401
        assert httpx.get(url + "/api/v1/documents", headers=bearer(key)).status_code == 200


def test_the_start_notice_says_keys_are_needed_once_a_user_exists(tmp_path):
    from app import api_access_notice
    from assistant.access import UserStore

    settings = make_settings(tmp_path)
    assert "只接受本机请求" in api_access_notice(settings)
    UserStore(tmp_path).add("erin", "reader", ["default"])
    assert "需要密钥" in api_access_notice(settings) and "users add" in api_access_notice(settings)
