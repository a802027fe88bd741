"""A document's lifecycle as its own text states it: when it takes effect, when it expires, what it repeals or amends.

Read from the sentences official documents use for this: 「自2024年3月1日起施行」, 「自印发之日起施行」,
「有效期5年」, 「有效期至2023年12月31日」, 「《…》（…〔2019〕5号）同时废止」, 「原《…》不再执行」, 「对《…》予以修订」.
Each reference names the repealed or amended document by its 文号 where the text gives one, else by its title.
"""

import json
import re
from datetime import date, timedelta

from ingest.structure import DOC_NUMBER

LIFECYCLE_FIELDS = ("effective_date", "expiry_date", "repeals", "amends", "status")
# Kept with a document: the dates and links it states, and a status stated outright (by a user).
STORED_LIFECYCLE_FIELDS = ("effective_date", "expiry_date", "repeals", "amends", "stated_status")
# What a correction of a stored document may change: those, and the issue date they are counted from.
CORRECTABLE_FIELDS = ("date", *STORED_LIFECYCLE_FIELDS)
# A document's status on a given day, computed from the dates and the links (or as stated).
STATUSES = {
    "in_force": "现行有效",
    "repealed": "已废止",
    "amended": "已修订",
    "expired": "已失效",
    "not_yet_effective": "尚未施行",
}
DATE = r"((?:19|20)\d{2})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日"
TAKES_EFFECT = re.compile(rf"自\s*{DATE}\s*(?:起|开始)?\s*(?:施行|执行|实施|生效|起施行)")
# 自印发之日起施行, 执行期限自发布之日起3个月, 执行期暂定为自政策发布之日起至…: in effect from the issue date.
EFFECTIVE_ON_ISSUE = re.compile(r"自[^，。；]{0,4}(?:印发|发布|公布|下发|发文|签发|颁布)之日起(?:施行|执行|实施|生效|至|\s*[\d一二两三四五六七八九十])")
# The document's own term, not a licence's: 有效期至…, 执行期暂定为自…起至…, 本通知执行至… (a full date).
PERIOD = r"(?:有效期|执行期|实施期|试行期)限?|(?:本|此)[^，。；]{0,8}?(?:执行|实施|施行|有效)"
EXPIRES_ON = re.compile(rf"(?:{PERIOD})(?:暂定)?(?:为)?(?:自[^，。；]{{0,30}}?)?(?:至|到)\s*{DATE}")
# 有效期至2020年底
EXPIRES_AT_YEAR_END = re.compile(r"(?:有效期|执行期|实施期)限?(?:暂定)?(?:为)?(?:自[^，。；]{0,30}?)?(?:至|到)\s*((?:19|20)\d{2})\s*年\s*(?:底|末)")
# 自2020年1月1日至3月31日，实行……: a preamble's period is the document's own.
OPENING_PERIOD = re.compile(rf"自\s*{DATE}\s*(?:起)?\s*(?:至|到)\s*(?:((?:19|20)\d{{2}})\s*年\s*)?(\d{{1,2}})\s*月\s*(\d{{1,2}})\s*日")
OPENING_CHARS = 300
CHINESE_DIGITS = {
    "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10, "十二": 12, "十八": 18,
}
VALID_FOR = re.compile(
    rf"(?:{PERIOD})(?:暂定)?(?:为)?(?:自[^，。；]{{0,12}}之日起)?\s*(\d{{1,2}}|十二|十八|[一二两三四五六七八九十])\s*(个月|年)"
)
SENTENCE = re.compile(r"[^。；！\n]+")
REFERENCE = re.compile(r"《([^《》]{2,100})》\s*(?:[（(]([^（）()]{0,60})[)）])?")
# The verbs that end a document: 废止 also covers 同时废止 and 予以废止; 失效 is said of another document.
REPEALS = re.compile(r"废止|不再执行|停止执行|同时失效|不再施行")
# An amendment is said of the documents named before it: 对《…》予以修订, 《…》第五条修改为, 修订如下.
AMENDS = re.compile(r"(?:予以|进行|作出?(?:如下|以下)?|部分条款的?)(?:修订|修改|修正)|(?:修订|修改|修正)(?:如下|为)")
PROVISIONAL = re.compile(r"试行|暂行")


def extract_lifecycle(text: str, issue_date: str) -> dict:
    """The lifecycle fields the text states (those it states): effective and expiry dates (ISO), the documents it repeals or amends (JSON)."""
    effective = effective_date(text, issue_date)
    repeals, amends = references(text)
    stated = {
        "effective_date": effective,
        "expiry_date": expiry_date(text, effective or issue_date),
        "repeals": json.dumps(repeals, ensure_ascii=False) if repeals else "",
        "amends": json.dumps(amends, ensure_ascii=False) if amends else "",
    }
    return {k: v for k, v in stated.items() if v}


def iso(year: str, month: str, day: str) -> str:
    """An ISO date from its parts ('' when they make no date)."""
    try:
        return date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return ""


def effective_date(text: str, issue_date: str) -> str:
    """The day the document takes effect: the date it names (自…起施行), its issue date (自印发之日起施行), else ''."""
    named = TAKES_EFFECT.search(text)
    if named:
        return iso(*named.groups())
    if EFFECTIVE_ON_ISSUE.search(text):
        return issue_date
    opening = OPENING_PERIOD.search(text[:OPENING_CHARS])
    return iso(*opening.groups()[:3]) if opening else ""


def expiry_date(text: str, start: str) -> str:
    """The last day the document is valid: 有效期至 a date, or 有效期N年 (N个月) counted from `start` ('' when unknown)."""
    until = EXPIRES_ON.search(text)
    if until:
        return iso(*until.groups())
    year_end = EXPIRES_AT_YEAR_END.search(text)
    if year_end:
        return f"{year_end.group(1)}-12-31"
    opening = OPENING_PERIOD.search(text[:OPENING_CHARS])
    if opening:
        return iso(opening.group(4) or opening.group(1), opening.group(5), opening.group(6))
    term = VALID_FOR.search(text)
    if not term or not start:
        return ""
    count = int(term.group(1)) if term.group(1).isdigit() else CHINESE_DIGITS[term.group(1)]
    months = count * (12 if term.group(2) == "年" else 1)
    begin = date.fromisoformat(start)
    year, month = divmod(begin.month - 1 + months, 12)
    end = date(begin.year + year, month + 1, min(begin.day, days_in_month(begin.year + year, month + 1)))
    return (end - timedelta(days=1)).isoformat()


def days_in_month(year: int, month: int) -> int:
    following = date(year + month // 12, month % 12 + 1, 1)
    return (following - timedelta(days=1)).day


def references(text: str) -> tuple[list[dict], list[dict]]:
    """The documents the text repeals and those it amends, each {"title", "doc_number"} (either may be '')."""
    repeals, amends = [], []
    for sentence in SENTENCE.findall(text):
        if "有效期" in sentence:
            continue
        verb = REPEALS.search(sentence) or AMENDS.search(sentence)
        if verb is None:
            continue
        target = repeals if REPEALS.search(sentence) else amends
        found = cited_documents(sentence[: verb.start()])
        target.extend(ref for ref in found if ref not in target)
    return repeals, [ref for ref in amends if ref not in repeals]


def cited_documents(sentence: str) -> list[dict]:
    """The documents a sentence names: each 《title》 with the 文号 in the brackets after it, and 文号 standing alone."""
    found, spans = [], []
    for match in REFERENCE.finditer(sentence):
        number = DOC_NUMBER.search(match.group(2) or "")
        found.append({"title": match.group(1).strip(), "doc_number": squeezed(number.group(0)) if number else ""})
        spans.append(match.span())
    for match in DOC_NUMBER.finditer(sentence):
        if not any(start <= match.start() < end for start, end in spans):
            found.append({"title": "", "doc_number": squeezed(match.group(0))})
    return found


def squeezed(number: str) -> str:
    """A 文号 without spaces."""
    return re.sub(r"\s+", "", number)


def normal_number(number: str) -> str:
    """A 文号 in one form for matching: brackets and spaces do not matter (鄂组发[2019]5号 = 鄂组发〔2019〕5号)."""
    return re.sub(r"[\s〔〕［］\[\]（）()]", "", number)


def is_provisional(title: str) -> bool:
    """Whether the title marks the document as provisional (试行, 暂行)."""
    return bool(PROVISIONAL.search(title))


def cited_number_spans(text: str) -> list[tuple[int, int]]:
    """Where the text names another document's 文号 in brackets after its title: not the document's own number."""
    return [(m.start(), m.end()) for m in REFERENCE.finditer(text) if m.group(2) and DOC_NUMBER.search(m.group(2))]


def is_valid_day(value: str) -> bool:
    """Whether a string is an ISO day (YYYY-MM-DD)."""
    try:
        date.fromisoformat(value)
    except (TypeError, ValueError):
        return False
    return len(value) == 10


def given_lifecycle(given: dict, with_issue_date: bool = False) -> dict:
    """The lifecycle fields a user gave, in stored form: ISO days, a status key, references as JSON.

    Raises ValueError saying what to write instead (`with_issue_date`: the issue date is checked and
    kept too, for a correction of a stored document). A status may be given by key or by its Chinese
    label (已废止); repeals and amends as a list or a string of 文号 or titles separated by ；, and
    an empty string clears a field.
    """
    fields = {}
    for name in ("effective_date", "expiry_date", *(("date",) if with_issue_date else ())):
        if name in given:
            value = str(given[name]).strip()
            if value and not is_valid_day(value):
                raise ValueError(f"{name} 应为 YYYY-MM-DD 格式的日期，如 2024-03-01，而不是「{value}」")
            fields[name] = value
    if "status" in given:
        fields["stated_status"] = status_key(str(given["status"]).strip())
    for name in ("repeals", "amends"):
        if name in given:
            refs = given_references(given[name])
            fields[name] = json.dumps(refs, ensure_ascii=False) if refs else ""
    return fields


def status_key(value: str) -> str:
    """A status by its key or its Chinese label ('' clears a stated status)."""
    if not value or value in STATUSES:
        return value
    labels = {label: key for key, label in STATUSES.items()}
    if value in labels:
        return labels[value]
    raise ValueError(f"status 应为 {'、'.join(STATUSES)} 之一（或 {'、'.join(STATUSES.values())}），而不是「{value}」")


def given_references(value) -> list[dict]:
    """References a user gave: a list of 文号/titles/{"title", "doc_number"}, a JSON list, or a string of them."""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = json.loads(text) if text.startswith("[") else re.split(r"[；;\n]+", text)
        except ValueError:
            value = re.split(r"[；;\n]+", text)
    refs = []
    for item in value if isinstance(value, list) else [value]:
        ref = reference_of(item)
        if ref and ref not in refs:
            refs.append(ref)
    return refs


def reference_of(item) -> dict | None:
    """One reference from a user's item: a dict with title and/or doc_number, a 文号, or a title."""
    if isinstance(item, dict):
        ref = {"title": str(item.get("title", "")).strip().strip("《》"), "doc_number": squeezed(str(item.get("doc_number", "")))}
        return ref if ref["title"] or ref["doc_number"] else None
    text = str(item).strip()
    if not text:
        return None
    number = DOC_NUMBER.fullmatch(text) or re.fullmatch(r".*[〔［\[（(]\s*\d{4}\s*[〕］\])）]\s*\d{1,4}\s*号", text)
    return {"title": "", "doc_number": squeezed(text)} if number else {"title": text.strip("《》"), "doc_number": ""}
