"""What was ingested from which file, so an unchanged file costs nothing the next time."""

import hashlib
import json
import os
from pathlib import Path

from ingest.loaders import SIDECAR_SUFFIX


def file_digest(path: Path, extra: str = "") -> str:
    """A digest of the file's bytes, of its metadata sidecar if it has one, and of metadata given with it."""
    digest = hashlib.sha1(path.read_bytes())
    digest.update(extra.encode("utf-8"))
    sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
    if sidecar.is_file():
        digest.update(sidecar.read_bytes())
    return digest.hexdigest()


class SourceManifest:
    """source path → digest and document ids, kept in a JSON file written atomically."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.entries: dict[str, dict] = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.entries = {}

    def unchanged(self, source: str, digest: str, stored_doc_ids: set[str]) -> list[str] | None:
        """The document ids of a source whose file is as it was and whose documents are all stored, else None."""
        entry = self.entries.get(source)
        if entry and entry["digest"] == digest and entry["doc_ids"] and set(entry["doc_ids"]) <= stored_doc_ids:
            return entry["doc_ids"]
        return None

    def record(self, source: str, digest: str, doc_ids: list[str]) -> None:
        self.entries[source] = {"digest": digest, "doc_ids": doc_ids}

    def forget_documents(self, doc_ids: set[str]) -> None:
        """Drop the sources whose documents were removed."""
        self.entries = {s: e for s, e in self.entries.items() if not set(e["doc_ids"]) & doc_ids}

    def save(self) -> None:
        temporary = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(self.entries, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(temporary, self.path)
