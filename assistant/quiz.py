"""Quiz questions drawn from provisions, each answerable from its cited provision alone.

Without a language model: fill-in-the-blank (the most informative word or number of a sentence
blanked) and true/false (the sentence as it stands, or altered so that the provision contradicts it:
a number changed, a permission or duty turned round). With a model: multiple choice as well, kept
only when the correct option stands in the cited provision and no other option does.
"""

import json
import logging
import re
from dataclasses import dataclass

from langchain_core.messages import HumanMessage, SystemMessage

from assistant.answer import Citation
from vectorstore.evidence import weigh_terms
from ingest.clean import squeeze
from ingest.structure import sentence_spans
from prompts import render_prompt
from vectorstore.tokenize import CJK_RUN, QUESTION_STOPWORDS, jieba_tokenizer

log = logging.getLogger(__name__)

BLANK = "＿＿＿＿"
TARGET_QUESTIONS = 10
MAX_QUESTIONS = 30
BLANKS_PER_PROVISION = 3
MIN_SENTENCE_CHARS = 8
# Longer sentences are asked about only when a provision has no shorter one.
MAX_STATEMENT_CHARS = 120
MAX_LLM_PROVISIONS = 12
OPTION_LETTERS = "ABCD"
# An option counts as supported when the provision holds this share of its words (IDF-weighted).
OPTION_SUPPORT = 0.8
NUMBER = re.compile(r"(?<![\d第])\d+(?:\.\d+)?%?|[一二三四五六七八九十两百千万]+分之[一二三四五六七八九十百]+")
UNIT = "个年月日天周次名人项条倍万亿元岁小时分钟%"
# Counts, not ordinals: 第七条 and 第1类 name a place, and changing them says nothing false.
CHINESE_COUNT = re.compile(rf"(?<![第一二三四五六七八九十两])[一二三四五六七八九十两]+(?=分之|[{UNIT}])")
DOC_NUMBER_YEAR = re.compile(r"[〔［\[]\d{4}[〕］\]]")
ARABIC_COUNT = re.compile(r"(?<![\d.第])\d+(?![\d.])")
NUMERAL_SWAP = str.maketrans("一二两三四五六七八九", "两三三五六三八五六七")
# Changes that make a statement contradict the provision it came from: a duty, ban or permission
# turned round, or an act reversed. Tried in order; the first that applies is used.
REVERSALS = (
    ("不得", "可以"),
    ("严禁", "允许"),
    ("禁止", "允许"),
    ("应当", "无须"),
    ("必须", "无须"),
    ("可以", "禁止"),
    ("可直接", "不得"),
    ("鼓励", "限制"),
    ("支持", "限制"),
    ("建立", "取消"),
    ("加强", "削弱"),
    ("加大", "减小"),
    ("提高", "降低"),
    ("扩大", "缩小"),
    ("增加", "减少"),
)
TRUE, FALSE = "正确", "错误"


@dataclass(frozen=True)
class QuizQuestion:
    """One quiz question with its answer key and the provision that answers it.

    `kind` is 填空, 判断 or 选择; `evidence` is the provision's own sentence that settles the answer;
    for a fill-in question `blank_at` is where its answer stands in `source.text`.
    """

    kind: str
    prompt: str
    answer: str
    source: Citation
    evidence: str
    options: tuple[str, ...] = ()
    blank_at: int = -1
    note: str = ""


@dataclass(frozen=True)
class Blank:
    """A word of a provision worth blanking: where it stands and how informative it is."""

    word: str
    at: int
    weight: float


def sentences(provision: Citation) -> list[tuple[int, str]]:
    """The provision's sentences with their offsets, too short ones left out, overlong ones after the rest."""
    found = []
    for start, end in sentence_spans(provision.text):
        text = provision.text[start:end]
        lead = len(text) - len(text.lstrip())
        if len(text.strip()) >= MIN_SENTENCE_CHARS:
            found.append((start + lead, text.strip()))
    return sorted(found, key=lambda s: len(s[1]) > MAX_STATEMENT_CHARS)


def blank_candidates(provision: Citation, idf) -> list[Blank]:
    """Numbers and informative words of the provision, each once in its sentence, best first."""
    found = []
    for offset, sentence in sentences(provision):
        numbers = {m.start(): m.group() for m in NUMBER.finditer(sentence) if not DOC_NUMBER_YEAR.match(sentence, max(m.start() - 1, 0))}
        words = [(w, s) for w, s, _ in jieba_tokenizer().tokenize(sentence) if s not in numbers]
        words += [(w, s) for s, w in numbers.items()]
        for word, start in words:
            informative = word in numbers.values() or (
                len(word) >= 2 and CJK_RUN.fullmatch(word) and word not in QUESTION_STOPWORDS
            )
            if informative and sentence.count(word) == 1:
                weight = idf(word) + (100.0 if word in numbers.values() else 0.0)
                found.append(Blank(word, offset + start, weight))
    return sorted(found, key=lambda b: (-b.weight, -len(b.word), b.at))


def sentence_at(provision: Citation, at: int) -> tuple[int, str]:
    """The sentence of the provision holding offset `at`, with its own offset."""
    for offset, sentence in sentences(provision):
        if offset <= at < offset + len(sentence):
            return offset, sentence
    raise ValueError(at)


def fill_in(provision: Citation, blank: Blank) -> QuizQuestion:
    """A fill-in-the-blank question: the sentence with one word blanked, answered by that word."""
    offset, sentence = sentence_at(provision, blank.at)
    inner = blank.at - offset
    gapped = sentence[:inner] + BLANK + sentence[inner + len(blank.word) :]
    prompt = f"根据{provision.place()}，填空：{gapped}"
    return QuizQuestion("填空", prompt, blank.word, provision, sentence, blank_at=blank.at)


def fill_ins(provision: Citation, idf) -> list[QuizQuestion]:
    """Fill-in questions on a provision, each blanking a different word."""
    chosen, words = [], set()
    for blank in blank_candidates(provision, idf):
        if blank.word not in words:
            words.add(blank.word)
            chosen.append(fill_in(provision, blank))
        if len(chosen) == BLANKS_PER_PROVISION:
            break
    return chosen


def change_number(sentence: str) -> tuple[str, str] | None:
    """The sentence with its first count or share changed, and what was changed; None without one."""
    arabic = ARABIC_COUNT.search(sentence)
    chinese = CHINESE_COUNT.search(sentence)
    first = min((m for m in (arabic, chinese) if m), key=lambda m: m.start(), default=None)
    if first is None:
        return None
    old = first.group()
    new = str(int(old) + 1 if int(old) < 100 else int(old) * 2) if old.isdigit() else old.translate(NUMERAL_SWAP)
    if new == old:
        return None
    return sentence[: first.start()] + new + sentence[first.end() :], f"原文为「{old}」，不是「{new}」"


def reverse_meaning(sentence: str) -> tuple[str, str] | None:
    """The sentence with a duty, ban, permission or act turned round, and what was changed; None when none applies."""
    for old, new in REVERSALS:
        if old in sentence:
            return sentence.replace(old, new, 1), f"原文为「{old}」，不是「{new}」"
    return None


def altered(provision: Citation) -> tuple[str, str, str] | None:
    """A sentence of the provision altered so the provision contradicts it: (original, altered, what changed)."""
    for _, sentence in sentences(provision):
        for change in (change_number, reverse_meaning):
            result = change(sentence)
            if result and squeeze(result[0]) not in squeeze(provision.text):
                return sentence, result[0], result[1]
    return None


def true_false(provision: Citation, statement: str, evidence: str, note: str = "") -> QuizQuestion:
    """A true/false question: is the statement what the provision says?"""
    prompt = f"判断正误：根据{provision.place()}，「{statement}」"
    return QuizQuestion("判断", prompt, FALSE if note else TRUE, provision, evidence, note=note)


def true_falses(provision: Citation) -> list[QuizQuestion]:
    """True/false questions on a provision: an altered sentence (false) first, then the sentence as it stands (true)."""
    questions = []
    change = altered(provision)
    if change:
        original, statement, note = change
        questions.append(true_false(provision, statement, original, note))
    spoken = sentences(provision)
    if spoken:
        fitting = [s for _, s in spoken if len(s) <= MAX_STATEMENT_CHARS] or [min((s for _, s in spoken), key=len)]
        best = max(fitting, key=len)
        questions.append(true_false(provision, best, best))
    return questions


def extractive_quiz(provisions: tuple[Citation, ...], idf) -> list[QuizQuestion]:
    """Fill-in and true/false questions, taken round by round across provisions until there are enough."""
    pools = [(fill_ins(p, idf), true_falses(p)) for p in provisions]
    questions: list[QuizQuestion] = []
    for round_ in range(BLANKS_PER_PROVISION):
        for fills, judgements in pools:
            questions += fills[round_ : round_ + 1] + judgements[round_ : round_ + 1]
        if len(questions) >= TARGET_QUESTIONS:
            break
    return questions[:MAX_QUESTIONS]


def make_quiz(provisions: tuple[Citation, ...], idf, llm=None) -> tuple[tuple[QuizQuestion, ...], tuple[str, ...]]:
    """The quiz on these provisions and any warnings (a model that failed or whose questions were dropped)."""
    questions = extractive_quiz(provisions, idf)
    warnings: list[str] = []
    if llm is not None:
        questions += multiple_choice(llm, provisions, idf, warnings)
    return tuple(questions), tuple(warnings)


def quiz_messages(provisions: tuple[Citation, ...]) -> list:
    """The prompt asking a model for multiple-choice questions on numbered provisions (given as data)."""
    shown = "\n\n".join(f"[{p.n}] {p.place()}\n{p.text}" for p in provisions[:MAX_LLM_PROVISIONS])
    count = str(min(len(provisions), MAX_LLM_PROVISIONS))
    return [SystemMessage(render_prompt("quiz")), HumanMessage(render_prompt("quiz_user", provisions=shown, count=count))]


def parse_questions(text: str) -> list[dict]:
    """The JSON list of questions in a model's reply (fenced or bare); empty when there is none."""
    match = re.search(r"\[.*\]", text, re.DOTALL)
    if not match:
        return []
    try:
        data = json.loads(match.group())
    except ValueError:
        return []
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


def supported(option: str, provision: Citation, idf) -> bool:
    """True when the option's words stand in the provision (verbatim, or nearly all its informative words)."""
    if squeeze(option) and squeeze(option) in squeeze(provision.text):
        return True
    terms = weigh_terms(option, idf)
    return bool(terms.terms) and terms.coverage(provision.text) >= OPTION_SUPPORT


def checked_choice(item: dict, by_number: dict[int, Citation], idf) -> QuizQuestion | str:
    """A model's question as a quiz question when its key is held up by the cited provision; else why it was dropped."""
    try:
        provision = by_number[int(item["provision"])]
        options = tuple(str(o).strip() for o in item["options"])
        key = OPTION_LETTERS.index(str(item["answer"]).strip().upper()[:1])
        question = str(item["question"]).strip()
    except (KeyError, ValueError, TypeError, IndexError):
        return "格式不符"
    if len(options) != len(OPTION_LETTERS) or len(set(options)) != len(options) or not question:
        return f"「{question}」选项不是四个不同的选项"
    if not supported(options[key], provision, idf):
        return f"「{question}」的正确选项在所引规定中找不到依据"
    if any(supported(o, provision, idf) for i, o in enumerate(options) if i != key):
        return f"「{question}」有不止一个选项符合所引规定"
    prompt = f"根据{provision.place()}，{question}"
    return QuizQuestion("选择", prompt, OPTION_LETTERS[key], provision, options[key], options=options)


def multiple_choice(llm, provisions: tuple[Citation, ...], idf, warnings: list[str]) -> list[QuizQuestion]:
    """Multiple-choice questions from the model, each checked against its cited provision; failures become warnings."""
    try:
        reply = llm.invoke(quiz_messages(provisions))
    except Exception as error:  # noqa: BLE001 - any model failure: the quiz keeps its extractive questions
        log.warning("语言模型出题失败：%s", error)
        warnings.append(f"语言模型不可用（{type(error).__name__}），未生成选择题")
        return []
    by_number = {p.n: p for p in provisions}
    kept = []
    for item in parse_questions(str(reply.content)):
        result = checked_choice(item, by_number, idf)
        if isinstance(result, QuizQuestion):
            kept.append(result)
        else:
            warnings.append(f"已舍弃一道选择题：{result}")
    return kept
