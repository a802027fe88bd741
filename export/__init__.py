"""Rendering course material at the edge: Markdown and Word (.docx) from the values in assistant.course."""

from export.docx import course_docx, write_course_docx
from export.markdown import course_markdown

__all__ = ["course_docx", "course_markdown", "write_course_docx"]
