"""Quiz questions drawn from provisions, each answerable from its cited provision alone, with no language model.

A provision that states a rule (对 + the condition or subject + 的, then the measure: 可以不予或者免于追究责任)
is asked about by what carries the rule: single choice (单选) on the measure, the wrong options real
measures of other provisions; multiple choice (多选) on its conditions, the wrong ones conditions of
other provisions; true/false (判断) with the measure of another provision put to its condition (or a
number changed), never a negation word swapped in; fill-in (填空) blanking a word of the measure or
condition (or a number). Each section gets a short-answer question (简答) answered by its provisions.
Every wrong option is checked not to stand in the provision, and no false statement stands in any
provision of the pool. At most one question per provision per kind. With a model: its single-choice
questions as well, kept only when the provision holds the key and no other option.
"""

import hashlib
import json
import logging
import re
from dataclasses import dataclass

from langchain_core.messages import HumanMessage, SystemMessage

from assistant.answer import Citation
from ingest.clean import squeeze
from ingest.structure import sentence_spans
from prompts import render_prompt
from vectorstore.evidence import weigh_terms
from vectorstore.tokenize import CJK_RUN, QUESTION_STOPWORDS, jieba_tokenizer

log = logging.getLogger(__name__)

BLANK = "＿＿＿＿"
MAX_QUESTIONS = 40
MIN_SENTENCE_CHARS = 8
MAX_LLM_PROVISIONS = 12
OPTION_LETTERS = "ABCD"
# An option counts as supported when the provision holds this share of its words (IDF-weighted).
OPTION_SUPPORT = 0.8
# A condition of a multiple-choice question is one option: longer clauses are not asked that way.
MAX_OPTION_CHARS = 30
KIND_ORDER = ("单选", "多选", "判断", "填空", "简答")
NUMBER = re.compile(r"(?<![\d第])\d+(?:\.\d+)?%?|[一二三四五六七八九十两百千万]+分之[一二三四五六七八九十百]+")
UNIT = "个年月日天周次名人项条倍万亿元岁小时分钟%"
# Counts, not ordinals: 第七条 and 第1类 name a place, and changing them says nothing false.
CHINESE_COUNT = re.compile(rf"(?<![第一二三四五六七八九十两])[一二三四五六七八九十两]+(?=分之|[{UNIT}])")
DOC_NUMBER_YEAR = re.compile(r"[〔［\[]\d{4}[〕］\]]")
ARABIC_COUNT = re.compile(r"(?<![\d.第])\d+(?![\d.])")
NUMERAL_SWAP = str.maketrans("一二两三四五六七八九", "两三三五六三八五六七")
CLAUSE_BREAK = re.compile(r"[，,；;]")
# How a measure begins: the modal or manner word that says what is done.
MODAL = "可以|可|应当|应|须|必须|不得|严禁|禁止|直接|及时|依规|依法|按规定|一律|予以|给予|由"
MEASURE_START = re.compile(f"^({MODAL})")
MODAL_WORD = re.compile(f"({MODAL})+")
TRUE, FALSE = "正确", "错误"


@dataclass(frozen=True)
class QuizQuestion:
    """One quiz question with its answer key and the provision that answers it.

    `kind` is 单选, 多选, 判断, 填空 or 简答; `evidence` is the provision's own sentence that settles the
    answer; for a fill-in question `blank_at` is where its answer stands in `source.text`.
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
class Rule:
    """A rule sentence of a provision: the condition or subject it applies to and the measure it sets."""

    sentence: str
    at: int
    condition: str
    measure: str

    def items(self) -> list[str]:
        """The condition's separate cases (clauses), each short enough to be an option."""
        parts = [p.strip() for p in CLAUSE_BREAK.split(self.condition) if p.strip()]
        return parts if len(parts) >= 2 and all(len(p) <= MAX_OPTION_CHARS for p in parts) else []


def sentences(provision: Citation) -> list[tuple[int, str]]:
    """The provision's sentences with their offsets, too short ones left out."""
    found = []
    for start, end in sentence_spans(provision.text):
        text = provision.text[start:end]
        lead = len(text) - len(text.lstrip())
        if len(text.strip()) >= MIN_SENTENCE_CHARS:
            found.append((start + lead, text.strip().rstrip("。；;")))
    return found


def rule_of(text: str, at: int = 0) -> Rule | None:
    """The sentence's rule when it reads 对…的，…，<measure>; None for a sentence of another shape."""
    clauses = [m for m in re.finditer(r"[^，,；;]+", text)]
    if len(clauses) < 2 or not MEASURE_START.match(clauses[-1].group()):
        return None
    opening = next((c for c in clauses[:-1] if c.group().startswith("对")), None)
    if opening is None:
        return None
    condition = text[opening.start() + 1 : clauses[-2].end()].strip()
    condition = condition[:-1] if condition.endswith("的") else condition
    return Rule(text, at, condition, clauses[-1].group().strip()) if condition else None


def rules(provision: Citation) -> list[Rule]:
    """The rule sentences of a provision."""
    return [r for offset, s in sentences(provision) if (r := rule_of(s, offset))]


def informative_words(text: str, idf) -> list[tuple[str, int]]:
    """Numbers and informative words of a text (each standing once in it) with offsets, the most informative first."""
    numbers = {m.start(): m.group() for m in NUMBER.finditer(text) if not DOC_NUMBER_YEAR.match(text, max(m.start() - 1, 0))}
    words = [(w, s) for w, s, _ in jieba_tokenizer().tokenize(text) if s not in numbers]
    words = [(w, s) for w, s in words if len(w) >= 2 and CJK_RUN.fullmatch(w) and w not in QUESTION_STOPWORDS and not MODAL_WORD.fullmatch(w)]
    found = [(w, s) for w, s in words + [(w, s) for s, w in numbers.items()] if text.count(w) == 1]
    return sorted(found, key=lambda ws: (-(idf(ws[0]) + (100.0 if ws[0] in numbers.values() else 0.0)), -len(ws[0]), ws[1]))


def fill_in(provision: Citation, idf) -> QuizQuestion | None:
    """A fill-in question blanking what carries the rule: a number, else a word of the measure, else of the condition."""
    for offset, sentence in sentences(provision):
        rule = rule_of(sentence, offset)
        parts = [sentence] if NUMBER.search(sentence) or rule is None else [rule.measure, rule.condition]
        for part in parts:
            base = sentence.index(part)
            for word, at in informative_words(part, idf)[:1]:
                inner = base + at
                if sentence.count(word) == 1:
                    gapped = sentence[:inner] + BLANK + sentence[inner + len(word) :]
                    return QuizQuestion("填空", f"填空：{gapped}", word, provision, sentence, blank_at=offset + inner)
    return None


def stable_order(items: list[str], key: str) -> list[str]:
    """The items in an order fixed by the key (the same quiz every time, the key not always first)."""
    return sorted(items, key=lambda item: hashlib.sha1(f"{key}\n{item}".encode("utf-8")).hexdigest())


def foreign(option: str, provision: Citation, idf) -> bool:
    """True when an option from another provision does not stand in this one (so it cannot be a right answer)."""
    return not supported(option, provision, idf)


def single_choice(provision: Citation, rule: Rule, measures: list[str], idf) -> QuizQuestion | None:
    """A single-choice question on the rule's measure; the wrong options are other provisions' measures."""
    wrong = [m for m in dict.fromkeys(measures) if squeeze(m) != squeeze(rule.measure) and foreign(m, provision, idf)]
    wrong = sorted(wrong, key=lambda m: (abs(len(m) - len(rule.measure)), m))[: len(OPTION_LETTERS) - 1]
    if len(wrong) < len(OPTION_LETTERS) - 1:
        return None
    options = tuple(stable_order([rule.measure, *wrong], rule.sentence))
    key = OPTION_LETTERS[options.index(rule.measure)]
    prompt = f"对{rule.condition}的，按规定应如何处理？"
    return QuizQuestion("单选", prompt, key, provision, rule.sentence, options=options)


def multiple_choice_on(provision: Citation, rule: Rule, conditions: list[str], idf) -> QuizQuestion | None:
    """A multiple-choice question: which cases the measure applies to; the wrong ones are other provisions' conditions."""
    right = rule.items()[: len(OPTION_LETTERS) - 1]
    wrong = [c for c in dict.fromkeys(conditions) if foreign(c, provision, idf) and len(c) <= MAX_OPTION_CHARS]
    wrong = sorted(wrong, key=lambda c: (abs(len(c) - len(right[0])) if right else 0, c))[: len(OPTION_LETTERS) - len(right)]
    if len(right) < 2 or len(right) + len(wrong) < len(OPTION_LETTERS):
        return None
    options = tuple(stable_order(right + wrong, rule.sentence))
    key = "".join(OPTION_LETTERS[i] for i, o in enumerate(options) if o in right)
    return QuizQuestion("多选", f"下列哪些情形，按规定{rule.measure}？", key, provision, rule.sentence, options=options)


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


def swapped_measure(rule: Rule, measures: list[str], pool: list[str]) -> tuple[str, str] | None:
    """The rule's condition with another provision's measure, stated nowhere in the pool; None when there is none."""
    for measure in sorted(dict.fromkeys(measures), key=lambda m: (abs(len(m) - len(rule.measure)), m)):
        statement = f"对{rule.condition}的，{measure}"
        if squeeze(measure) != squeeze(rule.measure) and not any(squeeze(statement) in squeeze(p) for p in pool):
            if squeeze(measure) not in squeeze(rule.sentence):
                return statement, f"原文为「{rule.measure}」，不是「{measure}」"
    return None


def true_false(provision: Citation, measures: list[str], pool: list[str], false_wanted: bool) -> QuizQuestion | None:
    """A true/false question: a number changed, or when `false_wanted` a rule given another measure (false); else the sentence as it stands."""
    spoken = sentences(provision)
    if not spoken:
        return None
    for offset, sentence in spoken:
        rule = rule_of(sentence, offset)
        change = change_number(sentence) or (swapped_measure(rule, measures, pool) if rule and false_wanted else None)
        if change and squeeze(change[0]) not in squeeze(provision.text):
            return QuizQuestion("判断", f"判断正误：「{change[0]}」", FALSE, provision, sentence, note=change[1])
    sentence = min((s for _, s in spoken), key=len) if len(spoken) > 1 else spoken[0][1]
    return QuizQuestion("判断", f"判断正误：「{sentence}」", TRUE, provision, sentence)


def short_answers(provisions: tuple[Citation, ...]) -> list[QuizQuestion]:
    """One short-answer question per section with a heading, its provisions the reference answer."""
    sections: dict[tuple[str, str], list[Citation]] = {}
    for p in provisions:
        sections.setdefault((p.doc_id, p.section), []).append(p)
    questions = []
    for (_, section), group in sections.items():
        heading = section.split(" › ")[-1] if section else ""
        if heading and sentences(group[0]):
            answer = "；".join(p.text.rstrip("。；;") for p in group) + "。"
            questions.append(QuizQuestion("简答", f"简述「{heading}」的规定要点。", answer, group[-1], group[-1].text))
    return questions


def pool_rules(pool: tuple[str, ...]) -> list[Rule]:
    """The rules stated anywhere in the pool of provisions (the documents' lines)."""
    return [r for text in pool for start, end in sentence_spans(text) if (r := rule_of(text[start:end].strip().rstrip("。；;")))]


def extractive_quiz(provisions: tuple[Citation, ...], idf, pool: tuple[str, ...] = ()) -> list[QuizQuestion]:
    """Questions of every kind the provisions allow, at most one per provision per kind, in provision order."""
    pool = tuple(pool) or tuple(p.text for p in provisions)
    known = pool_rules(pool + tuple(p.text for p in provisions))
    questions: list[QuizQuestion] = []
    for index, provision in enumerate(provisions):
        own = rules(provision)
        measures = [r.measure for r in known if r.sentence not in provision.text]
        conditions = [c for r in known if r.sentence not in provision.text for c in (r.items() or [r.condition])]
        candidates = [
            single_choice(provision, own[0], measures, idf) if own else None,
            multiple_choice_on(provision, own[0], conditions, idf) if own else None,
            true_false(provision, measures, list(pool), false_wanted=index % 2 == 0),
            fill_in(provision, idf),
        ]
        questions += [q for q in candidates if q is not None]
    questions += short_answers(provisions)
    order = {p.n: i for i, p in enumerate(provisions)}
    questions.sort(key=lambda q: (order.get(q.source.n, 0), KIND_ORDER.index(q.kind)))
    return questions[:MAX_QUESTIONS]


def make_quiz(
    provisions: tuple[Citation, ...], idf, llm=None, pool: tuple[str, ...] = ()
) -> tuple[tuple[QuizQuestion, ...], tuple[str, ...]]:
    """The quiz on these provisions (wrong options and false statements checked against `pool`, the documents'
    provisions) and any warnings (a model that failed or whose questions were dropped)."""
    questions = extractive_quiz(provisions, idf, pool)
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
    return QuizQuestion("单选", question, OPTION_LETTERS[key], provision, options[key], options=options)


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
