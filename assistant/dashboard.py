"""The figures of one knowledge base's use, from the audit log and readers' feedback: questions per day, the share
declined, the questions declined most often, the documents cited most, and 👍/👎 per document."""

from collections import Counter
from dataclasses import dataclass

TOP = 10


@dataclass(frozen=True)
class BaseStatistics:
    """What the dashboard shows for one base; each list is ready for a table or a plot."""

    kb: str
    days: list[dict]  # {"day", "questions", "declined", "declined_share"}
    declined_questions: list[dict]  # {"question", "times"}
    cited_documents: list[dict]  # {"doc_id", "title", "times"}
    feedback: list[dict]  # {"title", "up", "down"}

    @property
    def questions(self) -> int:
        """How many questions the base was asked."""
        return sum(d["questions"] for d in self.days)

    @property
    def declined_share(self) -> float:
        """The share of those questions that were declined."""
        return sum(d["declined"] for d in self.days) / self.questions if self.questions else 0.0


def asks_in(events: list[dict], kb: str) -> list[dict]:
    """The answered or declined asks of base kb (a question asked of several bases counts for each)."""
    return [e for e in events if e["action"] == "ask" and e["outcome"] in ("answered", "refused") and kb in e["kb"].split(",")]


def base_statistics(events: list[dict], kb: str, titles: dict[str, str], feedback: list[dict]) -> BaseStatistics:
    """The dashboard of base kb from audit events, its documents' titles by id, and its feedback entries."""
    asks = asks_in(events, kb)
    per_day: dict[str, Counter] = {}
    for e in asks:
        per_day.setdefault(e["time"][:10], Counter())[e["outcome"]] += 1
    days = [
        {"day": day, "questions": sum(c.values()), "declined": c["refused"], "declined_share": round(c["refused"] / sum(c.values()), 3)}
        for day, c in sorted(per_day.items())
    ]
    declined = Counter(e["question"] for e in asks if e["outcome"] == "refused")
    cited = Counter(d for e in asks if e["outcome"] == "answered" for d in e["doc_ids"] if d in titles)
    return BaseStatistics(
        kb, days,
        [{"question": q, "times": n} for q, n in declined.most_common(TOP)],
        [{"doc_id": d, "title": titles[d], "times": n} for d, n in cited.most_common(TOP)],
        feedback_per_document(feedback, titles),
    )


def feedback_per_document(feedback: list[dict], titles: dict[str, str]) -> list[dict]:
    """👍 and 👎 per document, by the documents an answer rated cited (its citations name their titles)."""
    rows = []
    for title in dict.fromkeys(titles.values()):
        rated = [f for f in feedback if f"] {title}" in (f.get("citations") or "")]
        if rated:
            rows.append({"title": title, "up": sum(f["rating"] == "up" for f in rated), "down": sum(f["rating"] == "down" for f in rated)})
    return sorted(rows, key=lambda r: -(r["up"] + r["down"]))
