"""PolicyQA 政策问答助手: the web chat and the command line.

    python app.py                      serve the web chat (POLICYQA_HOST, POLICYQA_PORT)
    python app.py ingest PATH...       ingest files or folders
    python app.py docs                 list stored documents
    python app.py remove DOC_ID        remove one document everywhere
    python app.py ask "问题" [--json]   answer one question
    python app.py models               models configured, on disk, in use
    python app.py eval --corpus C --qa Q [--json OUT] [--limit N] [--baseline naive]
    python app.py course "主题" [--format docx|pptx -o FILE] [--scope section|related|all]   course material with a quiz
    python app.py bench [--passages N] [--json OUT] [...]   speed and scale beside the textbook pipeline
    python app.py kb create|list|remove                   knowledge bases (--kb NAME on ingest, ask, docs, remove)
    python app.py users add|list|remove|key               users, roles and their API keys
    python app.py audit [--since D] [--user U] [--format table|csv|json]   the audit log

The server also answers /api/v1 (REST), /v1 (OpenAI-compatible), /embed and /docs.
"""

import argparse
import json
import os
import sys
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from pathlib import Path

from pydantic import ValidationError

from settings import Settings


def create_service(settings: Settings):
    """The assistant service for these settings, with the sample ingested into an empty store."""
    from assistant import create_service as build

    service = build(settings)
    report = service.ensure_sample()
    if report is not None:
        print(f"已导入内置示例文档：{report.documents_added} 篇，{report.passages_added} 段", file=sys.stderr)
    return service


@contextmanager
def opened_gate(settings: Settings, action: str | None = None, what: str = ""):
    """The gate over this installation's knowledge bases, users and audit log; the log is written out at the end.

    With `action` (a change of bases or users), a bad name or user refused inside is recorded as that action denied.
    """
    from assistant import create_service as build
    from assistant.access import UserError
    from assistant.bases import BaseNameError, KnowledgeBases
    from assistant.gate import Gate

    gate = Gate.open(KnowledgeBases(settings, build))
    try:
        yield gate
    except (BaseNameError, UserError) as error:
        if action:
            gate.record(cli_actor(gate, None), "", action, f"denied: {error}"[:300], what[:200])
        raise
    finally:
        if not gate.audit.close():
            print("提示：审计日志未能全部写入（磁盘已满或目录只读？）", file=sys.stderr)


def ensure_sample(gate) -> None:
    """Ingest the bundled sample into an empty `default` base, saying so."""
    report = gate.bases.ensure_sample()
    if report is not None:
        print(f"已导入内置示例文档：{report.documents_added} 篇，{report.passages_added} 段", file=sys.stderr)


def cli_actor(gate, key: str | None):
    """Who runs this command: the user of `--key`, else the local operator with every right (named by the OS account)."""
    import getpass

    from assistant.access import AccessDenied, Principal, key_principal
    from assistant.gate import Actor

    if key is None:
        return Actor(Principal(f"cli:{getpass.getuser()}", "admin", None, "cli"), "cli")
    settings = gate.bases.settings
    principal = key_principal(key, settings.listed(settings.admin_keys), settings.listed(settings.api_keys), gate.users)
    if principal is None:
        gate.audit.record("", "cli", "", "key", "denied: API 密钥无效")
        raise AccessDenied("API 密钥无效（用户可能已被删除，或密钥已换发）")
    return Actor(principal, "cli")


def create_app(settings: Settings):
    """The whole server (web pages, REST and OpenAI-compatible APIs) over the knowledge bases of these settings."""
    from assistant import create_service as build
    from assistant.bases import KnowledgeBases
    from assistant.gate import Gate
    from web.server import create_server

    gate = Gate.open(KnowledgeBases(settings, build))
    ensure_sample(gate)
    return create_server(gate.bases.default(), settings, gate)


def api_access_notice(settings: Settings) -> str:
    """What the operator should know at start about who may call the APIs."""
    from assistant.access import UserStore

    if settings.api_keys or settings.admin_keys or UserStore(Path(settings.data_dir)):
        return "接口 /api/v1 与 /v1 需要密钥（Authorization: Bearer <密钥>：配置的密钥或 python app.py users add 发放的用户密钥）。"
    return (
        "未配置 API 密钥（POLICYQA_API_KEYS / POLICYQA_ADMIN_KEYS）也没有用户（python app.py users add）：接口 /api/v1 与 /v1 只接受本机请求"
        "（经反向代理转发的请求一律拒绝；在代理后面部署请配置密钥）。"
    )


def command_serve(settings: Settings, _args) -> int:
    import uvicorn

    app = create_app(settings)
    print(f"PolicyQA 已启动：http://{settings.host}:{settings.port}/  （接口文档：/docs）", file=sys.stderr)
    print(api_access_notice(settings), file=sys.stderr)
    uvicorn.run(
        app, host=settings.host, port=settings.port, log_level="warning",
        proxy_headers=True, forwarded_allow_ips=settings.listed(settings.forwarded_allow_ips),
    )
    return 0


def command_ingest(settings: Settings, args) -> int:
    from tqdm import tqdm

    from ingest import IngestError
    from ingest.loaders import policy_files
    from ingest.metadata import SIDECAR_FIELDS, given_metadata
    from ingest.ocr import reporting_pages

    given = {name: getattr(args, name) for name in SIDECAR_FIELDS}
    try:
        given_metadata(given)
    except IngestError as error:
        print(f"错误：{error}", file=sys.stderr)
        return 2
    paths = [Path(p) for p in args.paths]
    with opened_gate(settings) as gate:
        actor = cli_actor(gate, args.key)
        with tqdm(total=len(policy_files(paths)), unit="文件", desc="导入", disable=None, file=sys.stderr) as bar:
            with reporting_pages(lambda name, done, total: bar.set_postfix_str(f"{name} 文字识别 {done}/{total} 页")):
                report = gate.ingest(actor, args.kb, paths, progress=bar.update, metadata=given)
    for error in report.errors:
        print(f"错误：{error}", file=sys.stderr)
    print(
        f"文件 {report.files} 个：新增/更新 {report.documents_added} 篇，未变 {report.documents_unchanged} 篇，"
        f"失败 {len(report.errors)} 个；新增段落 {report.passages_added}；用时 {report.seconds:.1f} 秒{ingest_rate(report)}"
        + (f"；读取 {report.pages} 页（{report.pages_per_second:.2f} 页/秒）" if report.pages else "")
    )
    return 1 if report.errors else 0


def ingest_rate(report) -> str:
    """The passages stored per second, where there is one to tell ('' when nothing was stored)."""
    rate = report.passages_per_second
    if not report.passages_added or not rate:
        return ""
    return f"（{rate:.1f} 段/秒）" if rate < 10 else f"（{rate:.0f} 段/秒）"


def print_listing(items: list[dict], as_json: bool, row, empty: str = "") -> int:
    """A listing as JSON, or one tab-separated line per item (`row(item)`), `empty` when there is none."""
    if as_json:
        print(json.dumps(items, ensure_ascii=False, indent=2))
        return 0
    if not items and empty:
        print(empty)
    for item in items:
        print(row(item))
    return 0


def command_docs(settings: Settings, args) -> int:
    with opened_gate(settings) as gate:
        documents = gate.documents(cli_actor(gate, args.key), args.kb, as_of=args.as_of)
    return print_listing(
        documents, args.json, lambda d: f"{d['doc_id']}\t{d['kb']}\t{d['passages']} 段\t{d['status_label']}\t{d['title']}\t{d['source']}",
        "知识库中还没有文档。用 python app.py ingest PATH 导入。",
    )


def command_remove(settings: Settings, args) -> int:
    with opened_gate(settings) as gate:
        try:
            removed = gate.remove(cli_actor(gate, args.key), args.kb, args.doc_id)
        except KeyError:
            print(f"错误：没有编号为 {args.doc_id} 的文档。用 python app.py docs 查看已有文档。", file=sys.stderr)
            return 1
    print(f"已删除 {args.doc_id}（{removed} 段）")
    return 0


def command_reindex(settings: Settings, args) -> int:
    from tqdm import tqdm

    from vectorstore.embeddings import make_embeddings
    from vectorstore.migrate import answering_collection, reindex
    from vectorstore.chroma import chroma_client, collection_name

    embeddings = make_embeddings(settings)
    client = chroma_client(settings)
    target = collection_name(settings.collection, embeddings.label)
    source = answering_collection(client, settings.collection, target)
    total = source.passages if source else 0
    with tqdm(total=total, unit="段", desc=f"用 {embeddings.label} 重建", mininterval=0, file=sys.stderr) as bar:
        try:
            result = reindex(
                client, settings.collection, target, settings.embed_model, embeddings, progress=bar.update, batch=args.batch
            )
        except LookupError as error:
            print(str(error), file=sys.stderr)
            return 0 if "无需重建" in str(error) else 1
    print(f"已用 {result['model']} 重建 {result['passages']} 段（本次计算 {result['embedded']} 段；原向量库 {result['from']} 保留）。"
          "重启服务后使用新模型作答。")
    return 0


def command_export_kb(settings: Settings, args) -> int:
    from assistant import create_service as build
    from assistant.transfer import export_kb

    report = export_kb(build(settings), Path(args.file))
    print(f"已导出 {report.documents} 篇文档、{report.passages} 段（含向量）、{report.corrections} 项效力更正、"
          f"{report.feedback} 条反馈到 {args.file}，用时 {report.seconds:.1f} 秒")
    return 0


def command_import_kb(settings: Settings, args) -> int:
    from assistant import create_service as build
    from assistant.transfer import TransferError, import_kb

    try:
        report = import_kb(settings, Path(args.file), build)
    except TransferError as error:
        print(f"错误：{error}", file=sys.stderr)
        return 1
    again = "（模型不同，已重新计算向量）" if report.embedded_again else "（沿用导出包中的向量）"
    print(f"已校验并导入 {report.documents} 篇文档、{report.passages} 段{again}、{report.corrections} 项效力更正、"
          f"{report.feedback} 条新反馈，与导出时一致；用时 {report.seconds:.1f} 秒")
    return 0


def command_ask(settings: Settings, args) -> int:
    from assistant import QuestionError

    malformed = [item for item in args.filter or [] if "=" not in item]
    if malformed:
        print(f"错误：--filter 应写成 字段=值，如 issuer=财政部（收到：{'，'.join(malformed)}）", file=sys.stderr)
        return 2
    filters = dict(item.split("=", 1) for item in args.filter or [])
    try:
        history = json.loads(Path(args.history).read_text(encoding="utf-8")) if args.history else None
    except (OSError, ValueError) as error:
        print(f"错误：无法读取对话历史 {args.history}（{error}）；应是 JSON 列表，如 [{{\"role\": \"user\", \"content\": \"……\"}}]", file=sys.stderr)
        return 2
    with opened_gate(settings) as gate:
        actor = cli_actor(gate, args.key)
        ensure_sample(gate)
        try:
            answer = gate.ask(actor, args.question, args.kb, doc_ids=args.doc or None, filters=filters or None, history=history, as_of=args.as_of)
        except QuestionError as error:
            print(f"错误：{error}", file=sys.stderr)
            return 2
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        return 0
    print(answer.text)
    for c in answer.citations:
        print(f"\n{c.reference()}\n    {c.text}")
    if answer.suggestions:
        print("\n你可能还想问：\n" + "\n".join(f"  · {q}" for q in answer.suggestions))
    return 0


def command_eval(settings: Settings, args) -> int:
    from evaluation.datasets import as_unanswerable, load_corpus, load_questions
    from evaluation.runner import format_table, run_naive, run_project

    corpus = load_corpus(Path(args.corpus))
    questions = load_questions(Path(args.qa), args.limit)
    cache = args.embed_cache if args.embed_cache is not None else str(Path(settings.data_dir) / "eval-embeddings.sqlite3")
    settings = settings.model_copy(update={"embed_cache": cache})
    if args.unanswerable_qa:
        foreign = load_questions(Path(args.unanswerable_qa), args.unanswerable_limit)
        questions += as_unanswerable(foreign, prefix="foreign-")
    print(f"评测：{len(corpus)} 篇文档，{len(questions)} 个问题", file=sys.stderr)
    results = {"policyqa": run_project(settings, corpus, questions)}
    if args.baseline == "naive":
        results["baseline_naive"] = run_naive(settings, corpus, questions)
    print(format_table(results))
    if args.json:
        output = {**results["policyqa"], "baseline": results.get("baseline_naive"), "corpus": args.corpus, "qa": args.qa}
        Path(args.json).write_text(json.dumps(output, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


def command_models(settings: Settings, args) -> int:
    from vectorstore.embeddings import BUILT_IN_SUMMARY, cached_models, download_model, local_model, resolve_model

    if args.download:
        try:
            print(f"已下载到：{download_model(args.download)}")
        except RuntimeError as error:
            print(f"错误：{error}", file=sys.stderr)
            return 1
        return 0
    name = settings.embed_model
    print(f"嵌入模型（POLICYQA_EMBED_MODEL）：{name}")
    if name not in BUILT_IN_SUMMARY:
        print(f"  实际使用：{resolve_model(name) or '本机没有，改用内置 multilingual-e5-small'}")
    print("内置模型（无需下载）：")
    for built_in, summary in BUILT_IN_SUMMARY.items():
        print(f"  {'*' if built_in == name else ' '} {built_in}：{summary}")
    if settings.rerank_model:
        found = local_model(settings.rerank_model)
        print(f"重排序模型（POLICYQA_RERANK_MODEL）：{settings.rerank_model} → {found or '本机没有，不做重排序'}")
    else:
        print("重排序模型（POLICYQA_RERANK_MODEL）：未设置（不做重排序）")
    print(f"本机缓存中的模型：{'、'.join(cached_models()) or '无'}")
    llm = f"{settings.llm_model or 'default'} @ {settings.llm_base_url}" if settings.llm_base_url else "未配置（只用原文摘录作答）"
    print(f"语言模型：{llm}")
    print("下载模型：python app.py models --download BAAI/bge-small-zh-v1.5（需要能访问模型仓库）")
    return 0


def command_bench(settings: Settings, args) -> int:
    from bench.scale import format_table, run

    result = run(
        settings, passages=args.passages, embed_sample=args.embed_sample, ocr_pages=args.ocr_pages,
        model_sample=args.model_sample, queries=args.queries, log=lambda m: print(m, file=sys.stderr),
    )
    print(format_table(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


COURSE_FILES = {"docx": "Word", "pptx": "幻灯片"}


def command_course(settings: Settings, args) -> int:
    """Course material on a topic as Markdown (stdout or -o), Word or slides (-o); exit 1 when nothing is found."""
    from assistant.course import TopicNotCovered
    from export import course_docx, course_markdown, course_pptx

    output = Path(args.output) if args.output else None
    suffix = output.suffix.lower().lstrip(".") if output else ""
    form = args.format or (suffix if suffix in COURSE_FILES else "md")
    if form in COURSE_FILES and output is None:
        print(f"错误：{COURSE_FILES[form]}格式需要用 -o 指定输出文件，如 -o 备课.{form}", file=sys.stderr)
        return 2
    try:
        course = create_service(settings).course(args.topic, doc_ids=args.doc or None, scope=args.scope)
    except (TopicNotCovered, ValueError) as error:
        print(f"错误：{error}", file=sys.stderr)
        return 1
    for warning in course.warnings:
        print(f"提示：{warning}", file=sys.stderr)
    if output is None:
        print(course_markdown(course), end="")
        return 0
    render = {"docx": course_docx, "pptx": course_pptx}.get(form, lambda c: course_markdown(c).encode("utf-8"))
    output.write_bytes(render(course))
    print(f"已写入 {output}：{len(course.provisions)} 条规定，{len(course.questions)} 道练习题", file=sys.stderr)
    return 0


def command_kb_create(settings: Settings, args) -> int:
    with opened_gate(settings, "kb_create", args.name) as gate:
        actor = cli_actor(gate, None)
        try:
            created = gate.bases.create(args.name, args.title)
        except FileExistsError:
            gate.record(actor, args.name, "kb_create", "error: 已存在")
            print(f"错误：知识库 {args.name} 已存在（python app.py kb list 查看）", file=sys.stderr)
            return 1
        gate.record(actor, args.name, "kb_create", "ok", created["title"])
    print(f"已创建知识库 {created['name']}（{created['title']}）。导入文件：python app.py ingest PATH --kb {created['name']}")
    return 0


def command_kb_list(settings: Settings, args) -> int:
    with opened_gate(settings) as gate:
        listed = gate.bases.listing()
    return print_listing(listed, args.json, lambda b: f"{b['name']}\t{b['title']}\t{b['documents']} 篇\t{b['passages']} 段\t{b['created_at']}")


def command_kb_remove(settings: Settings, args) -> int:
    from assistant.bases import checked_name

    with opened_gate(settings, "kb_remove", args.name) as gate:
        actor = cli_actor(gate, None)
        checked_name(args.name)
        documents = len(gate.bases.service(args.name).store.doc_ids())
        if not args.yes and not confirmed(f"确定删除知识库 {args.name} 及其中 {documents} 篇文档？此操作不能撤销。输入 yes 确认："):
            print("已取消，未删除任何内容。", file=sys.stderr)
            return 1
        gate.bases.remove(args.name)
        users = gate.users.forget_base(args.name)
        gate.record(actor, args.name, "kb_remove", "ok", f"{documents} 篇文档；用户 {'、'.join(users) or '无'} 不再可用")
    print(f"已删除知识库 {args.name}（{documents} 篇文档）")
    return 0


def confirmed(prompt: str) -> bool:
    """Whether the person at the terminal types yes (no terminal input counts as no)."""
    print(prompt, end="", file=sys.stderr, flush=True)
    line = sys.stdin.readline()
    return line.strip().lower() in ("yes", "y", "是")


def read_password(name: str) -> str:
    """A new page password: asked twice at a terminal, else one line read from standard input."""
    import getpass

    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass(f"用户 {name} 的网页登录密码：")
    if getpass.getpass("再输入一次：") != first:
        from assistant.access import UserError

        raise UserError("两次输入的密码不一致")
    return first


def command_users_add(settings: Settings, args) -> int:
    from assistant.bases import named_bases

    with opened_gate(settings, "user_add", args.name) as gate:
        actor = cli_actor(gate, None)
        kbs = [] if args.role == "admin" else named_bases(args.kb or "default")
        missing = [k for k in kbs if not gate.bases.exists(k)]
        if missing:
            print(f"错误：没有知识库 {'、'.join(missing)}（python app.py kb list 查看，kb create 新建）", file=sys.stderr)
            return 1
        password = read_password(args.name) if args.password else None
        if args.password and len(password) < 8:
            print("错误：密码至少 8 个字符", file=sys.stderr)
            return 2
        key = gate.users.add(args.name, args.role, kbs, password)
        gate.record(actor, ",".join(kbs), "user_add", "ok", f"{args.name} ({args.role})")
    where = "全部知识库" if args.role == "admin" else "知识库 " + "、".join(kbs)
    print(f"已添加用户 {args.name}（{args.role}，{where}）。API 密钥只显示这一次，请妥善保存：", file=sys.stderr)
    print(key)
    return 0


def command_users_list(settings: Settings, args) -> int:
    from assistant.access import UserStore

    users = UserStore(Path(settings.data_dir)).list()
    return print_listing(
        users, args.json,
        lambda u: f"{u['name']}\t{u['role']}\t{','.join(u['kbs']) or '全部'}\t{'有网页密码' if u['password'] else '无网页密码'}\t{u['created_at']}",
        "还没有用户。用 python app.py users add NAME --role reader --kb 知识库 添加。",
    )


def command_users_remove(settings: Settings, args) -> int:
    with opened_gate(settings, "user_remove", args.name) as gate:
        gate.users.remove(args.name)
        gate.record(cli_actor(gate, None), "", "user_remove", "ok", args.name)
    print(f"已删除用户 {args.name}：其密钥和网页密码立即失效")
    return 0


def command_users_key(settings: Settings, args) -> int:
    with opened_gate(settings, "user_key", args.name) as gate:
        key = gate.users.new_key(args.name)
        gate.record(cli_actor(gate, None), "", "user_key", "ok", args.name)
    print(f"已为用户 {args.name} 换发 API 密钥，旧密钥已失效。新密钥只显示这一次：", file=sys.stderr)
    print(key)
    return 0


def command_audit(settings: Settings, args) -> int:
    from assistant.audit import AuditLog, events_csv, events_table

    events = AuditLog.reader(Path(settings.data_dir)).events(since=args.since, user=args.user)
    if args.format == "json":
        print(json.dumps(events, ensure_ascii=False, indent=2))
    elif args.format == "csv":
        print(events_csv(events), end="")
    else:
        print(events_table(events) if events else "（没有符合条件的审计记录）")
    return 0


def iso_day(value: str) -> date:
    """A YYYY-MM-DD day given on the command line."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"日期应写成 YYYY-MM-DD，如 2021-05-01（收到：{value}）") from None


def add_base_options(command, kb_help: str) -> None:
    """--kb and --key on a command that reads or changes documents."""
    command.add_argument("--kb", help=kb_help)
    command.add_argument("--key", help="以这个 API 密钥的用户身份执行（默认：本机操作员，拥有全部权限）")


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface; no sub-command serves the web chat."""
    parser = argparse.ArgumentParser(prog="app.py", description="PolicyQA 政策问答助手")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="启动网页问答（默认）").set_defaults(run=command_serve)
    ingest = commands.add_parser("ingest", help="导入文件或文件夹")
    ingest.add_argument("paths", nargs="+", help="文件或文件夹（递归）")
    ingest.add_argument("--title", help="文档标题（覆盖从正文识别的标题）")
    ingest.add_argument("--issuer", help="发文机关")
    ingest.add_argument("--date", help="成文或发布日期，如 2025-03-01")
    ingest.add_argument("--doc-number", help="文号，如 鄂发〔2025〕12号")
    ingest.add_argument("--effective-date", help="施行日期，如 2024-03-01（覆盖从正文识别的）")
    ingest.add_argument("--expiry-date", help="有效期截止日期，如 2026-12-31")
    ingest.add_argument("--status", help="效力状态：in_force、repealed、amended、expired、not_yet_effective（或 现行有效、已废止……）")
    ingest.add_argument("--repeals", help="本文件废止的文件：文号或标题，多个用；分隔")
    ingest.add_argument("--amends", help="本文件修订的文件：文号或标题，多个用；分隔")
    add_base_options(ingest, "导入到这个知识库（默认 default）")
    ingest.set_defaults(run=command_ingest)
    docs = commands.add_parser("docs", help="列出知识库中的文档")
    docs.add_argument("--json", action="store_true", help="以 JSON 输出")
    docs.add_argument("--as-of", type=iso_day, help="按某日的效力状态列出，如 2021-05-01（默认今天）")
    add_base_options(docs, "只列出这些知识库的文档，逗号分隔（默认：可用的全部）")
    docs.set_defaults(run=command_docs)
    remove = commands.add_parser("remove", help="删除一篇文档")
    remove.add_argument("doc_id")
    add_base_options(remove, "从这个知识库删除（默认 default）")
    remove.set_defaults(run=command_remove)
    reindex = commands.add_parser("reindex", help="用当前配置的嵌入模型重建向量库（旧库照常作答，中断后可续做）")
    reindex.add_argument("--batch", type=int, default=64, help="每批计算的段落数（默认 64）")
    reindex.set_defaults(run=command_reindex)
    export = commands.add_parser("export-kb", help="把整个知识库（文件、元数据、向量、效力更正、反馈）导出为一个校验过的归档")
    export.add_argument("file", help="归档文件，如 知识库.tar.gz")
    export.set_defaults(run=command_export_kb)
    imported = commands.add_parser("import-kb", help="校验并导入 export-kb 生成的归档")
    imported.add_argument("file", help="export-kb 生成的归档")
    imported.set_defaults(run=command_import_kb)
    ask = commands.add_parser("ask", help="提问")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="以 JSON 输出答案与引用")
    ask.add_argument("--doc", action="append", help="只在这篇文档中查找（可重复）")
    ask.add_argument("--history", help="此前的对话（JSON 列表：{role, content} 或问题字符串），用于理解追问")
    ask.add_argument("--filter", action="append", metavar="KEY=VALUE", help="按元数据过滤，如 issuer=财政部、date=2020-02-06（可重复）")
    ask.add_argument("--as-of", type=iso_day, help="按某日有效的文件作答，如 2021-05-01（默认今天）")
    add_base_options(ask, "在这些知识库中查找，逗号分隔（默认：可用的全部）")
    ask.set_defaults(run=command_ask)
    models = commands.add_parser("models", help="查看已配置和本机已有的模型，或下载模型")
    models.add_argument("--download", metavar="NAME", help="下载一个 sentence-transformers 模型到本机缓存")
    models.set_defaults(run=command_models)
    evaluate = commands.add_parser("eval", help="在评测集上评估检索与回答")
    evaluate.add_argument("--corpus", required=True, help="corpus.jsonl，或政策文件所在文件夹")
    evaluate.add_argument("--qa", required=True, help="qa.jsonl")
    evaluate.add_argument("--json", help="把结果写入此 JSON 文件")
    evaluate.add_argument("--limit", type=int, help="只用前 N 个问题")
    evaluate.add_argument("--baseline", choices=["naive"], help="同时运行教科书式 LangChain 基线并排对比")
    evaluate.add_argument("--unanswerable-qa", help="另一评测集的 qa.jsonl：其问题作为本语料无法回答的问题加入")
    evaluate.add_argument("--unanswerable-limit", type=int, default=100, help="加入的无法回答问题数（默认 100）")
    evaluate.add_argument(
        "--embed-cache", help="保存嵌入向量的 SQLite 文件，同一文本不再重复计算（默认 数据目录/eval-embeddings.sqlite3；空字符串表示不用）"
    )
    evaluate.set_defaults(run=command_eval)
    bench = commands.add_parser("bench", help="速度与规模基准：本项目与教科书式 LangChain 流程并排对比")
    bench.add_argument("--passages", type=int, default=100_000, help="生成语料的段落数（默认 100000）")
    bench.add_argument("--embed-sample", type=int, default=5000, help="用真实嵌入的段落数，其余用由其派生的向量（默认 5000）")
    bench.add_argument("--ocr-pages", type=int, default=3, help="测文字识别速度所用的页数（默认 3）")
    bench.add_argument("--model-sample", type=int, default=40, help="各嵌入模型测编码速度所用的段落数（默认 40）")
    bench.add_argument("--queries", type=int, default=200, help="测查询延迟所用的问题数（默认 200）")
    bench.add_argument("--json", help="把结果写入此 JSON 文件")
    bench.set_defaults(run=command_bench)
    course = commands.add_parser("course", help="备课：汇编某一主题的全部规定（附出处）、学习提纲和练习题")
    course.add_argument("topic", help="主题，如 容错免责")
    course.add_argument("--format", choices=["md", "docx", "pptx"], help="md（默认）、docx 或 pptx（幻灯片）；不给时按 -o 的扩展名")
    course.add_argument(
        "--scope", choices=["section", "related", "all"], default="related",
        help="收录范围：section 只收主题所在一节，related（默认）加上复述与相关规定，all 再加上语义相关的全部段落",
    )
    course.add_argument("-o", "--output", help="输出文件；不给时把 Markdown 打印到屏幕")
    course.add_argument("--doc", action="append", help="只在这篇文档中查找（可重复）")
    course.set_defaults(run=command_course)
    add_access_commands(commands)
    return parser


def add_access_commands(commands) -> None:
    """The kb, users and audit sub-commands."""
    kb = commands.add_parser("kb", help="知识库：新建、列出、删除").add_subparsers(dest="kb_command", required=True)
    created = kb.add_parser("create", help="新建一个空知识库")
    created.add_argument("name", help="名称：小写字母、数字、下划线，如 zzb")
    created.add_argument("--title", help="显示的标题，如 组织部")
    created.set_defaults(run=command_kb_create)
    listed = kb.add_parser("list", help="列出知识库及其文档数")
    listed.add_argument("--json", action="store_true", help="以 JSON 输出")
    listed.set_defaults(run=command_kb_list)
    removed = kb.add_parser("remove", help="删除一个知识库及其全部文档")
    removed.add_argument("name")
    removed.add_argument("--yes", action="store_true", help="不再询问确认")
    removed.set_defaults(run=command_kb_remove)
    users = commands.add_parser("users", help="用户与角色：添加、列出、删除、换发密钥").add_subparsers(dest="users_command", required=True)
    added = users.add_parser("add", help="添加用户并显示其 API 密钥（只显示一次）")
    added.add_argument("name")
    added.add_argument("--role", required=True, choices=["reader", "editor", "admin"], help="reader 只读提问，editor 还可上传删除，admin 管理一切")
    added.add_argument("--kb", help="可使用的知识库，逗号分隔（默认 default；admin 可用全部）")
    added.add_argument("--password", action="store_true", help="同时设置网页登录密码（终端上询问，否则从标准输入读一行）")
    added.set_defaults(run=command_users_add)
    listed = users.add_parser("list", help="列出用户")
    listed.add_argument("--json", action="store_true", help="以 JSON 输出")
    listed.set_defaults(run=command_users_list)
    removed = users.add_parser("remove", help="删除用户（其密钥立即失效）")
    removed.add_argument("name")
    removed.set_defaults(run=command_users_remove)
    rekeyed = users.add_parser("key", help="为用户换发新密钥（旧密钥立即失效）")
    rekeyed.add_argument("name")
    rekeyed.set_defaults(run=command_users_key)
    audit = commands.add_parser("audit", help="审计日志：提问、检索、上传、删除、登录与拒绝访问的记录")
    audit.add_argument("--since", type=iso_day, help="从这一天起（YYYY-MM-DD）")
    audit.add_argument("--user", help="只看这个用户")
    audit.add_argument("--format", choices=["table", "csv", "json"], default="table", help="table（默认）、csv 或 json")
    audit.set_defaults(run=command_audit)


def main(argv: list[str] | None = None) -> int:
    """Run one command of the command line."""
    args = build_parser().parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    run = getattr(args, "run", command_serve)
    try:
        settings = Settings()
    except ValidationError as error:
        for problem in error.errors():
            name = "POLICYQA_" + "_".join(str(part) for part in problem["loc"]).upper()
            print(f"设置有误：{name}={problem.get('input')!r}：{problem['msg']}", file=sys.stderr)
        return 2
    from assistant.access import AccessDenied, UserError
    from assistant.bases import BaseNameError, UnknownBase
    from vectorstore.chroma import StoreError

    try:
        return run(settings, args)
    except StoreError as error:
        print(f"错误：{error}", file=sys.stderr)
        return 3
    except AccessDenied as error:
        print(f"拒绝访问：{error}", file=sys.stderr)
        return 4
    except UnknownBase as error:
        print(f"错误：没有知识库 {error.args[0]}（python app.py kb list 查看）", file=sys.stderr)
        return 1
    except (BaseNameError, UserError) as error:
        print(f"错误：{error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
