"""Answer composition: the assistant service and the answers it gives."""

from assistant.answer import Answer, Citation, Reply
from assistant.build import create_service
from assistant.questions import QuestionError
from assistant.service import AssistantService

__all__ = ["Answer", "AssistantService", "Citation", "Reply", "QuestionError", "create_service"]
