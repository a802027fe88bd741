"""The Chinese wording both renderings share: headings, facts about a document, questions, answers, sources."""

from assistant.answer import Citation
from assistant.course import Course, DocumentGroup
from assistant.quiz import QuizQuestion

PARTS = ("一、学习提纲", "二、规定原文", "三、练习题", "四、参考答案", "五、出处")
KINDS = {"单选": "单选题", "多选": "多选题", "判断": "判断题", "填空": "填空题", "简答": "简答题"}


def course_title(course: Course) -> str:
    """The material's title."""
    return f"备课材料：{course.topic}"


def summary_line(course: Course) -> str:
    """How much the material holds."""
    return (
        f"共摘录 {len(course.provisions)} 条规定，出自 {len(course.documents)} 篇文件；"
        f"练习题 {len(course.questions)} 道，答案附出处。每条规定后的 [n] 对应文末出处。"
    )


def document_facts(document: DocumentGroup) -> str:
    """Issuing body, document number and date of a document, where known."""
    if not document.provisions:
        return ""
    first = document.provisions[0]
    status = [f"效力：{first.status_label}"] if first.status not in ("", "in_force") else []
    return "；".join([*first.facts(labelled=True), *status])


def mark(n: int) -> str:
    """The citation marker of provision n."""
    return f"[{n}]"


def marks(numbers: tuple[int, ...]) -> str:
    """Citation markers for several provisions."""
    return "".join(mark(n) for n in numbers)


def quiz_groups(questions: tuple[QuizQuestion, ...]) -> list[tuple[str, list[tuple[int, QuizQuestion]]]]:
    """The numbered questions in runs on one section, each run with the line naming its document and section once."""
    groups: list[tuple[str, list[tuple[int, QuizQuestion]]]] = []
    for number, question in enumerate(questions, start=1):
        place = f"以下各题依据{question.source.place()}"
        if groups and groups[-1][0] == place:
            groups[-1][1].append((number, question))
        else:
            groups.append((place, [(number, question)]))
    return groups


def why_line(course: Course, n: int) -> str:
    """Why provision n is in the material, with its score ('' when not recorded)."""
    why = course.why(n)
    return f"收录理由：{why.label()}" if why else ""


def question_line(question: QuizQuestion) -> str:
    """A question's line: its kind and prompt."""
    return f"（{KINDS.get(question.kind, question.kind)}）{question.prompt}"


def option_lines(question: QuizQuestion) -> list[str]:
    """A multiple-choice question's options, lettered."""
    return [f"{letter}. {option}" for letter, option in zip("ABCD", question.options)]


def answer_line(question: QuizQuestion) -> str:
    """A question's key with the provision's own words that settle it and where they stand."""
    note = f"（{question.note}）" if question.note else ""
    source = question.source
    if question.kind == "简答":
        return f"参考答案：{question.answer}（依据{source.place()}{mark(source.n)}）"
    return f"答案：{question.answer}{note}。依据{source.place()}：「{question.evidence}」{mark(source.n)}"


def source_line(citation: Citation) -> str:
    """Where a provision stands, named as a reader finds it: document title, issuer, number, date and section, never a file."""
    status = [f"效力：{citation.status_label}"] if citation.status not in ("", "in_force") else []
    section = [f"位置：{citation.section}"] if citation.section else []
    return "；".join([f"{mark(citation.n)} 《{citation.title}》", *citation.facts(labelled=True), *section, *status])
