"""Answers rendered for the chat page: escaped HTML, citations expandable under the answer."""

import html
from pathlib import Path

from assistant.answer import Answer, Citation


def highlight_quotes(citation: Citation) -> str:
    """The passage text, escaped, with the quoted sentences marked."""
    text = html.escape(citation.text)
    for quote in citation.quotes:
        escaped = html.escape(quote)
        text = text.replace(escaped, f"<mark>{escaped}</mark>", 1)
    return text


def document_facts(citation: Citation) -> str:
    """The issuing body, date and document number of the cited document, where known."""
    facts = [
        f"{label}：{html.escape(value)}"
        for label, value in (("发文机关", citation.issuer), ("日期", citation.date), ("文号", citation.doc_number))
        if value
    ]
    return f"<p><small>{' · '.join(facts)}</small></p>" if facts else ""


def render_citation(citation: Citation, open_: bool = False) -> str:
    """One citation as an expandable block: document, section, the passage with its quote marked."""
    heading = f"[{citation.n}] 《{html.escape(citation.title)}》"
    section = html.escape(citation.section) or "正文"
    return (
        f"<details{' open' if open_ else ''}><summary>{heading}</summary>"
        f"<p><b>章节：</b>{section}</p>"
        f"{document_facts(citation)}"
        f"<blockquote>{highlight_quotes(citation)}</blockquote>"
        f"<p><small>位置：第 {citation.start}–{citation.end} 字 · 来源文件：{html.escape(Path(citation.source).name)}</small></p>"
        "</details>"
    )


def render_answer(answer: Answer) -> str:
    """The whole chat message for an answer: its text, then its citations or the possibly related passages."""
    body = html.escape(answer.text).replace("\n", "<br>")
    if answer.citations:
        blocks = "".join(render_citation(c, open_=(c.n == 1)) for c in answer.citations)
        return f"{body}<br><br><b>引用出处</b>{blocks}"
    if answer.related:
        body = html.escape(answer.text.split("\n\n", 1)[0])
        blocks = "".join(render_citation(c) for c in answer.related)
        return f"{body}<br><br><b>可能相关（仅供参考，并非对问题的回答）</b>{blocks}"
    return body
