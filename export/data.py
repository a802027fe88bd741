"""Course material as JSON-ready data (what POST /api/v1/course returns for format "json")."""

from dataclasses import asdict

from assistant.answer import citation_dict
from assistant.course import Course


def course_dict(course: Course) -> dict:
    """The material: documents with their sections and provisions (as citations), outline, quiz, warnings."""
    return {
        "topic": course.topic,
        "provisions": len(course.provisions),
        "documents": [
            {
                "doc_id": d.doc_id, "title": d.title, "issuer": d.issuer, "date": d.date, "doc_number": d.doc_number,
                "sections": [{"section": s.section, "provisions": [citation_dict(p) for p in s.provisions]} for s in d.sections],
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
