"""Course material as JSON-ready data (what POST /api/v1/course returns for format "json")."""

from dataclasses import asdict

from assistant.answer import citation_dict
from assistant.course import Course
from export.text import source_line

# A provision is named by its document, never by the file it was read from on the server.
SERVER_FIELDS = ("source", "passage_id")


def provision_dict(course: Course, provision) -> dict:
    """One provision as JSON: its citation without server fields, its source line, and why it is in the material."""
    data = {k: v for k, v in citation_dict(provision).items() if k not in SERVER_FIELDS}
    why = course.why(provision.n)
    return data | {"source_line": source_line(provision), "why": why.reason if why else "", "why_score": round(why.score, 4) if why else None}


def course_dict(course: Course) -> dict:
    """The material: documents with their sections and provisions (as citations), outline, quiz, warnings."""
    return {
        "topic": course.topic,
        "scope": course.scope,
        "provisions": len(course.provisions),
        "documents": [
            {
                "doc_id": d.doc_id, "title": d.title, "issuer": d.issuer, "date": d.date, "doc_number": d.doc_number,
                "sections": [{"section": s.section, "provisions": [provision_dict(course, p) for p in s.provisions]} for s in d.sections],
            }
            for d in course.documents
        ],
        "outline": [{**asdict(e), "provisions": list(e.provisions)} for e in course.outline],
        "questions": [
            {
                "kind": q.kind, "prompt": q.prompt, "options": list(q.options), "answer": q.answer, "note": q.note,
                "evidence": q.evidence, "provision": q.source.n,
            }
            for q in course.questions
        ],
        "warnings": list(course.warnings),
    }
