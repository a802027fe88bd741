"""The optional language model: an OpenAI-compatible chat server through LangChain, held to the passages."""

import logging
from collections.abc import Iterator
from dataclasses import replace

from langchain_core.documents import Document
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from assistant.answer import Answer
from assistant.extractive import make_citation
from assistant.grounding import NOT_FOUND_PREFIX, ground_answer, quoted_in
from prompts import render_prompt

log = logging.getLogger(__name__)
UNAVAILABLE = "（语言模型暂不可用，以下为政策原文摘录。）"


def make_llm(settings) -> BaseChatModel | None:
    """The chat model the settings name, or None when no server is configured."""
    if not settings.llm_base_url:
        return None
    try:
        from langchain_openai import ChatOpenAI
    except ImportError as error:  # pragma: no cover - a dependency of the project
        raise RuntimeError("使用语言模型需要 langchain-openai：pip install langchain-openai") from error
    return ChatOpenAI(
        base_url=settings.llm_base_url,
        model=settings.llm_model or "default",
        api_key=settings.llm_api_key or "not-needed",
        timeout=settings.llm_timeout,
        max_retries=0,
        temperature=0.1,
    )


def numbered_passages(passages: list[Document]) -> str:
    """The passages as the prompt shows them: number, document, section, text."""
    return "\n\n".join(
        f"[{n}] 《{d.metadata['title']}》{d.metadata['section'] and ' › ' + d.metadata['section']}\n{d.page_content}"
        for n, d in enumerate(passages, start=1)
    )


def answer_messages(question: str, passages: list[Document]) -> list:
    """System rules and the user's question with the passages as data."""
    return [
        SystemMessage(render_prompt("answer")),
        HumanMessage(render_prompt("answer_user", question=question, passages=numbered_passages(passages))),
    ]


def grounded(question: str, text: str, passages: list[Document], evidence: float) -> Answer:
    """The model's text checked against its passages, as an answer value."""
    checked = ground_answer(text, passages)
    citations = tuple(make_citation(n, d, quoted_in(checked.text, n)) for n, d in enumerate(checked.cited, start=1))
    refused = not citations and checked.text.startswith(NOT_FOUND_PREFIX)
    return Answer(question, checked.text, refused, citations, (), evidence, warnings=checked.warnings)


def llm_answer(llm: BaseChatModel, question: str, passages: list[Document], evidence: float) -> Answer:
    """Ask the model and hold its answer to the passages."""
    reply = llm.invoke(answer_messages(question, passages))
    return grounded(question, str(reply.content), passages, evidence)


def llm_stream(llm: BaseChatModel, question: str, passages: list[Document], evidence: float) -> Iterator[str | Answer]:
    """The model's text as it arrives, then the checked answer."""
    parts: list[str] = []
    for chunk in llm.stream(answer_messages(question, passages)):
        piece = str(chunk.content)
        parts.append(piece)
        yield "".join(parts)
    yield grounded(question, "".join(parts), passages, evidence)


def with_notice(answer: Answer, error: Exception) -> Answer:
    """The extractive answer, saying that the model could not be used and why."""
    log.warning("语言模型调用失败，改用原文摘录：%s", error)
    reason = f"语言模型不可用（{type(error).__name__}），已改用原文摘录"
    return replace(answer, text=f"{UNAVAILABLE}\n\n{answer.text}", warnings=answer.warnings + (reason,))


def condense(llm: BaseChatModel, question: str, history: list[dict]) -> str:
    """A follow-up rewritten as a standalone question from the conversation."""
    shown = "\n".join(f"{'用户' if t.get('role') == 'user' else '助手'}：{t.get('content', '')}" for t in history[-6:])
    reply = llm.invoke([HumanMessage(render_prompt("condense", history=shown, question=question))])
    return str(reply.content).strip() or question

