"""What every request passes before a route sees it: API keys, body size limits, framing rules; password throttling.

Written as plain ASGI middleware so that a missing key is refused before the body is read or
validated, and an oversized body is refused before it is held in memory.
"""

import ipaddress
import json
import threading
import time
from collections import deque
from contextvars import ContextVar
from dataclasses import dataclass
from urllib.parse import parse_qs

from assistant.access import Principal, key_fingerprint, key_principal
from assistant.gate import LOCAL_ADMIN, Actor

API_PREFIXES = ("/api/v1", "/v1")
# The address of the request being handled, for the page's login check (Gradio passes it only the name and password).
CLIENT: ContextVar[str] = ContextVar("policyqa_client", default="")
WRITE_ROUTES = ("/api/v1/documents", "/api/v1/faq")
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


class BodyTooLarge(Exception):
    """The request body went past its limit while being read."""


@dataclass(frozen=True)
class Access:
    """Who may call the APIs, and how much they may send."""

    read_keys: tuple[str, ...]
    admin_keys: tuple[str, ...]
    max_json_bytes: int
    max_upload_bytes: int
    max_page_bytes: int

    @property
    def open_on_loopback(self) -> bool:
        """No keys configured: the APIs answer local callers only."""
        return not self.read_keys and not self.admin_keys


def is_api(path: str) -> bool:
    """Whether a path belongs to the key-protected APIs."""
    return any(path == p or path.startswith(p + "/") for p in API_PREFIXES)


def is_page_upload(path: str) -> bool:
    """Whether a path is the page's file upload route (limited by Gradio's own max_file_size)."""
    return path.endswith("/gradio_api/upload")


def is_write(method: str, path: str) -> bool:
    """Whether a request changes the knowledge base."""
    return method in WRITE_METHODS and any(path.startswith(p) for p in WRITE_ROUTES)


# Headers a reverse proxy adds: a request carrying one came through a proxy, whoever sent it.
PROXY_HEADERS = (b"forwarded", b"x-forwarded-for", b"x-real-ip", b"x-forwarded-host", b"via")


def is_loopback_address(host: str) -> bool:
    """Whether an address (or host name) is this machine's loopback."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


def header(scope: dict, name: bytes) -> str | None:
    """A request header's value, if sent."""
    return next((v.decode("latin-1") for n, v in scope.get("headers", []) if n == name), None)


def host_name(value: str) -> str:
    """The name in a Host header, without its port ("[::1]:7860" -> "::1")."""
    if value.startswith("["):
        return value[1 : value.find("]")]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def is_local_request(scope: dict) -> bool:
    """Whether the caller is on this machine: a loopback peer, addressed by a loopback name, not through a proxy.

    A proxy on this machine connects from loopback too; it shows by the headers it adds or by the public
    name it passes on as Host (nginx sends the upstream's or the site's name), so such a request is never local.
    """
    if not is_loopback_address((scope.get("client") or ("", 0))[0]):
        return False
    if any(name in PROXY_HEADERS for name, _ in scope.get("headers", [])):
        return False
    host = header(scope, b"host")
    return host is None or is_loopback_address(host_name(host))


def bearer_key(scope: dict) -> str | None:
    """The key sent as `Authorization: Bearer KEY`, if any."""
    scheme, _, key = (header(scope, b"authorization") or "").partition(" ")
    return key.strip() if scheme.lower() == "bearer" and key.strip() else None


def route_action(method: str, path: str) -> str:
    """The audit log's action for an API request: ask, search, upload, remove, correct, list, or api."""
    if path.endswith("/ask") or path.endswith("/chat/completions"):
        return "ask"
    if path.endswith("/search"):
        return "search"
    if path.startswith("/api/v1/documents"):
        return {"POST": "upload", "DELETE": "remove", "PATCH": "correct"}.get(method, "list")
    return "api"


def identify(access: Access, scope: dict, users) -> tuple[Principal | None, tuple[int, str] | None]:
    """Who makes this API request, and why it may not go on (status, message), or None when it may.

    With no key configured and no user added, a caller on this machine is the local admin (as before users
    existed); once a user exists every request needs a key.
    """
    if access.open_on_loopback and not users:
        if is_local_request(scope):
            return LOCAL_ADMIN, None
        return None, (403, (
            "未配置 API 密钥，接口只接受本机直接请求（经反向代理转发的请求不算本机）；"
            "请设置 POLICYQA_API_KEYS / POLICYQA_ADMIN_KEYS，或用 python app.py users add 添加用户"
        ))
    key = bearer_key(scope)
    if key is None:
        return None, (401, "缺少 API 密钥：请在请求头中加入 Authorization: Bearer <密钥>")
    principal = key_principal(key, access.admin_keys, access.read_keys, users)
    if principal is None:
        return Principal("unknown-key:" + key_fingerprint(key)[:12], "reader", frozenset(), "key"), (401, "API 密钥无效")
    if is_write(scope["method"], scope["path"]) and principal.role == "reader":
        return principal, (403, "此密钥只能读取；增删文档需要编辑或管理权限（POLICYQA_ADMIN_KEYS，或 users add --role editor）")
    return principal, None


def client_address(scope: dict) -> str:
    """The caller's address as the server sees it (the proxy's X-Forwarded-For where the proxy is trusted)."""
    return (scope.get("client") or ("", 0))[0]


def content_length(scope: dict) -> int | None:
    """The declared body size, if the client declared one."""
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def error_body(path: str, status: int, message: str) -> bytes:
    """An error in the style of the API it belongs to (OpenAI's for /v1)."""
    if path.startswith("/v1"):
        kind = "invalid_request_error" if status < 500 else "server_error"
        return json.dumps({"error": {"message": message, "type": kind, "code": status}}, ensure_ascii=False).encode()
    return json.dumps({"detail": message}, ensure_ascii=False).encode()


async def send_error(send, path: str, status: int, message: str) -> None:
    """Answer a request with a JSON error."""
    body = error_body(path, status, message)
    headers = [(b"content-type", b"application/json; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class ApiGuard:
    """Refuses API requests without the right key, and bodies over their limit, before any route runs.

    Each refusal is recorded in the gate's audit log; an API request let through carries its caller
    (`scope["state"]["principal"]`) for the routes, which check the knowledge bases it asks for.
    """

    def __init__(self, app, access: Access, gate) -> None:
        self.app = app
        self.access = access
        self.gate = gate

    def body_limit(self, scope) -> int | None:
        """The most bytes this request may send: API calls and uploads by their own limits, the page's calls by its."""
        if is_api(scope["path"]):
            return self.access.max_upload_bytes if is_write(scope["method"], scope["path"]) else self.access.max_json_bytes
        if scope["method"] in WRITE_METHODS and not is_page_upload(scope["path"]):
            return self.access.max_page_bytes
        return None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            CLIENT.set(client_address(scope))
        limit = self.body_limit(scope) if scope["type"] == "http" and scope["method"] != "OPTIONS" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        if is_api(scope["path"]):
            principal, denied = identify(self.access, scope, self.gate.users)
            if denied:
                who = Actor(principal or Principal("", "reader", frozenset(), "key"), client_address(scope))
                kb = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("kb", [""])[0][:100]
                self.gate.record(who, kb, route_action(scope["method"], scope["path"]), f"denied: {denied[1]}", scope["path"][:200])
                await send_error(send, scope["path"], *denied)
                return
            scope.setdefault("state", {})["principal"] = principal
        size = f"{limit // 1024} KB" if limit < 1 << 20 else f"{limit >> 20} MB"
        too_large = f"文件过大：上限 {size}" if is_write(scope["method"], scope["path"]) else f"请求体过大：上限 {size}"
        declared = content_length(scope)
        if declared is not None and declared > limit:
            await send_error(send, scope["path"], 413, too_large)
            return
        await self._call_counting(scope, receive, send, limit, too_large)

    async def _call_counting(self, scope, receive, send, limit: int, too_large: str) -> None:
        """Pass the request on; if its body grows past the limit, whatever the route answers becomes a 413."""
        received, overflow, answered = 0, False, False

        async def counting_receive():
            nonlocal received, overflow
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                overflow = True
                raise BodyTooLarge
            return message

        async def watching_send(message):
            nonlocal answered
            if not overflow:
                answered = answered or message["type"] == "http.response.start"
                await send(message)
            elif not answered:
                answered = True
                await send_error(send, scope["path"], 413, too_large)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge:
            if not answered:
                await send_error(send, scope["path"], 413, too_large)


class FailedAttempts:
    """Wrong passwords per caller: after `allowed` within `window` seconds, tries are refused until the oldest ages out."""

    def __init__(self, allowed: int = 5, window: float = 300.0, clock=time.monotonic) -> None:
        self.allowed, self.window, self.clock = allowed, window, clock
        self._failures: dict[str, deque] = {}
        self._lock = threading.Lock()

    def _recent(self, caller: str) -> deque:
        failures = self._failures.pop(caller, deque())
        while failures and self.clock() - failures[0] > self.window:
            failures.popleft()
        if failures:
            self._failures[caller] = failures  # a caller with no recent failure keeps no entry
        return failures

    def wait_for(self, caller: str) -> float:
        """Seconds before this caller may try again; 0 when it may now."""
        with self._lock:
            failures = self._recent(caller)
            return self.window - (self.clock() - failures[0]) if len(failures) >= self.allowed else 0.0

    def failed(self, caller: str) -> int:
        """Count a wrong password; the tries this caller has left in the window."""
        with self._lock:
            failures = self._recent(caller)
            failures.append(self.clock())
            self._failures[caller] = failures
            return max(self.allowed - len(failures), 0)

    def succeeded(self, caller: str) -> None:
        """Forget a caller's failures once it has the password."""
        with self._lock:
            self._failures.pop(caller, None)


class FrameRules:
    """Sets who may show the pages in a frame: /embed the listed origins, everything else this site only."""

    def __init__(self, app, embed_origins: list[str]) -> None:
        self.app = app
        self.embed_policy = " ".join(["frame-ancestors 'self'", *embed_origins]).encode()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        embed = scope["path"] == "/embed" or scope["path"].startswith("/embed/")
        policy = self.embed_policy if embed else b"frame-ancestors 'self'"

        async def framed_send(message):
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0].lower() != b"content-security-policy"]
                message = {**message, "headers": [*headers, (b"content-security-policy", policy)]}
            await send(message)

        await self.app(scope, receive, framed_send)
