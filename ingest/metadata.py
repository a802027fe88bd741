"""Document metadata read from the text itself: title, issuing body, date and document number."""

import json
import re
from dataclasses import replace
from pathlib import Path

from ingest.lifecycle import LIFECYCLE_FIELDS, cited_number_spans, given_lifecycle
from ingest.loaders import SIDECAR_SUFFIX, IngestError
from ingest.structure import DOC_NUMBER, FULL_DATE, Block

SIDECAR_FIELDS = ("title", "issuer", "date", "doc_number", *LIFECYCLE_FIELDS)

DOCUMENT_TYPES = (
    "意见|通知|办法|规定|条例|决定|方案|规划|细则|纲要|指引|指南|法|公告|通告|批复|措施|规则|制度|准则|要点|报告"
)
TITLE_IN_QUOTES = re.compile(rf"《([^《》]{{4,100}}(?:{DOCUMENT_TYPES})(?:（[^）]*）)?)》")
TITLE_SEARCH_BLOCKS = 5
# A document's own name stands near the start of a block; a 《…》 deep inside a paragraph names another.
TITLE_SEARCH_CHARS = 150
# A 《…》 is the document's own name only when it opens the block or is what the text issues or
# publishes (关于印发《…》的通知, 全会审议通过《…》); after 根据, 贯彻落实 and the like it names a work cited.
ISSUED_BY_NOTICE = re.compile(r"(?:印发|转发|颁布|公布|通过)$")
# A flattened page starts with its headline, then a space, then the text.
LEADING_TITLE = re.compile(r"^([^\s。！？；，,]{6,40}?)[ \u3000\u00a0]+\S")
# A longer headline names the work it is about: 关于《…》的政策解读, 国务院办公厅转发……《…》的通知.
HEADLINE_ABOUT_WORK = re.compile(
    rf"^([^\s。！？；，,《》]{{0,60}}《[^《》]{{4,100}}》[^\s。！？；，,《》]{{0,30}}(?:{DOCUMENT_TYPES}|解读|说明))(?:[ \u3000\u00a0]|$)"
)


def extract_title(blocks: list[Block], fallback: str) -> str:
    """The document's title: a flattened page's headline, the 《…》 it names itself by, the first heading, or `fallback`."""
    leading = LEADING_TITLE.match(blocks[0].text) if blocks else None
    if leading and blocks[0].kind != "heading":
        return leading.group(1)
    return own_name_in_quotes(blocks) or first_heading(blocks) or fallback


def own_name_in_quotes(blocks: list[Block]) -> str | None:
    """A 《…》 that opens one of the first blocks or that the text issues, else a headline about one (关于《…》的解读)."""
    for block in blocks[:TITLE_SEARCH_BLOCKS]:
        for match in TITLE_IN_QUOTES.finditer(block.text[:TITLE_SEARCH_CHARS]):
            before = block.text[: match.start()].lstrip("#").strip()
            if not before or ISSUED_BY_NOTICE.search(before):
                return match.group(1)
    for block in blocks[:TITLE_SEARCH_BLOCKS]:
        headline = HEADLINE_ABOUT_WORK.match(block.text.lstrip("#").strip())
        if headline:
            return headline.group(1)
    return None


def first_heading(blocks: list[Block]) -> str | None:
    """The first heading among the first three blocks, with a ——subtitle line that follows it."""
    for index, block in enumerate(blocks[:3]):
        if block.kind == "heading":
            title = block.text.lstrip("#").strip()
            following = blocks[index + 1] if index + 1 < len(blocks) else None
            if following is not None and following.text.startswith("——"):
                title += following.text
            return title
    return None


ISSUER_IN_TITLE = re.compile(
    r"^((?:[\u4e00-\u9fa5]{2,20}?(?:委员会|人民政府|办公厅|办公室|委|厅|局|部|院|署|政府|中心|总局|协会)[、\s]*)+)关于"
)
SIGNATURE_LINE = re.compile(r"^(?:[\u4e00-\u9fa5]{2,20}(?:委员会|人民政府|办公厅|办公室|委|厅|局|部|院|署|政府|中心|总局)[\s\u3000]*)+$")
SIGNATURE_BLOCKS = 6
FIELDS = ("issuer", "date", "doc_number")


def extract_metadata(blocks: list[Block], title: str) -> dict:
    """What the text says of itself: issuing body, date and document number (文号), each '' when not stated."""
    head, tail = blocks[:8], blocks[-SIGNATURE_BLOCKS:]
    number = next((n for b in head + tail for n in own_numbers(b.text)), "")
    return {"issuer": issuer_of(title, tail), "date": issue_date(head, tail), "doc_number": re.sub(r"\s+", "", number)}


def own_numbers(text: str):
    """The 文号 in a block that are not another document's, named in brackets after its title (《…》（…〔2019〕5号）)."""
    cited = cited_number_spans(text)
    for match in DOC_NUMBER.finditer(text):
        if not any(start <= match.start() < end for start, end in cited):
            yield match.group(0)


def issuer_of(title: str, tail: list[Block]) -> str:
    """The issuing body: the signature line above the closing date, else the organ the title names before 关于."""
    for index, block in enumerate(tail):
        if SIGNATURE_LINE.match(block.text) and index + 1 < len(tail) and FULL_DATE.fullmatch(tail[index + 1].text.strip()):
            return re.sub(r"\s+", " ", block.text).strip()
    named = ISSUER_IN_TITLE.match(title)
    return named.group(1).strip("、 ") if named else ""


# A date in a period or a deadline (至2020年6月30日, 2020年6月30日前到期) is not the day the document was issued.
DEADLINE_BEFORE = re.compile(r"(?:至|到|截至|截止|于|自|从|在)\s*$")
DEADLINE_AFTER = re.compile(r"\s*(?:前|止|起|之前|以前|以后|后|到期|开始|至|到|24时|零时|\d{1,2}时)")


def issue_date(head: list[Block], tail: list[Block]) -> str:
    """The date the document was issued (ISO): a date line at its end, else a full date near its start."""
    for block in reversed(tail):
        match = FULL_DATE.fullmatch(block.text.strip())
        if match:
            return iso_date(match)
    for block in head:
        for match in FULL_DATE.finditer(block.text):
            if not (DEADLINE_BEFORE.search(block.text[: match.start()]) or DEADLINE_AFTER.match(block.text[match.end() :])):
                return iso_date(match)
    return ""


def iso_date(match: re.Match) -> str:
    year, month, day = (int(g) for g in match.groups())
    return f"{year:04d}-{month:02d}-{day:02d}"


def given_metadata(metadata: dict | None) -> dict:
    """Metadata a user gave (title, issuer, date, doc_number and the lifecycle fields), spaces trimmed, blank
    fields dropped, lifecycle fields checked (IngestError naming what to write instead)."""
    given = {k: v.strip() for k, v in (metadata or {}).items() if isinstance(v, str) and v.strip()}
    lists = {k: v for k, v in (metadata or {}).items() if k in ("repeals", "amends") and isinstance(v, list) and v}
    try:
        return {**given, **given_lifecycle({**given, **lists})}
    except ValueError as error:
        raise IngestError(str(error)) from error


def sidecar_metadata(path: Path) -> dict:
    """Metadata a user gave for a file in `<file>.meta.json` beside it (title, issuer, date, doc_number)."""
    sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
    if not sidecar.is_file():
        return {}
    try:
        data = json.loads(sidecar.read_text(encoding="utf-8"))
    except (ValueError, OSError) as error:
        raise IngestError(f"{sidecar}: 元数据文件不是合法的 JSON（{error}），请修正后再导入") from error
    if not isinstance(data, dict):
        raise IngestError(f"{sidecar}: 元数据文件应是一个 JSON 对象，如 {{\"issuer\": \"某某厅\"}}")
    return {k: v if isinstance(v, list) else str(v) for k, v in data.items() if k in SIDECAR_FIELDS and v}


def with_metadata(articles: list, given: dict) -> list:
    """Articles with the user's metadata laid over what their text says (a given title only for a single article)."""
    given = given_metadata(given)
    if not given:
        return articles
    fields = {k: v for k, v in given.items() if k != "title" or len(articles) == 1}
    result = []
    for document, passages in articles:
        title = fields.get("title", document.title)
        meta = {**document.metadata, **{k: v for k, v in fields.items() if k != "title"}}
        result.append((replace(document, title=title, metadata=meta), [replace(p, title=title) for p in passages]))
    return result
