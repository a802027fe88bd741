"""The ingest pipeline: files, uploads and in-memory texts read, split and handed to the store, a chunk of files at a time.

The pipeline is given the store's functions (store documents, list stored ones), so `ingest/` knows
nothing of the store. A run killed part-way and started again finishes the work: passage ids derive
from content, and a file is recorded as done only once its passages are stored.
"""

import dataclasses
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ingest import load_policy_file, parse_policy_text
from ingest.loaders import SIDECAR_SUFFIX, IngestError, policy_files
from ingest.manifest import SourceManifest, file_digest
from ingest.metadata import given_metadata, sidecar_metadata, with_metadata
from ingest.pages import PageLayouts

CHUNK_FILES = 32
UPLOADS_DIR = "uploads"
# Where paged documents' layouts are kept (ingest.pages), under the data directory.
PAGES_DIR = "pages"
# File systems allow 255 bytes a name; the rest leaves room for the names kept beside a file
# (its sidecar, a temporary copy), so a long Chinese name (3 bytes a character) is cut, not refused.
MAX_NAME_BYTES = 180


@dataclass
class IngestReport:
    """What one ingest run did."""

    files: int = 0
    documents_added: int = 0
    documents_unchanged: int = 0
    passages_added: int = 0
    # Pages of paged files read (PDF, OFD, scans and photos), for the pages-per-second figure.
    pages: int = 0
    seconds: float = 0.0
    # Seconds spent reading those files (OCR's share of the run, without the embedding).
    page_seconds: float = 0.0

    errors: list[str] = field(default_factory=list)
    doc_ids: list[str] = field(default_factory=list)

    @property
    def passages_per_second(self) -> float:
        """Passages stored per second of the run."""
        return self.passages_added / self.seconds if self.seconds else 0.0

    @property
    def pages_per_second(self) -> float:
        """Pages of paged files read per second of reading them (OCR'd scans dominate it)."""
        return self.pages / self.page_seconds if self.page_seconds else 0.0

    def to_dict(self) -> dict:
        """The report as JSON-ready data."""
        return {
            **asdict(self), "passages_per_second": round(self.passages_per_second, 1),
            "pages_per_second": round(self.pages_per_second, 2),
        }


def upload_name(filename: str) -> str:
    """The base name an uploaded file is kept under; refused when nothing usable is left."""
    name = re.sub(r"[\x00-\x1f]", "", Path(str(filename).replace("\\", "/")).name).lstrip(".").strip()
    if not name or name.endswith(SIDECAR_SUFFIX):
        raise IngestError(f"文件名无效（{filename!r}），请使用如 通知.docx 这样的文件名")
    return cut_name(name, MAX_NAME_BYTES)


def cut_name(name: str, limit: int) -> str:
    """The name's beginning and its suffix, within `limit` UTF-8 bytes (never a character cut in two)."""
    if len(name.encode("utf-8")) <= limit:
        return name
    suffix = Path(name).suffix
    suffix = suffix if len(suffix) <= 16 else ""
    room = limit - len(suffix.encode("utf-8"))
    stem = name[: len(name) - len(suffix)].encode("utf-8")[:room].decode("utf-8", errors="ignore")
    return stem.rstrip() + suffix


class IngestPipeline:
    """Reads policy files into documents and passages and stores them through `store_documents`.

    `store_documents(items)` stores (document, passages) pairs and returns the new passages of each;
    `stored_doc_ids()` lists the documents stored now; the manifest of what each file yielded is kept
    at `manifest_path`; uploads are kept under `data_dir`.
    """

    def __init__(
        self,
        store_documents: Callable[[list], list[int]],
        stored_doc_ids: Callable[[], set[str]],
        manifest_path: Path,
        data_dir: Path,
        passage_max_chars: int,
    ) -> None:
        self.store_documents = store_documents
        self.stored_doc_ids = stored_doc_ids
        self.manifest_path = Path(manifest_path)
        self.data_dir = Path(data_dir)
        self.passage_max_chars = passage_max_chars
        self.layouts = PageLayouts(self.data_dir / PAGES_DIR)

    def ingest(self, paths: list[Path], progress=None, metadata: dict | None = None, read: dict | None = None) -> IngestReport:
        """Ingest files and folders; unchanged files are skipped, a failing one is reported.

        `progress`, when given, is called with the number of files just handled; `metadata` (title,
        issuer, date, doc_number) is laid over every file's, its sidecar's included. Files inside the
        data directory are skipped unless named one by one (an upload is). `read` maps a path to the
        documents already read from it (an upload checked before it is kept), so that it is not read twice.
        """
        report, began = IngestReport(), time.perf_counter()
        store_dir = self.data_dir.resolve()
        named = {Path(p).resolve() for p in paths if Path(p).is_file()}
        files = [
            p for p in policy_files([Path(p) for p in paths])
            if p.resolve() in named or store_dir not in p.resolve().parents
        ]
        manifest = SourceManifest(self.manifest_path)
        given = given_metadata(metadata)
        for start in range(0, len(files), CHUNK_FILES):
            chunk = files[start : start + CHUNK_FILES]
            self._ingest_chunk(chunk, manifest, given, report, read or {})
            if progress:
                progress(len(chunk))
        report.seconds = time.perf_counter() - began
        return report

    def _ingest_chunk(self, chunk: list[Path], manifest: SourceManifest, metadata: dict, report: IngestReport, read: dict) -> None:
        """Read the changed files of a chunk, store them, and only then record them as done."""
        parsed, digests = [], {}
        stored = self.stored_doc_ids()
        for path in chunk:
            report.files += 1
            try:
                if not path.exists():
                    raise IngestError(f"{path}: 文件不存在，请检查路径")
                # the passage size is part of what a file was stored with: changing it re-splits the file
                cut = {**metadata, "passage_max_chars": self.passage_max_chars}
                digests[str(path)] = digest = file_digest(path, extra=json.dumps(cut, sort_keys=True))
                known = manifest.unchanged(str(path), digest, stored)
                if known is not None:
                    report.documents_unchanged += len(known)
                    continue
                articles = read.get(str(path))
                if articles is None:  # read here (an upload was read, and counted, when it was checked)
                    reading = time.perf_counter()
                    articles = load_policy_file(path, self.passage_max_chars)
                    self._count_pages(report, articles, time.perf_counter() - reading)
                parsed.extend(with_metadata(articles, {**sidecar_metadata(path), **metadata}))
            except (IngestError, OSError) as error:
                report.errors.append(str(error))
        self._store(parsed, report)
        for source in {document.source for document, _ in parsed}:
            manifest.record(source, digests[source], [d.doc_id for d, _ in parsed if d.source == source])
        manifest.save()

    @staticmethod
    def _count_pages(report: IngestReport, articles: list, seconds: float) -> None:
        """Add a paged file's pages, and the time its reading took, to the report."""
        pages = len({p.number for d, _ in articles if d.layout for p in d.layout.pages})
        if pages:
            report.pages += pages
            report.page_seconds += seconds

    def ingest_upload(self, filename: str, content: bytes, metadata: dict | None = None) -> IngestReport:
        """Keep an uploaded file under the data directory and ingest it; a file that cannot be read is refused unstored.

        The upload replaces an earlier one of the same name (its old passages go); only the file's
        base name is used, so a name such as `../../x.txt` cannot write outside the uploads folder.
        An upload refused for any reason (unreadable, disk full) leaves nothing behind: the earlier
        file of that name, if any, is put back. Errors name the file, never a server path.
        """
        name = upload_name(filename)
        uploads = self.data_dir / UPLOADS_DIR
        incoming = uploads / ".incoming"
        incoming.mkdir(parents=True, exist_ok=True)
        staged, final, kept = incoming / name, uploads / name, incoming / f"{name}.previous"
        try:
            staged.write_bytes(content)
            try:
                reading = time.perf_counter()
                articles = load_policy_file(staged, self.passage_max_chars)
                seconds = time.perf_counter() - reading
            except IngestError as error:
                raise IngestError(without_paths(str(error), name, (staged,))) from error
            if final.exists():
                os.replace(final, kept)
            staged.replace(final)
            read = {str(final): [(dataclasses.replace(d, source=str(final)), p) for d, p in articles]}
            report = self.ingest([final], metadata=metadata, read=read)
            self._count_pages(report, articles, seconds)
        except BaseException:  # whatever refused it (unreadable, disk full, a failed store), nothing stays
            self._withdraw(staged, final, kept)
            raise
        if report.errors and not report.doc_ids:
            self._withdraw(staged, final, kept)
        else:
            kept.unlink(missing_ok=True)
        report.errors = [without_paths(e, name, (staged, final, self.data_dir)) for e in report.errors]
        return report

    @staticmethod
    def _withdraw(staged: Path, final: Path, kept: Path) -> None:
        """Undo a refused upload: its files go, and the earlier file of that name comes back."""
        staged.unlink(missing_ok=True)
        if kept.exists():
            os.replace(kept, final)
        else:
            final.unlink(missing_ok=True)

    def ingest_texts(self, texts: list[dict]) -> IngestReport:
        """Ingest in-memory documents: dicts with `text`, `source` and optionally `doc_id`, `title` and `metadata`."""
        report, began = IngestReport(files=len(texts)), time.perf_counter()
        parsed = []
        for item in texts:
            try:
                parsed.append(
                    parse_policy_text(
                        item["text"], item["source"], self.passage_max_chars, doc_id=item.get("doc_id"), title=item.get("title"),
                        metadata=item.get("metadata"),
                    )
                )
            except IngestError as error:
                report.errors.append(str(error))
        self._store(parsed, report)
        report.seconds = time.perf_counter() - began
        return report

    def forget(self, doc_ids: set[str]) -> None:
        """Forget removed documents' files, so that ingesting such a file again stores it again."""
        manifest = SourceManifest(self.manifest_path)
        manifest.forget_documents(doc_ids)
        manifest.save()
        self.layouts.drop(doc_ids)

    def _store(self, parsed: list, report: IngestReport) -> None:
        for document, passages in parsed:
            if not passages:
                report.errors.append(f"{document.source}: 没有切分出可检索的段落，请检查文件内容")
        usable = [(d, p) for d, p in parsed if p]
        report.doc_ids.extend(d.doc_id for d, _ in usable)
        for added in self.store_documents(usable):
            report.passages_added += added
            report.documents_added += bool(added)
            report.documents_unchanged += not added
        for document, _ in usable:
            if document.layout is not None:
                self.layouts.put(document.doc_id, document.source, document.layout)


def without_paths(message: str, name: str, paths: tuple[Path, ...]) -> str:
    """A message about an upload with the server's paths replaced by the file's name."""
    for path in paths:
        message = message.replace(str(path.resolve()), name).replace(str(path), name)
    return message
