"""An OpenAI-compatible chat endpoint, so chat front ends that speak that protocol can use the assistant.

The answer streamed or returned is always the checked one: with a language model configured, its
text is verified against the passages before any of it is sent, so a client never shows a quote
that was later found not to be in the documents.
"""

import json
import time
import uuid
from collections.abc import Iterator
from typing import Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from assistant import Answer, QuestionError
from assistant.answer import citation_dict
from assistant.gate import Gate
from web.api import actor_of

MODEL_ID = "policyqa"
STREAM_PIECE_CHARS = 24


class ChatMessage(BaseModel):
    """One message of an OpenAI chat request; content as a string or a list of text parts."""

    model_config = ConfigDict(extra="allow")

    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[dict] | None = None

    def text(self) -> str:
        """The message's plain text."""
        if isinstance(self.content, list):
            return "".join(str(part.get("text", "")) for part in self.content if part.get("type", "text") == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    """An OpenAI chat completion request; sampling options are accepted and ignored (answers are quoted)."""

    model_config = ConfigDict(extra="allow")

    model: str = MODEL_ID
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False


def message_content(answer: Answer) -> str:
    """The answer text followed by its source list, as a chat client shows it."""
    if not answer.citations:
        return answer.text
    return answer.text + "\n\n来源：\n" + "\n".join(c.reference() for c in answer.citations)


def question_and_history(request: ChatRequest) -> tuple[str, list[dict]]:
    """The last user message as the question and the earlier user/assistant turns as history."""
    turns = [m for m in request.messages if m.role in ("user", "assistant")]
    if not turns or turns[-1].role != "user":
        raise HTTPException(status_code=422, detail="最后一条消息应是用户的问题（role 为 user）")
    return turns[-1].text(), [{"role": m.role, "content": m.text()} for m in turns[:-1]]


def completion(answer: Answer, model: str) -> dict:
    """A chat.completion object; the citations also as data in `citations`."""
    content = message_content(answer)
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 0, "completion_tokens": len(content), "total_tokens": len(content)},
        "citations": [citation_dict(c) for c in answer.citations],
        "refused": answer.refused,
    }


def completion_chunks(answer: Answer, model: str) -> Iterator[str]:
    """The answer as server-sent chat.completion.chunk events, citations in the last one, then [DONE]."""
    base = {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion.chunk", "created": int(time.time()), "model": model}
    content = message_content(answer)
    deltas = [{"role": "assistant", "content": ""}] + [
        {"content": content[i : i + STREAM_PIECE_CHARS]} for i in range(0, len(content), STREAM_PIECE_CHARS)
    ]
    for delta in deltas:
        yield sse({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
    last = {"index": 0, "delta": {}, "finish_reason": "stop"}
    yield sse({**base, "choices": [last], "citations": [citation_dict(c) for c in answer.citations]})
    yield "data: [DONE]\n\n"


def sse(data: dict) -> str:
    """One server-sent event."""
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


def base_of_model(model: str) -> str | None:
    """The knowledge base a model name asks: `policyqa/NAME` that base, anything else every base the caller may read."""
    return model.split("/", 1)[1] if model.startswith(MODEL_ID + "/") else None


def openai_router(gate: Gate) -> APIRouter:
    """POST /v1/chat/completions and GET /v1/models."""
    router = APIRouter(prefix="/v1", tags=["openai"])

    @router.get("/models", summary="OpenAI 兼容：模型列表（policyqa 问全部可用知识库，policyqa/名称 问其中一个）")
    def models(http: Request) -> dict:
        names = [b["name"] for b in gate.knowledge_bases(actor_of(http))]
        return {"object": "list", "data": [
            {"id": model, "object": "model", "created": 0, "owned_by": "policyqa"}
            for model in [MODEL_ID, *(f"{MODEL_ID}/{n}" for n in names)]
        ]}

    @router.post("/chat/completions", summary="OpenAI 兼容：对话（可流式）")
    async def chat(request: ChatRequest, http: Request):
        question, history = question_and_history(request)
        actor = actor_of(http)
        try:
            answer = await run_in_threadpool(
                gate.ask, actor, question, base_of_model(request.model), history=history, suggest=False
            )
        except QuestionError as error:
            raise HTTPException(status_code=422, detail=str(error)) from error
        if request.stream:
            return StreamingResponse(completion_chunks(answer, request.model), media_type="text/event-stream")
        return completion(answer, request.model)

    return router
