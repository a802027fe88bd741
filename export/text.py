"""The Chinese wording both renderings share: headings, facts about a document, questions, answers, sources."""

from assistant.answer import Citation
from assistant.course import Course, DocumentGroup
from assistant.quiz import QuizQuestion

PARTS = ("一、学习提纲", "二、规定原文", "三、练习题", "四、参考答案", "五、出处")
KINDS = {"填空": "填空题", "判断": "判断题", "选择": "单项选择题"}


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
    return f"答案：{question.answer}{note}。依据{source.place()}：「{question.evidence}」{mark(source.n)}"


def source_line(citation: Citation) -> str:
    """Where a provision stands: document, section, metadata, file and character offsets."""
    return f"{citation.reference()}；来源：{citation.source}，第 {citation.start}–{citation.end} 字"
