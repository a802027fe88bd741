"""The REST API under /api/v1 and the health check: thin routes over the assistant service."""

from datetime import date
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, File, Form, HTTPException, Path, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from langchain_core.documents import Document
from pydantic import BaseModel, ConfigDict, Field

from assistant import AssistantService, QuestionError
from assistant.conversations import ConversationNotFound
from assistant.course import TopicNotCovered
from assistant.questions import clean_question
from export import course_docx, course_dict, course_markdown, course_pptx
from ingest import IngestError
from ingest.pages import PageNotFound
from settings import Settings
from vectorstore.chroma import StoreError
from assistant.gate import LOCAL_ADMIN, Actor, Gate
from web.guard import client_address
from web.page_links import PAGE_IMAGES, PageLinks

KB_QUERY = "只列出这些知识库，逗号分隔（默认：当前用户可用的全部）"
KB_ONE = "知识库名称（默认 default）"
SCORE_FIELDS = ("score", "lexical_rank", "dense_rank", "similarity")
DOCX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PPTX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.presentationml.presentation"


class Turn(BaseModel):
    """One earlier turn of the conversation."""

    role: str = Field(description="user 或 assistant")
    content: str


class AskRequest(BaseModel):
    """A question, with the conversation so far and the documents to search."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(description="问题", examples=["先行先试中出现的失误能否免责？"])
    history: list[Turn | str] | None = Field(None, description="此前的对话，用于理解追问")
    doc_ids: list[str] | None = Field(None, description="只在这些文档中查找")
    filters: dict[str, str] | None = Field(None, description="按元数据过滤，如 {\"issuer\": \"财政部\"}")
    as_of: date | None = Field(None, description="按这一天有效的文件作答（YYYY-MM-DD，默认今天）")
    conversation_id: str | None = Field(
        None, description="接着这一对话提问（上一次回答返回的 conversation_id）：无需再发送 history"
    )
    kb: str | list[str] | None = Field(
        None, description="在这些知识库中查找：名称、逗号分隔的名称或名称列表（默认：当前用户可用的全部知识库）", examples=["zzb"]
    )


class SearchRequest(BaseModel):
    """A search for passages."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(description="检索词或问题", examples=["容错免责"])
    k: int = Field(8, ge=1, le=50, description="返回的段落数")
    doc_ids: list[str] | None = None
    filters: dict[str, str] | None = None
    as_of: date | None = Field(None, description="只检索这一天有效的文件（YYYY-MM-DD，默认今天）")
    kb: str | list[str] | None = Field(
        None, description="在这些知识库中查找：名称、逗号分隔的名称或名称列表（默认：当前用户可用的全部知识库）", examples=["zzb"]
    )


class LifecycleCorrection(BaseModel):
    """A user's correction of what a document states about its own validity; fields left out keep their value, "" clears one."""

    model_config = ConfigDict(extra="forbid")

    date: str | None = Field(None, description="成文或印发日期 YYYY-MM-DD")
    effective_date: str | None = Field(None, description="施行日期 YYYY-MM-DD")
    expiry_date: str | None = Field(None, description="有效期截止日期 YYYY-MM-DD")
    status: str | None = Field(None, description="效力状态：in_force、repealed、amended、expired、not_yet_effective（空字符串：按日期与关联计算）")
    repeals: list[str] | str | None = Field(None, description="本文件废止的文件（文号或标题）")
    amends: list[str] | str | None = Field(None, description="本文件修订的文件（文号或标题）")


class FaqRequest(BaseModel):
    """A curated answer: the standard question and the approved wording, each 「quote」 verbatim from a stored document."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(description="标准问题", examples=["哪些情况下干部出了失误可以不被追责？"])
    answer: str = Field(description="标准答案；「」内的文字须逐字摘自知识库中的文件，并作为引用链接到原文")


class CourseRequest(BaseModel):
    """A topic to gather course material on."""

    model_config = ConfigDict(extra="forbid")

    topic: str = Field(description="备课主题", examples=["容错免责"])
    doc_ids: list[str] | None = Field(None, description="只在这些文档中查找")
    format: Literal["json", "docx", "pptx", "md"] = Field("json", description="json（默认）、docx（Word 文件）、pptx（幻灯片）或 md（Markdown）")
    scope: Literal["section", "related", "all"] = Field(
        "related", description="收录范围：section 只收主题所在一节；related（默认）加上复述与相关规定；all 再加上语义相关的全部段落"
    )


def course_response(course, form: str) -> Response:
    """Course material in the format asked for: JSON, a Word file, slides or Markdown, the files named after the topic."""
    if form == "json":
        return JSONResponse(course_dict(course))
    files = {
        "docx": lambda: (course_docx(course), DOCX_MEDIA_TYPE, "docx"),
        "pptx": lambda: (course_pptx(course), PPTX_MEDIA_TYPE, "pptx"),
    }
    body, media, suffix = files.get(form, lambda: (course_markdown(course).encode("utf-8"), "text/markdown; charset=utf-8", "md"))()
    name = quote(f"备课-{course.topic}.{suffix}")
    return Response(body, media_type=media, headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"})


def passage_result(document: Document) -> dict:
    """A retrieved passage as the API returns it: text, scores and citation metadata."""
    metadata = dict(document.metadata)
    scores = {k: metadata.pop(k, None) for k in SCORE_FIELDS}
    return {"passage_id": document.id, "text": document.page_content, **scores, "metadata": metadata}


def actor_of(request: Request) -> Actor:
    """Who makes this request (the caller the key guard found) and from which address.

    The served app puts the guard (web.guard.ApiGuard) before every API route, and it names every caller;
    a router used without it (in-process, as the routes were before users existed) acts for the local admin."""
    principal = getattr(request.state, "principal", None) or LOCAL_ADMIN
    return Actor(principal, client_address(request.scope))


def caller_of(request: Request) -> str:
    """Whose conversations a request reaches: a user by name, a configured key by its fingerprint (keys are never
    stored), or the local caller."""
    return actor_of(request).principal.owner


def gate_around(service: AssistantService) -> Gate:
    """The gate of the installation whose base `default` is this service."""
    from assistant import create_service as build
    from assistant.bases import KnowledgeBases

    return Gate.open(KnowledgeBases.around(service, build))


def conversation_missing(conversation_id: str) -> HTTPException:
    """The 404 for a conversation the caller does not have (someone else's reads the same as none)."""
    return HTTPException(status_code=404, detail=f"没有编号为 {conversation_id} 的对话（或不属于当前密钥）")


def unprocessable(error: Exception) -> HTTPException:
    """A 422 carrying the service's own explanation."""
    return HTTPException(status_code=422, detail=str(error))


def page_response(image) -> Response:
    """A document's page as a PNG response (`image()` draws it); 404 or 422 saying why it cannot be shown."""
    try:
        png = image()
    except KeyError as error:
        raise HTTPException(status_code=404, detail=f"没有编号为 {error.args[0]} 的文档") from error
    except PageNotFound as error:
        raise HTTPException(status_code=404, detail=str(error)) from error
    except IngestError as error:
        raise unprocessable(error) from error
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=300"})


def page_images_router(gate: Gate, settings: Settings) -> APIRouter:
    """The original pages the chat page shows under 「查看原文页」, at addresses the page signed when it showed the citation."""
    links = PageLinks.of(settings.data_dir)
    router = APIRouter(prefix=PAGE_IMAGES, include_in_schema=False)

    @router.get("/{kb}/{doc_id}/{page}.png")
    def page_image(kb: str, doc_id: str, page: Annotated[int, Path(ge=1)], start: int, end: int, sig: str) -> Response:
        if not links.valid(kb, doc_id, page, start, end, sig):
            raise HTTPException(status_code=403, detail="原文页链接无效或已过期：请在问答页面重新打开引用")
        return page_response(lambda: gate.bases.service(kb).page_image(doc_id, page, start, end))

    return router


def health_router(service: AssistantService, settings: Settings) -> APIRouter:
    """GET /healthz: the store is reachable, how many passages it holds, which models are in use."""
    router = APIRouter()

    @router.get("/healthz", tags=["health"], summary="健康检查")
    def healthz() -> dict:
        try:
            return service.health()
        except StoreError:
            raise
        except Exception as error:
            raise HTTPException(status_code=503, detail=f"向量库不可用：{error}") from error

    return router


def api_router(gate: Gate | AssistantService, settings: Settings) -> APIRouter:
    """The /api/v1 routes: ask, search, list, upload and remove documents, in the knowledge bases the caller may use
    (a service alone is the base `default` of a gate opened around it)."""
    router = APIRouter(prefix="/api/v1", tags=["api"])
    if isinstance(gate, AssistantService):
        gate = gate_around(gate)
    service = gate.bases.default()  # conversations, curated answers and course material belong to the base `default`

    @router.post("/ask", summary="提问：答案、引用与推荐追问；返回 conversation_id，带上它即可追问")
    def ask(request: AskRequest, http: Request) -> dict:
        actor = actor_of(http)
        if request.history and request.conversation_id is None:  # a client keeping its own history: answered as before, not saved
            return stateless_answer(request, actor)
        try:
            answer, conversation_id = gate.converse(
                actor, request.question, request.kb, request.conversation_id, request.doc_ids, request.filters, request.as_of
            )
        except QuestionError as error:
            raise unprocessable(error) from error
        except ConversationNotFound as error:
            raise conversation_missing(request.conversation_id) from error
        return {**answer.to_dict(), "conversation_id": conversation_id}

    def stateless_answer(request: AskRequest, actor: Actor) -> dict:
        history = [t.model_dump() if isinstance(t, Turn) else t for t in request.history or []]
        try:
            answer = gate.ask(
                actor, request.question, request.kb, doc_ids=request.doc_ids, filters=request.filters, history=history,
                as_of=request.as_of, suggest=False,
            )
        except QuestionError as error:
            raise unprocessable(error) from error
        return {**answer.to_dict(), "conversation_id": None}

    @router.get("/kbs", summary="当前用户可用的知识库（名称、标题、文档数、能否修改）")
    def knowledge_bases(http: Request) -> dict:
        return {"kbs": gate.knowledge_bases(actor_of(http))}

    @router.get("/conversations", summary="当前密钥的对话列表（最近的在前）")
    def conversations(http: Request) -> dict:
        return {"conversations": service.conversations().list_for(caller_of(http))}

    @router.get("/conversations/{conversation_id}", summary="一次对话的各轮问答及其引用")
    def conversation(conversation_id: str, http: Request, last: Annotated[int | None, Query(ge=1, description="只返回最近的这么多轮")] = None) -> dict:
        try:
            return service.conversations().get(caller_of(http), conversation_id, last=last)
        except ConversationNotFound as error:
            raise conversation_missing(conversation_id) from error

    @router.delete("/conversations/{conversation_id}", summary="删除一次对话")
    def remove_conversation(conversation_id: str, http: Request) -> dict:
        try:
            removed = service.conversations().remove(caller_of(http), conversation_id)
        except ConversationNotFound as error:
            raise conversation_missing(conversation_id) from error
        return {"conversation_id": conversation_id, "turns_removed": removed}

    @router.post("/search", summary="检索段落（含得分与元数据）")
    def search(request: SearchRequest, http: Request) -> dict:
        try:
            documents = gate.search(
                actor_of(http), request.query, request.kb, k=request.k, doc_ids=request.doc_ids, filters=request.filters,
                as_of=request.as_of,
            )
        except QuestionError as error:
            raise unprocessable(error) from error
        return {"query": clean_question(request.query), "passages": [passage_result(d) for d in documents]}

    @router.get("/documents", summary="列出文档（含某日的效力状态与废止、修订关联）")
    def documents(http: Request, as_of: date | None = None, kb: Annotated[str | None, Query(description=KB_QUERY)] = None) -> dict:
        return {"documents": gate.documents(actor_of(http), kb, as_of=as_of)}

    @router.patch("/documents/{doc_id}", summary="更正文档的施行日期、有效期、效力状态或废止、修订关联（重新导入后仍保留）")
    def correct(doc_id: str, correction: LifecycleCorrection, http: Request, kb: Annotated[str | None, Query(description=KB_ONE)] = None) -> dict:
        try:
            return gate.correct(actor_of(http), kb, doc_id, correction.model_dump(exclude_none=True))
        except KeyError as error:
            raise HTTPException(status_code=404, detail=f"没有编号为 {doc_id} 的文档") from error
        except ValueError as error:
            raise unprocessable(error) from error

    @router.get(
        "/documents/{doc_id}/pages/{page}", summary="原文页图片（PNG）；给出 start、end（引文位置）时框出引文",
        response_class=Response, responses={200: {"content": {"image/png": {}}}},
    )
    def page_image(
        doc_id: str, page: Annotated[int, Path(ge=1, description="页码，从 1 开始")], http: Request,
        start: Annotated[int | None, Query(ge=0, description="引文在文档中的起始位置")] = None,
        end: Annotated[int | None, Query(ge=1, description="引文在文档中的结束位置")] = None,
        kb: Annotated[str | None, Query(description=KB_ONE)] = None,
    ) -> Response:
        return page_response(lambda: gate.page_image(actor_of(http), kb, doc_id, page, start, end))

    @router.post("/documents", summary="上传并导入一个文件（txt、md、docx、pdf、html、ofd、doc、wps、xlsx、xls、et、扫描件 png/jpg）", status_code=201)
    async def upload(
        http: Request,
        file: Annotated[UploadFile, File(description="政策文件")],
        title: Annotated[str | None, Form()] = None,
        issuer: Annotated[str | None, Form()] = None,
        date: Annotated[str | None, Form()] = None,
        doc_number: Annotated[str | None, Form()] = None,
        effective_date: Annotated[str | None, Form(description="施行日期 YYYY-MM-DD")] = None,
        expiry_date: Annotated[str | None, Form(description="有效期截止日期 YYYY-MM-DD")] = None,
        status: Annotated[str | None, Form(description="效力状态（默认按日期与关联计算）")] = None,
        repeals: Annotated[str | None, Form(description="本文件废止的文件：文号或标题，多个用；分隔")] = None,
        amends: Annotated[str | None, Form(description="本文件修订的文件：文号或标题，多个用；分隔")] = None,
        kb: Annotated[str | None, Form(description=KB_ONE)] = None,
    ) -> dict:
        content = await file.read()
        metadata = {
            "title": title, "issuer": issuer, "date": date, "doc_number": doc_number, "effective_date": effective_date,
            "expiry_date": expiry_date, "status": status, "repeals": repeals, "amends": amends,
        }
        try:
            report = await run_in_threadpool(gate.upload, actor_of(http), kb or http.query_params.get("kb"), file.filename or "", content, metadata)
        except IngestError as error:
            raise unprocessable(error) from error
        except OSError as error:
            raise HTTPException(status_code=507, detail=f"无法保存文件（{error.strerror or error}）：请检查数据目录的磁盘空间和写权限") from error
        if report.errors and not report.doc_ids:
            raise HTTPException(status_code=422, detail="；".join(report.errors))
        return report.to_dict()

    @router.delete("/documents/{doc_id}", summary="删除一篇文档")
    def remove(doc_id: str, http: Request, kb: Annotated[str | None, Query(description=KB_ONE)] = None) -> dict:
        try:
            removed = gate.remove(actor_of(http), kb, doc_id)
        except KeyError as error:
            raise HTTPException(status_code=404, detail=f"没有编号为 {doc_id} 的文档") from error
        return {"doc_id": doc_id, "passages_removed": removed}

    @router.post("/faq", summary="添加标准问答（须管理密钥）：引文须逐字见于知识库文件，否则 422", status_code=201)
    def add_faq(request: FaqRequest, http: Request) -> dict:
        gate.writable(actor_of(http), None, "faq", request.question)
        try:
            return service.curated.add(request.question, request.answer)
        except ValueError as error:  # a quote no document holds (named), an empty question or answer
            raise unprocessable(error) from error

    @router.get("/faq", summary="标准问答列表（引用的文件已删除或废止的标为待复核，不再使用）")
    def faq(http: Request) -> dict:
        gate.readable(actor_of(http), "default", "list")  # curated answers quote default's documents
        return {"entries": service.curated.entries()}

    @router.delete("/faq/{entry_id}", summary="删除一条标准问答（须管理密钥）")
    def remove_faq(entry_id: int, http: Request) -> dict:
        gate.writable(actor_of(http), None, "faq", str(entry_id))
        try:
            service.curated.remove(entry_id)
        except KeyError as error:
            raise HTTPException(status_code=404, detail=f"没有编号为 {entry_id} 的标准问答") from error
        return {"id": entry_id, "removed": True}

    @router.post("/course", summary="备课材料：某一主题的全部规定（附出处）、学习提纲和练习题（JSON、Word、幻灯片或 Markdown）")
    def course(request: CourseRequest, http: Request) -> Response:
        gate.readable(actor_of(http), "default", "course", request.topic)
        try:
            material = service.course(request.topic, doc_ids=request.doc_ids, scope=request.scope)
        except TopicNotCovered as error:
            raise HTTPException(status_code=404, detail=str(error)) from error
        except ValueError as error:
            raise unprocessable(error) from error
        return course_response(material, request.format)

    return router
