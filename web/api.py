"""The REST API under /api/v1 and the health check: thin routes over the assistant service."""

from fastapi import APIRouter

from assistant import AssistantService
from settings import Settings


def health_router(service: AssistantService, settings: Settings) -> APIRouter:
    """GET /healthz: the store is reachable, how many passages it holds, which models are in use."""
    router = APIRouter()

    @router.get("/healthz", tags=["health"], summary="健康检查")
    def healthz() -> dict:
        return service.health()

    return router
