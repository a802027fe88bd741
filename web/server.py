"""The one HTTP server: REST API, OpenAI-compatible API and the web pages, all over one assistant service."""

import json

import gradio as gr
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.exceptions import HTTPException

from assistant import AssistantService
from assistant.access import AccessDenied
from assistant.bases import BaseNameError, UnknownBase
from settings import Settings
from vectorstore.chroma import StoreError, StoreWriteError
from web.guard import Access, ApiGuard, FrameRules, error_body


# The page sends the whole conversation shown with each question (4-14 KB an answer): room for some 150 turns.
PAGE_BODY_FACTOR = 8


def access_of(settings: Settings) -> Access:
    """The API keys and size limits in these settings."""
    return Access(
        read_keys=tuple(settings.listed(settings.api_keys)),
        admin_keys=tuple(settings.listed(settings.admin_keys)),
        max_json_bytes=settings.max_request_kb * 1024,
        max_upload_bytes=settings.max_upload_mb * 1024 * 1024,
        max_page_bytes=settings.max_request_kb * 1024 * PAGE_BODY_FACTOR,
    )


def validation_message(error: RequestValidationError) -> str:
    """A malformed request's problems in one line: where and what."""
    problems = [f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in error.errors()]
    return "请求格式有误：" + "；".join(problems[:5])


def add_error_handlers(app: FastAPI) -> None:
    """Errors as JSON; in OpenAI's shape on /v1 so its clients can read them."""

    async def http_error(request: Request, error: HTTPException):
        detail = error.detail if isinstance(error.detail, str) else str(error.detail)
        return error_response(request, error.status_code, detail, getattr(error, "headers", None))

    async def invalid_request(request: Request, error: RequestValidationError):
        return error_response(request, 422, validation_message(error))

    async def store_error(request: Request, error: StoreError):
        return error_response(request, 507 if isinstance(error, StoreWriteError) else 503, str(error))

    async def denied(request: Request, error: AccessDenied):
        return error_response(request, 403, f"拒绝访问：{error}")

    async def unknown_base(request: Request, error: UnknownBase):
        return error_response(request, 404, f"没有知识库 {error.args[0]}")

    async def bad_base_name(request: Request, error: BaseNameError):
        return error_response(request, 422, str(error))

    async def undecodable(request: Request, error: UnicodeError):
        return error_response(request, 422, "请求中含有无法识别的字符（如孤立的 UTF-16 代理项 \\ud800）：请去掉后重试")

    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(UnicodeError, undecodable)
    app.add_exception_handler(AccessDenied, denied)
    app.add_exception_handler(UnknownBase, unknown_base)
    app.add_exception_handler(BaseNameError, bad_base_name)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(StoreError, store_error)


def error_response(request: Request, status: int, message: str, headers: dict | None = None) -> JSONResponse:
    """A JSON error response in the shape of the API the request went to."""
    return JSONResponse(content=json.loads(error_body(request.url.path, status, message)), status_code=status, headers=headers)


def create_server(service: AssistantService, settings: Settings, gate=None) -> FastAPI:
    """The FastAPI application serving the APIs under /api/v1 and /v1, the chat at / and /embed.

    `gate` holds the installation's knowledge bases, users and audit log; without one, a gate is opened
    whose base `default` is `service`."""
    from web.api import api_router, gate_around, health_router, page_images_router
    from web.openai_api import openai_router

    app = FastAPI(
        title="PolicyQA 政策问答助手 API",
        version="1",
        description="依据知识库中的政策文件作答并逐条注明出处。/api/v1 与 /v1 需 `Authorization: Bearer <密钥>`。",
    )
    gate = gate or gate_around(service)
    add_error_handlers(app)
    app.include_router(health_router(service, settings))
    app.include_router(api_router(gate, settings))
    app.include_router(page_images_router(gate, settings))
    app.include_router(openai_router(gate))

    @app.get("/embed", include_in_schema=False)
    def embed_without_slash(request: Request) -> RedirectResponse:
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(f"embed/{query}", status_code=307)  # relative: right behind a proxy that adds a prefix too

    mount_pages(app, gate, service, settings)
    app.add_middleware(ApiGuard, access=access_of(settings), gate=gate)
    app.add_middleware(FrameRules, embed_origins=settings.listed(settings.embed_origins))
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.listed(settings.cors_origins),
        allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type"],
    )
    return app


def mount_pages(app: FastAPI, gate, service: AssistantService, settings: Settings) -> None:
    """The pages: `/` and `/embed` over the base `default`, `/kb/NAME/` over each other base registered now."""
    from assistant.bases import DEFAULT
    from web.pages import may_manage_page, page_login, page_recorder
    from web.ui import build_demo, build_embed, launch_options

    roles = (
        (lambda kb: {"may_manage": may_manage_page(gate, kb), "record": page_recorder(gate, kb), "gate": gate, "kb": kb})
        if gate.users else None
    )
    record = page_recorder(gate, DEFAULT)
    login = page_login(gate, settings, DEFAULT)
    titles = gate.bases.titles()
    for name in gate.bases.names():
        if name == DEFAULT:
            continue
        app.add_api_route(f"/kb/{name}", redirect_to(f"{name}/"), include_in_schema=False)
        page = build_demo(gate.bases.service(name), settings, roles(name) if roles else None, titles.get(name, name))
        gr.mount_gradio_app(app, page, path=f"/kb/{name}", auth=page_login(gate, settings, name), **launch_options(settings))
    gr.mount_gradio_app(app, build_embed(service, settings, record), path="/embed", auth=login, **launch_options(settings))
    demo = build_demo(service, settings, roles(DEFAULT) if roles else None, titles.get(DEFAULT, "") if len(titles) > 1 else "")
    gr.mount_gradio_app(app, demo, path="/", auth=login, **launch_options(settings))


def redirect_to(target: str):
    """A route answering with a redirect to `target` (relative, so right behind a proxy that adds a prefix)."""

    def redirect() -> RedirectResponse:
        return RedirectResponse(target, status_code=307)

    return redirect
