"""The one HTTP server: REST API, OpenAI-compatible API and the web pages, all over one assistant service."""

import gradio as gr
from fastapi import FastAPI

from assistant import AssistantService
from settings import Settings


def create_server(service: AssistantService, settings: Settings) -> FastAPI:
    """The FastAPI application serving the APIs under /api/v1 and /v1, the chat at / and /embed."""
    from web.ui import build_demo, launch_options

    from web.api import health_router

    app = FastAPI(title="PolicyQA 政策问答助手 API", version="1")
    app.include_router(health_router(service, settings))
    logins = settings.logins() or None
    gr.mount_gradio_app(app, build_demo(service, settings), path="/", auth=logins, **launch_options())
    return app
