"""The web pages per knowledge base: who may log in to which page, who sees its knowledge-base tab, and the audit
events of what is done there.

`/` is the base `default` (as before bases existed), `/kb/NAME/` each other base registered when the server
starts. A base's page asks only that base, so a department's page never shows another's passages.
"""

import hmac
from collections.abc import Callable

from assistant.bases import DEFAULT
from assistant.gate import Gate
from web.guard import CLIENT


def page_login(gate: Gate, settings, kb: str) -> Callable[[str, str], bool] | None:
    """The login check of base kb's page (None: no login, as for `/` without POLICYQA_AUTH or page passwords).

    `/` takes POLICYQA_AUTH's pairs as before and every user with a page password who may read `default`;
    another base's page always asks for a login, and only its users (and admins) get in. Every try is recorded.
    """
    pairs = dict(settings.logins())
    if kb == DEFAULT and not pairs and not gate.users.with_passwords():
        return None

    def check(username: str, password: str) -> bool:
        client = CLIENT.get() or "page"
        if kb == DEFAULT and username in pairs:
            known = hmac.compare_digest((password or "").encode(), pairs[username].encode())
            gate.audit.record(username, client, kb, "login", "ok" if known else "denied: 用户名或密码错误")
            return known
        return gate.login(username, password, client, kb) is not None

    return check


def may_manage_page(gate: Gate, kb: str) -> Callable:
    """Whether the page's logged-in user may change base kb (an editor of it or an admin): then its tab opens without a password."""

    def check(request) -> bool:
        name = getattr(request, "username", None) if request is not None else None
        principal = gate.users.named(name) if name else None
        return principal is not None and principal.may_write(kb)

    return check


def page_recorder(gate: Gate, kb: str) -> Callable:
    """Records what the page's user did in base kb: `record(request, action, outcome, question, doc_ids)`."""

    def record(request, action: str, outcome: str, question: str = "", doc_ids=()) -> None:
        user = (getattr(request, "username", None) or "page") if request is not None else "page"
        client = request.client.host if request is not None and request.client else "page"
        gate.audit.record(user, client, kb, action, outcome, question, doc_ids)

    return record
