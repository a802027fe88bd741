"""Answers rendered for the chat page: escaped HTML, [n] markers linked to expandable citations, and exports."""

import re
from collections.abc import Mapping
from pathlib import Path

from langchain_core.documents import Document

from assistant.answer import Answer, Citation
from export.markdown import escape, own

CONTEXT_CHARS = 400
# The chat renders Markdown (and $$ maths) around our HTML: every character that could start markup,
# a link, an image or an autolink becomes a character reference, so document text shows as written.
AS_TEXT = str.maketrans({c: f"&#{ord(c)};" for c in "&<>\"'\\`*_[]()!~#|$:"})
MARKER = re.compile(r"&#91;(\d+)&#93;")


def as_text(text: str) -> str:
    """Text that shows as written in HTML and in Markdown: never markup, links or images."""
    return str(text).translate(AS_TEXT)


def escaped_lines(text: str) -> str:
    """Text shown as written, its line breaks kept."""
    return as_text(text).replace("\n", "<br>")


def cite_id(turn: int, n: int) -> str:
    """The page-wide id of citation n under the answer of one turn."""
    return f"cite-{turn}-{n}"


def link_markers(body: str, turn: int, numbers: set[int]) -> str:
    """Answer text shown as written (see as_text) with each [n] that names a citation made a link to it."""

    def link(match: re.Match) -> str:
        n = int(match.group(1))
        if n not in numbers:
            return match.group(0)
        return f'<a class="cite-ref" href="#{cite_id(turn, n)}" title="查看出处 {n}">&#91;{n}&#93;</a>'

    return MARKER.sub(link, body)


def highlight_quotes(citation: Citation) -> str:
    """The passage text, escaped, with the quoted sentences marked."""
    text = as_text(citation.text)
    for quote in citation.quotes:
        escaped = as_text(quote)
        text = text.replace(escaped, f"<mark>{escaped}</mark>", 1)
    return text.replace("\n", "<br>")


def passage_span(document_text: str, citation: Citation) -> tuple[int, int] | None:
    """Where the cited passage stands in its document: its offsets, or where its text is found."""
    if document_text[citation.start : citation.end] == citation.text:
        return citation.start, citation.end
    found = document_text.find(citation.text)
    return (found, found + len(citation.text)) if found >= 0 else None


def surrounding_text(document_text: str, citation: Citation, radius: int = CONTEXT_CHARS) -> str:
    """The document around the cited passage, escaped, with the passage itself marked."""
    span = passage_span(document_text, citation)
    if span is None:
        return ""
    start, end = span
    before_from, after_to = max(0, start - radius), min(len(document_text), end + radius)
    return (
        ("……" if before_from else "")
        + escaped_lines(document_text[before_from:start])
        + f"<mark>{escaped_lines(document_text[start:end])}</mark>"
        + escaped_lines(document_text[end:after_to])
        + ("……" if after_to < len(document_text) else "")
    )


def document_facts(citation: Citation) -> str:
    """The issuing body, date and document number of the cited document, where known, and its status."""
    facts = [as_text(fact) for fact in citation.facts(labelled=True)]
    if citation.status_label:
        dates = "，".join(
            f"{label}{as_text(value)}" for label, value in (("施行：", citation.effective_date), ("有效期至：", citation.expiry_date)) if value
        )
        marked = citation.status_label if citation.status == "in_force" else f"<b>{as_text(citation.status_label)}</b>"
        facts.append(f'<span class="doc-status status-{as_text(citation.status)}">效力：{marked}{f"（{dates}）" if dates else ""}</span>')
    return f"<p><small>{' · '.join(facts)}</small></p>" if facts else ""


def render_citation(citation: Citation, turn: int = 0, context: str = "", open_: bool = False, page_link=None) -> str:
    """One citation as an expandable block: document, section, the passage with its quote marked, its surroundings."""
    heading = f"[{citation.n}] 《{as_text(citation.title)}》"
    section = as_text(citation.section) or "正文"
    around = (
        f"<details><summary>阅读原文上下文（第 {citation.start}–{citation.end} 字）</summary>"
        f"<blockquote>{context}</blockquote></details>"
        if context
        else ""
    )
    return (
        f'<details id="{cite_id(turn, citation.n)}" class="citation"{" open" if open_ else ""}>'
        f"<summary>{heading}</summary>"
        f"<p><b>章节：</b>{section}</p>"
        f"{document_facts(citation)}"
        f"<blockquote>{highlight_quotes(citation)}</blockquote>"
        f"{around}"
        f"{source_page(citation, page_link)}"
        f"<p><small>来源文件：{as_text(Path(citation.source).name)}</small></p>"
        "</details>"
    )


def source_page(citation: Citation, page_link) -> str:
    """「查看原文页」: the page of the source file the quoted words stand on, the passage boxed (PDF, OFD, scans);
    `page_link(citation)` gives its address (web.page_links), none where the page cannot fetch one."""
    if not citation.page or page_link is None:
        return ""
    return (
        f'<details class="source-page"><summary>查看原文页（第 {citation.page} 页）</summary>'
        f'<img loading="lazy" src="{page_link(citation)}" alt="原文第 {citation.page} 页，引文已框出" '
        'style="max-width:100%;border:1px solid #ccc"></details>'
    )


def render_answer(answer: Answer, turn: int = 0, texts: Mapping[str, str] | None = None, page_link=None) -> str:
    """The whole chat message for an answer: its text, then its citations or the possibly related passages.

    `texts` maps document ids to their stored text, for reading each passage in its surroundings;
    `page_link(citation)` the address of a cited page's image (「查看原文页」).
    """
    texts = texts or {}

    def block(citation: Citation, open_: bool = False) -> str:
        context = surrounding_text(texts[citation.doc_id], citation) if citation.doc_id in texts else ""
        return render_citation(citation, turn, context, open_, page_link)

    if answer.citations:
        body = link_markers(escaped_lines(answer.text), turn, {c.n for c in answer.citations})
        notes = "".join(f"<br><small>⚠️ {as_text(w)}</small>" for w in answer.warnings)
        return f"{body}{notes}<br><br><b>引用出处</b>{''.join(block(c) for c in answer.citations)}"
    if answer.related:
        body = as_text(answer.text.split("\n\n", 1)[0])
        blocks = "".join(block(c) for c in answer.related)
        return f"{body}<br><br><b>可能相关（仅供参考，并非对问题的回答）</b>{blocks}"
    return escaped_lines(answer.text)


def rank_label(rank) -> str:
    """A 0-based retriever rank as the reader counts it, or a dash when that retriever missed the passage."""
    return "—" if rank is None else str(int(rank) + 1)


def render_evidence(documents: list[Document]) -> str:
    """The retrieved passages with their fused score and each retriever's rank, as escaped HTML cards."""
    if not documents:
        return '<p class="evidence-empty">（提问后在此显示检索到的段落及其得分）</p>'
    cards = "".join(
        '<div class="evidence-item">'
        f"<b>#{i}</b> 融合得分 {d.metadata.get('score', 0):.4f} · 词法第 {rank_label(d.metadata.get('lexical_rank'))} 名"
        f" · 向量第 {rank_label(d.metadata.get('dense_rank'))} 名<br>"
        f"<small>《{as_text(str(d.metadata.get('title', '')))}》{as_text(str(d.metadata.get('section', '')))}</small><br>"
        f"{as_text(d.page_content[:200])}{'…' if len(d.page_content) > 200 else ''}"
        "</div>"
        for i, d in enumerate(documents, 1)
    )
    return f'<div class="evidence">{cards}</div>'


def citation_markdown(citation: Citation) -> str:
    """One citation for a Markdown export: where it is from, then the passage as a quote."""
    quoted = "\n".join(f"> {escape(line)}" for line in citation.text.splitlines() or [""])
    return f"{own(citation.reference())}\n\n{quoted}\n"


def conversation_markdown(turns: list[tuple[str, Answer | str]]) -> str:
    """A conversation as Markdown: each question, its answer, and the answer's citations."""
    parts = ["# PolicyQA 政策问答记录\n"]
    for i, (question, answer) in enumerate(turns, 1):
        parts.append(f"## 问题 {i}：{escape(question)}\n")
        if isinstance(answer, Answer):
            parts.append(own(answer.text) + "\n")
            if answer.citations:
                parts.append("**引用出处**\n\n" + "\n".join(citation_markdown(c) for c in answer.citations))
        else:
            parts.append(f"{escape(answer)}\n")
    return "\n".join(parts)
