"""Each stored document's cleaned text, which passage offsets point into.

An embedded store keeps them as files in the data folder (Chroma slows down on large documents); a
shared server keeps them in a Chroma collection, so that every process sharing it reads the same.
"""

import hashlib
from pathlib import Path

from vectorstore.lexical import write_atomically


class FolderTexts:
    """Document texts as `<doc_id>.txt` files in a folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def put(self, documents: dict[str, str]) -> None:
        """Store doc_id → text."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for doc_id, text in documents.items():
            write_atomically(self.folder / f"{doc_id}.txt", text)

    def drop(self, doc_ids: set[str]) -> None:
        """Forget these documents' texts (unknown ids are ignored)."""
        for doc_id in doc_ids:
            (self.folder / f"{doc_id}.txt").unlink(missing_ok=True)

    def get(self, doc_id: str) -> str:
        """A document's text; FileNotFoundError when it is not stored."""
        return (self.folder / f"{doc_id}.txt").read_text(encoding="utf-8")


class CollectionTexts:
    """Document texts as records of a Chroma collection (on a shared server)."""

    def __init__(self, collection) -> None:
        self.collection = collection

    def put(self, documents: dict[str, str]) -> None:
        """Store doc_id → text."""
        ids = list(documents)
        self.collection.upsert(ids=ids, embeddings=[text_key(i) for i in ids], documents=list(documents.values()))

    def drop(self, doc_ids: set[str]) -> None:
        """Forget these documents' texts (unknown ids are ignored)."""
        if doc_ids:
            self.collection.delete(ids=sorted(doc_ids))

    def get(self, doc_id: str) -> str:
        """A document's text; FileNotFoundError when it is not stored."""
        found = self.collection.get(ids=[doc_id], include=["documents"])
        if not found["ids"]:
            raise FileNotFoundError(f"document {doc_id} has no stored text")
        return found["documents"][0]


def text_key(doc_id: str) -> list[float]:
    """A small vector for a stored document text (the text collection never searches by vector)."""
    digest = hashlib.sha1(doc_id.encode("utf-8")).digest()
    return [int.from_bytes(digest[:4], "big") / 2**32, int.from_bytes(digest[4:8], "big") / 2**32]
