"""What kind of question a cadre asks, and the one-line answer a quoted provision gives to it."""

import re

MAX_QUESTION_CHARS = 2000
FILTER_FIELDS = ("doc_id", "title", "issuer", "date", "doc_number", "source", "kind")
# Control characters, and lone UTF-16 surrogates (JSON may carry "\ud800"; no text can be encoded with one).
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")

YES_NO = re.compile(r"能否|可否|是否|能不能|可不可以|是不是|有没有|会不会|可以.{0,20}吗|能.{0,20}吗|吗[？?]?\s*$")
ASKS_PERMISSION = re.compile(r"能否|可否|能不能|可不可以|可以.{0,20}吗|能.{0,20}吗|是否可以|是否能")
HOW_MANY = re.compile(r"多少|几[名个条项年次天人类批家场月日号]|几$|比例|多长|多久|哪天|哪一天|何时|什么时候|哪年|几月")
LISTING = re.compile(r"有哪些|哪些|包括什么|包括哪些|主要内容|有什么措施|什么措施|哪几")
FOLLOW_UP = re.compile(r"^(?:那|那么|那如果|那对|这条|这个|这项|该|此|还有|另外|同样)|呢[？?]?\s*$")

PERMITS = re.compile(r"(?<![不未])(?:可以|可|准予|允许|能够)")
FORBIDS = re.compile(r"不得|不能|不准|严禁|禁止|不允许|不可以|不可")
CHINESE_NUMBER = "〇零一二两三四五六七八九十百千万"
QUANTITY = re.compile(
    rf"(?:\d+(?:\.\d+)?|[{CHINESE_NUMBER}]+分之[{CHINESE_NUMBER}]+|[{CHINESE_NUMBER}]{{1,6}})"
    r"(?:%|％|万余|余|多)?(?:万|亿)?(?:元|名|人|条|项|个|天|年|月|日|场|家|类|次|倍|批|所|届|号|周|小时|分钟|岁)?"
)
FULL_OR_DAY_DATE = re.compile(r"(?:\d{4}年)?\d{1,2}月\d{1,2}日")
WHEN = re.compile(r"哪天|哪一天|何时|什么时候|哪年|几月|几号|日期")
CLAUSE_SPLIT = re.compile(r"[，,；;。]")
# A provision's own numbering (第五条, （三）, 1.) is where it stands, not what it says: never a lead.
NUMBERING = re.compile(
    rf"第[{CHINESE_NUMBER}\d]+[条款项章节编部]|(?:^|(?<=[\n：:。；]))\s*[（(]?[{CHINESE_NUMBER}\d]{{1,3}}[)）、.．]"
)
NEAR = 12
# People are counted in 名 or 人 alike: 「多少人被提拔」 is answered by 「235名干部」.
PEOPLE = ("名", "人")
# What a question asks for, as far as its wording says. A number, a date, a place or contact, or a body
# is a fact of its own kind: a question asking for one is not answered by what answers another.
FACT_KINDS = (
    ("when", WHEN),
    ("how_many", HOW_MANY),
    ("where", re.compile(r"哪里|哪儿|[什哪][么些个]地方|(?<!如)何处|地址|电话|热线|联系方式|网址|窗口")),
    ("who", re.compile(r"谁|哪个部门|哪些部门|哪个单位|哪些单位|什么部门|什么机构|哪个机构")),
)


LEADING_LINK = re.compile(r"^(?:那么|那如果|那|还有|另外|同样)")
TRAILING_LINK = re.compile(r"呢(?=[？?]?\s*$)")


def fact_kind(question: str) -> str | None:
    """The kind of fact a question asks for (when, how_many, where, who), or None when it asks for none in particular."""
    return next((kind for kind, pattern in FACT_KINDS if pattern.search(question)), None)


def without_links(question: str) -> str:
    """A follow-up without the words that tie it to the previous question (那……呢)."""
    return TRAILING_LINK.sub("", LEADING_LINK.sub("", question.strip()))


def is_follow_up(question: str) -> bool:
    """True for a question that leans on the one before it (那……呢, 这条……)."""
    return bool(FOLLOW_UP.search(question.strip()))


def lead_line(question: str, quote: str, terms: tuple[str, ...]) -> str | None:
    """The one-line answer the quote itself states, for yes/no and how-many questions; None when it states none."""
    if HOW_MANY.search(question):
        return quantity_answer(question, quote, terms)
    if YES_NO.search(question):
        return yes_no_answer(question, quote, terms)
    return None


def yes_no_answer(question: str, quote: str, terms: tuple[str, ...] = ()) -> str | None:
    """可以。/ 不可以。 for permission questions; otherwise the clause of the quote that grants or forbids.

    A permission question whose last word (还能被使用吗 → 使用) the provision states without a
    prohibition is answered 可以。 too: 「……按规定积极合理使用」 grants it.
    """
    clause = next((c for c in CLAUSE_SPLIT.split(quote) if FORBIDS.search(c) or PERMITS.search(c)), None)
    if clause is None:
        asked = terms[-1] if terms else ""
        # 「能不被问责吗」 asks to be spared what it names: a provision stating 问责 does not grant that.
        if (
            ASKS_PERMISSION.search(question) and len(asked) >= 2 and asked in quote and not FORBIDS.search(quote)
            and not re.search(rf"不(?:被|用|受|会被|再)?{re.escape(asked)}", question)
        ):
            return "可以。"
        return None
    forbids = FORBIDS.search(clause) is not None
    if ASKS_PERMISSION.search(question):
        return "不可以。" if forbids else "可以。"
    return clause.strip() + "。"


def quantity_answer(question: str, quote: str, terms: tuple[str, ...]) -> str | None:
    """The number or date in the quote that stands nearest the question's words, with its unit."""
    pattern = FULL_OR_DAY_DATE if WHEN.search(question) else QUANTITY
    unit = re.search(r"(?:多少|几)([名个条项年次天人类批家场月日号])", question)
    units = (PEOPLE if unit.group(1) in PEOPLE else unit.group(1)) if unit else ""
    best, best_score = None, -1.0
    numbering = [m.span() for m in NUMBERING.finditer(quote)]
    for match in pattern.finditer(quote):
        text = match.group(0)
        if not any(ch.isdigit() or ch in CHINESE_NUMBER for ch in text) or (unit and not text.endswith(units)):
            continue
        if any(start < match.end() and match.start() < end for start, end in numbering):
            continue
        window = quote[max(0, match.start() - NEAR) : match.end() + NEAR]
        # of two numbers as near the question's words, one with digits or a unit (500元) over a bare 一 (一线)
        score = sum(t in window for t in terms) + (0.5 if re.search(r"\d|[^\d〇零一二两三四五六七八九十百千万]$", text) else 0)
        if score > best_score:
            best, best_score = text, score
    return f"{best}。" if best else None


class QuestionError(ValueError):
    """A question that cannot be asked as it is; the message says what to change."""


def check_filters(filters: dict | None) -> dict | None:
    """Metadata filters, refused with a clear message when they name a field passages do not carry."""
    unknown = sorted(set(filters or {}) - set(FILTER_FIELDS))
    if unknown:
        raise QuestionError(f"不能按 {'、'.join(unknown)} 过滤；可用的字段：{'、'.join(FILTER_FIELDS)}")
    return filters or None


def previous_question(history: list | None) -> str | None:
    """The last question the user asked before this one, from a list of turns or of plain questions."""
    for turn in reversed(history or []):
        if isinstance(turn, dict) and turn.get("role") != "user":
            continue
        text = printable(str(turn.get("content", "") if isinstance(turn, dict) else turn)).strip()
        if text:
            return text
    return None


def printable(text: str) -> str:
    """The text with its control characters and lone surrogates turned into spaces."""
    return CONTROL_CHARS.sub(" ", text)


def clean_question(question: str) -> str:
    """The question without control characters and outer spaces; empty or huge ones are refused."""
    text = printable(question or "").strip()
    if not text:
        raise QuestionError("问题不能为空，请输入要咨询的政策问题")
    if len(text) > MAX_QUESTION_CHARS:
        raise QuestionError(f"问题过长（{len(text)} 字），请精简到 {MAX_QUESTION_CHARS} 字以内")
    return text
