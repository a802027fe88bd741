"""Answer composition: the assistant service and the answers it gives."""

from assistant.answer import Answer, Citation
from assistant.service import AssistantService, QuestionError, create_service

__all__ = ["Answer", "AssistantService", "Citation", "QuestionError", "create_service"]
