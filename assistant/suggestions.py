"""Questions to offer after an answer: what the neighbouring provisions of the cited sections answer.

Only candidates are made here; the service asks each one through the whole pipeline and offers those
it answers, so a suggestion is never one the assistant would then decline.
"""

import re

from ingest.model import SECTION_SEPARATOR

# A heading that starts with what is to be done reads as a question with 如何: 「如何健全查诬澄清保护机制？」.
ACTION_HEADING = re.compile(
    r"^(?:健全|完善|建立|强化|加强|加大|推进|推动|深化|实施|提升|提高|增强|优化|规范|落实|严肃|大力|持续|着力|坚持|拓宽|用心|注重|"
    r"做好|抓好|开展|构建|培育|营造|树立|发挥|保障|支持|鼓励|引导|促进|改进|创新|统筹|严格|切实)"
)
# A provision that opens with its subject: 「对受处理处分影响期满的干部,……」 asks 「对受处理处分影响期满的干部有什么规定？」.
SUBJECT_CLAUSE = re.compile(r"^对([^，,；;。：:]{3,24})[，,]")
HEADING_CHARS = (4, 24)
CLAUSE_BREAK = re.compile(r"[，,；;。：:？?！!]")


def heading_question(heading: str) -> str | None:
    """A question a section's heading asks, or None for a heading that is not a single short phrase."""
    heading = heading.strip()
    if not HEADING_CHARS[0] <= len(heading) <= HEADING_CHARS[1] or CLAUSE_BREAK.search(heading):
        return None
    return f"如何{heading}？" if ACTION_HEADING.match(heading) else f"关于{heading}有哪些规定？"


def provision_question(text: str) -> str | None:
    """A question a provision opening with its subject (对……的) answers, or None."""
    match = SUBJECT_CLAUSE.match(text.strip().lstrip("-•· "))
    return f"对{match.group(1)}有什么规定？" if match else None


def last_level(section: str) -> str:
    """The innermost heading of a section path."""
    return section.split(SECTION_SEPARATOR)[-1] if section else ""


def parent_of(section: str) -> str:
    """A section path without its innermost heading."""
    return SECTION_SEPARATOR.join(section.split(SECTION_SEPARATOR)[:-1])


def neighbour_questions(passages: list, cited_ids: set[str]) -> list[str]:
    """Candidate questions from one document's passages (in document order) around those cited, nearest first.

    The cited provisions' own section offers its other provisions; the sections beside it under the same
    heading offer their headings and provisions.
    """
    cited = [i for i, p in enumerate(passages) if p.passage_id in cited_ids]
    if not cited:
        return []
    cited_sections = {passages[i].section for i in cited}
    parents = {parent_of(s) for s in cited_sections if s}
    candidates = []
    for index, passage in sorted(enumerate(passages), key=lambda item: min(abs(item[0] - i) for i in cited)):
        if passage.passage_id in cited_ids:
            continue
        if passage.section not in cited_sections and not (passage.section and parent_of(passage.section) in parents):
            continue
        if passage.section not in cited_sections:
            candidates.append(heading_question(last_level(passage.section)))
        candidates.append(provision_question(passage.text))
    return list(dict.fromkeys(c for c in candidates if c))


def unasked(candidates: list[str], asked: list[str]) -> list[str]:
    """The candidates not already asked in the conversation (compared without punctuation and spaces)."""
    def bare(text: str) -> str:
        return re.sub(r"[\s，,。？?！!]", "", text)

    seen = {bare(q) for q in asked}
    return [c for c in candidates if bare(c) not in seen]
