"""A knowledge base moved between machines: one archive, verified before anything is imported.

    app.py export-kb FILE     app.py import-kb FILE

The archive (tar.gz) holds `manifest.json` (format, model, passage size, counts, and the SHA-256 of
every other member), `documents.jsonl` (each document's cleaned text, title, source and metadata,
with its passage ids), `vectors.npy` and `vector_texts.json` (the passages' vectors and texts, so that
a machine running the same model embeds nothing again), `corrections.json` (users' lifecycle
corrections) and `feedback.json` (readers' ratings). Importing checks every checksum and the format
first, then ingests the documents through the ordinary path (the same cut, the same ids), restores
corrections and feedback, and checks that every document and passage of the manifest is stored.
"""

import hashlib
import io
import json
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FORMAT = 1
MEMBERS = ("documents.jsonl", "vectors.npy", "vector_texts.json", "corrections.json", "feedback.json")
# An archive member larger than this is refused unread (a knowledge base of a million passages is well under it).
MAX_MEMBER_BYTES = 8 * 2**30


class TransferError(ValueError):
    """An archive that cannot be imported as it is; the message says why and what to do."""


@dataclass(frozen=True)
class TransferReport:
    """What an export wrote or an import stored."""

    documents: int
    passages: int
    corrections: int = 0
    feedback: int = 0
    embedded_again: bool = False
    seconds: float = 0.0


def export_kb(service, path: Path) -> TransferReport:
    """Write the whole knowledge base to one archive at `path` (written beside it first, then moved into place)."""
    began = time.perf_counter()
    store = service.store
    store.refresh_if_changed(max_age=0)
    with store.reading():
        documents, passage_ids = [], []
        for summary in store.documents():
            passages = store.passages_of(summary["doc_id"])
            passage_ids += [p.passage_id for p in passages]
            documents.append({**summary, "text": store.document_text(summary["doc_id"]), "passage_ids": [p.passage_id for p in passages]})
        vectors, texts = passage_vectors(store, passage_ids)
    corrections = service.lifecycles.corrections.all() if service.lifecycles.corrections is not None else {}
    members = {
        "documents.jsonl": "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in documents).encode("utf-8"),
        "vectors.npy": npy_bytes(vectors),
        "vector_texts.json": json.dumps(texts, ensure_ascii=False).encode("utf-8"),
        "corrections.json": json.dumps(corrections, ensure_ascii=False).encode("utf-8"),
        "feedback.json": json.dumps(service.feedback().list(), ensure_ascii=False).encode("utf-8"),
    }
    manifest = {
        "format": FORMAT, "model": service.retriever.model_label, "passage_max_chars": service.settings.passage_max_chars,
        "documents": len(documents), "passages": len(passage_ids), "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "sha256": {name: hashlib.sha256(data).hexdigest() for name, data in members.items()},
    }
    write_archive(Path(path), {"manifest.json": json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8"), **members})
    return TransferReport(len(documents), len(passage_ids), len(corrections), len(json.loads(members["feedback.json"])),
                          seconds=time.perf_counter() - began)


def passage_vectors(store, passage_ids: list[str]) -> tuple[np.ndarray, list[str]]:
    """The stored vectors and texts of these passages, in their order."""
    rows: dict[str, tuple] = {}
    for start in range(0, len(passage_ids), 1000):
        part = store.vectors.get(ids=passage_ids[start : start + 1000], include=["embeddings", "documents"])
        rows.update({i: (v, t) for i, v, t in zip(part["ids"], part["embeddings"], part["documents"])})
    kept = [p for p in passage_ids if p in rows]
    vectors = np.array([rows[p][0] for p in kept], dtype=np.float32) if kept else np.zeros((0, 0), np.float32)
    return vectors, [rows[p][1] for p in kept]


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def write_archive(path: Path, members: dict[str, bytes]) -> None:
    """A tar.gz of these members, written to a temporary name and then moved into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    with tarfile.open(partial, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), int(time.time())
            archive.addfile(info, io.BytesIO(data))
    partial.replace(path)


def read_archive(path: Path) -> tuple[dict, dict[str, bytes]]:
    """The manifest and members of an archive, every checksum verified; TransferError saying what is wrong."""
    if not Path(path).is_file():
        raise TransferError(f"{path}: 文件不存在")
    try:
        with tarfile.open(path, "r:gz") as archive:
            found = {}
            for member in archive.getmembers():
                if not member.isfile() or member.name not in ("manifest.json", *MEMBERS):
                    raise TransferError(f"{path}: 含有不属于知识库导出包的内容 {member.name!r}，请用 app.py export-kb 重新导出")
                if member.size > MAX_MEMBER_BYTES:
                    raise TransferError(f"{path}: {member.name} 过大（{member.size} 字节）")
                found[member.name] = archive.extractfile(member).read()
    except (tarfile.TarError, EOFError, OSError) as error:
        raise TransferError(f"{path}: 不是完整的知识库导出包（{error}）；请重新导出或重新拷贝") from error
    try:
        manifest = json.loads(found.pop("manifest.json"))
    except (KeyError, ValueError) as error:
        raise TransferError(f"{path}: 缺少或无法读取 manifest.json；请用 app.py export-kb 重新导出") from error
    if manifest.get("format") != FORMAT:
        raise TransferError(f"{path}: 导出包格式 {manifest.get('format')!r} 不受支持（本版本读取格式 {FORMAT}）")
    for name in MEMBERS:
        if name not in found:
            raise TransferError(f"{path}: 缺少 {name}；请重新导出")
        if hashlib.sha256(found[name]).hexdigest() != manifest.get("sha256", {}).get(name):
            raise TransferError(f"{path}: {name} 的校验和不符，文件在拷贝中损坏或被改动；请重新拷贝或重新导出")
    return manifest, found


def import_kb(settings, path: Path, create_service) -> TransferReport:
    """Verify an archive, then store its documents (vectors reused when the model is the same), corrections and feedback.

    `create_service(settings)` builds the service to import into. Raises TransferError before touching the store when the
    archive is damaged, and after importing when the store does not hold everything the manifest lists.
    """
    began = time.perf_counter()
    manifest, members = read_archive(Path(path))
    documents = [json.loads(line) for line in members["documents.jsonl"].decode("utf-8").splitlines() if line.strip()]
    with tempfile.TemporaryDirectory(prefix="policyqa-import-") as folder:
        scoped = settings.model_copy(update={"passage_max_chars": manifest["passage_max_chars"]})
        service = create_service(scoped)
        same_model = manifest.get("model") == service.retriever.model_label
        if same_model and not settings.embed_cache:
            cache = Path(folder) / "vectors.sqlite3"
            service = create_service(scoped.model_copy(update={"embed_cache": str(cache)}))
            preload(service, members)
        report = service.ingest_texts([as_ingested(d) for d in documents])
    if report.errors:
        raise TransferError("导入时出错：" + "；".join(report.errors))
    corrections = json.loads(members["corrections.json"])
    for doc_id, fields in corrections.items():
        service.lifecycles.corrections.put(doc_id, fields)
    restored = service.feedback().restore(json.loads(members["feedback.json"]))
    check_complete(service, documents)
    return TransferReport(len(documents), manifest["passages"], len(corrections), restored, embedded_again=not same_model,
                          seconds=time.perf_counter() - began)


def preload(service, members: dict[str, bytes]) -> None:
    """Put the archive's passage vectors in the service's embedding cache, so they are not computed again."""
    vectors = np.load(io.BytesIO(members["vectors.npy"]), allow_pickle=False)
    texts = json.loads(members["vector_texts.json"])
    cache = service.store.vectors.embeddings.inner
    if len(texts) and hasattr(cache, "preload"):
        cache.preload(texts, vectors)


def as_ingested(document: dict) -> dict:
    """An exported document as ingest_texts takes it: the same id, title, source and metadata."""
    from vectorstore.table import DOCUMENT_FIELDS

    return {
        "doc_id": document["doc_id"], "title": document["title"], "source": document["source"], "text": document["text"],
        "metadata": {k: document.get(k, "") for k in DOCUMENT_FIELDS},
    }


def check_complete(service, documents: list[dict]) -> None:
    """Every exported document stored with exactly its passages; TransferError naming what differs."""
    store = service.store
    store.refresh_if_changed(max_age=0)
    for document in documents:
        stored = [p.passage_id for p in store.passages_of(document["doc_id"])]
        if sorted(stored) != sorted(document["passage_ids"]):
            raise TransferError(
                f"《{document['title']}》导入后的段落与导出时不一致（{len(stored)} / {len(document['passage_ids'])} 段）；"
                "请确认两台机器的 PolicyQA 版本相同"
            )
