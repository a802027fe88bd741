"""Users' corrections to what documents state of themselves, kept apart from the passages so that re-ingest keeps them."""

import json

from vectorstore.texts import text_key


class DocumentCorrections:
    """Corrected fields by doc_id, one record each in a Chroma collection beside the passages (shared by every process)."""

    def __init__(self, collection) -> None:
        self.collection = collection

    def all(self) -> dict[str, dict]:
        """Every document's corrected fields."""
        found = self.collection.get(include=["documents"])
        return {doc_id: json.loads(text) for doc_id, text in zip(found["ids"], found["documents"]) if text}

    def put(self, doc_id: str, fields: dict) -> dict:
        """Lay these fields over the document's earlier corrections; the corrections now in force."""
        found = self.collection.get(ids=[doc_id], include=["documents"])
        merged = {**(json.loads(found["documents"][0]) if found["ids"] else {}), **fields}
        self.collection.upsert(ids=[doc_id], embeddings=[text_key(doc_id)], documents=[json.dumps(merged, ensure_ascii=False)])
        return merged
