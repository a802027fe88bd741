"""Reading evaluation sets: corpus.jsonl and qa.jsonl as described in shared/evalsets/README.md."""

import json
from dataclasses import dataclass
from pathlib import Path

from ingest.loaders import DOCUMENT_SUFFIXES, read_policy_text


@dataclass(frozen=True)
class Question:
    """One evaluation question; no gold documents means the corpus cannot answer it."""

    qid: str
    question: str
    answer: str | None
    gold_doc_ids: tuple[str, ...]

    @property
    def answerable(self) -> bool:
        return bool(self.gold_doc_ids)


def read_jsonl(path: Path) -> list[dict]:
    """The JSON objects of a .jsonl file, with the line named when one is malformed."""
    rows = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{number}: 不是合法的 JSON（{error.msg}）") from error
    return rows


def load_corpus(path: Path) -> list[dict]:
    """Documents to ingest: a corpus.jsonl, or a folder of policy files (doc_id = file name stem)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in DOCUMENT_SUFFIXES)
        return [{"doc_id": p.stem, "text": read_policy_text(p), "source": str(p)} for p in files]
    return [
        {"doc_id": row["doc_id"], "text": row["text"], "title": row.get("title"), "source": row["doc_id"]}
        for row in read_jsonl(path)
    ]


def load_questions(path: Path, limit: int | None = None) -> list[Question]:
    """Questions of a qa.jsonl, the first `limit` of them when given."""
    rows = read_jsonl(path)[:limit] if limit else read_jsonl(path)
    return [Question(str(r["qid"]), r["question"], gold_text(r.get("answer")), tuple(r.get("gold_doc_ids") or ())) for r in rows]


def gold_text(answer) -> str | None:
    """A gold answer when it is usable text (some sets hold numbers or NaN where none is given)."""
    return answer if isinstance(answer, str) and answer.strip() else None


def as_unanswerable(questions: list[Question], prefix: str) -> list[Question]:
    """Questions from another set, asked of a corpus that cannot answer them."""
    return [Question(f"{prefix}{q.qid}", q.question, None, ()) for q in questions]
