"""Rendering course material at the edge: Markdown, Word (.docx), slides (.pptx) and JSON data from the values in assistant.course."""

from export.data import course_dict
from export.docx import course_docx, write_course_docx
from export.markdown import course_markdown
from export.pptx import course_pptx, write_course_pptx

__all__ = ["course_dict", "course_docx", "course_markdown", "course_pptx", "write_course_docx", "write_course_pptx"]
