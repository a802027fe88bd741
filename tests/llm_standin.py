"""A small OpenAI-compatible chat server for tests: scripted replies over real HTTP, plain or streamed."""

import asyncio
import json
import threading
import time
from collections import deque

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from conftest import free_port

DEFAULT_REPLY = "所提供的政策文件中未找到相关规定。"


class StandInChatServer:
    """Answers /v1/chat/completions with the next scripted reply, after an optional delay."""

    def __init__(self) -> None:
        self.replies: deque[str] = deque()
        self.requests: list[dict] = []
        self.delay = 0.0
        self.held = threading.Event()  # while set, requests wait unanswered (a model that never replies)
        self.fail_with: int | None = None
        self.port = free_port()
        self.app = FastAPI()
        self.app.post("/v1/chat/completions")(self.complete)
        self._server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> "StandInChatServer":
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    async def complete(self, request: Request):
        body = await request.json()
        self.requests.append(body)
        # Take this request's reply (and its failure) on arrival: a request the client has already
        # given up on must not wake later and take the reply scripted for the next test.
        reply = self.replies.popleft() if self.replies else DEFAULT_REPLY
        fail_with, delay = self.fail_with, self.delay
        if delay:
            await asyncio.sleep(delay)
        while self.held.is_set():
            await asyncio.sleep(0.05)
        if fail_with:
            return JSONResponse({"error": {"message": "model crashed", "type": "server_error"}}, status_code=fail_with)
        if body.get("stream"):
            return StreamingResponse(self._chunks(reply, body.get("model", "standin")), media_type="text/event-stream")
        return JSONResponse(
            {
                "id": "chatcmpl-standin",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "standin"),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
        )

    @staticmethod
    def _chunks(reply: str, model: str):
        for start in range(0, len(reply), 8):
            delta = {"content": reply[start : start + 8]}
            yield "data: " + json.dumps(chunk(model, delta, None), ensure_ascii=False) + "\n\n"
        yield "data: " + json.dumps(chunk(model, {}, "stop")) + "\n\n"
        yield "data: [DONE]\n\n"


def chunk(model: str, delta: dict, finish: str | None) -> dict:
    return {
        "id": "chatcmpl-standin",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
