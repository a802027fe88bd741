"""Moving a store to another embedding model: the new collection is filled beside the old one.

Each model's vectors live in a collection of their own (`policyqa-<model>`). When the configured
model's collection is empty, or still being filled, the assistant answers from the fullest
collection of another model it can load, and says so. `app.py reindex` copies every passage into
the new collection with the new model's vectors, a batch at a time: a run that is killed goes on
where it stopped when started again, and only when the last passage is in does the new collection
count as complete (the next start uses it and logs the switch).
"""

import logging
from dataclasses import dataclass

from vectorstore.chroma import COSINE, MODEL_KEY, all_ids

log = logging.getLogger(__name__)

FILLING_KEY = "policyqa_filling_from"
AUXILIARY_SUFFIXES = ("-state", "-documents", "-corrections")
# Collections made before the model was recorded in their metadata, by their label.
LEGACY_MODELS = {"all-MiniLM-L6-v2": "all-MiniLM-L6-v2"}
COPY_BATCH = 64


@dataclass(frozen=True)
class StoredCollection:
    """A passage collection in the store: its name, the model that made its vectors, its size, whether complete."""

    name: str
    model: str | None
    passages: int
    complete: bool


def describe(collection) -> StoredCollection:
    """What the store says of one collection."""
    metadata = collection.metadata or {}
    label = collection.name.split("-", 1)[1] if "-" in collection.name else ""
    model = metadata.get(MODEL_KEY) or LEGACY_MODELS.get(label)
    return StoredCollection(collection.name, model, collection.count(), FILLING_KEY not in metadata)


def passage_collections(client, base: str) -> list[StoredCollection]:
    """Every passage collection under this base name (not the state and document-text collections)."""
    found = []
    for listed in client.list_collections():
        name = listed if isinstance(listed, str) else listed.name
        if name.startswith(f"{base}-") and not name.endswith(AUXILIARY_SUFFIXES):
            found.append(describe(client.get_collection(name)))
    return found


def answering_collection(client, base: str, target: str) -> StoredCollection | None:
    """The collection to answer from when the target one is empty or unfinished: the fullest complete one of a known model."""
    current = {c.name: c for c in passage_collections(client, base)}
    wanted = current.get(target)
    if wanted is not None and wanted.passages and wanted.complete:
        return None
    others = [c for n, c in current.items() if n != target and c.complete and c.passages and c.model]
    return max(others, key=lambda c: c.passages, default=None)


def fill_collection(source, target, embeddings, progress=None, batch: int = COPY_BATCH) -> int:
    """Copy every passage of `source` into `target` with vectors from `embeddings`; returns how many were embedded.

    Passages already in the target are skipped, so a run killed part-way finishes when run again.
    `progress` is called with the number of passages just copied.
    """
    have = set(all_ids(target))
    missing = [pid for pid in all_ids(source) if pid not in have]
    if progress and have:
        progress(len(have))
    for start in range(0, len(missing), batch):
        ids = missing[start : start + batch]
        rows = source.get(ids=ids, include=["documents", "metadatas"])
        vectors = embeddings.embed_documents(rows["documents"])
        target.add(ids=rows["ids"], embeddings=vectors, documents=rows["documents"], metadatas=rows["metadatas"])
        if progress:
            progress(len(ids))
    return len(missing)


def reindex(client, base: str, target_name: str, model: str, embeddings, progress=None, batch: int = COPY_BATCH) -> dict:
    """Fill the configured model's collection from the one answering now, then mark it complete.

    Returns what was done: the source and target collections and the passages embedded.
    Raises LookupError when there is nothing to move.
    """
    source_info = answering_collection(client, base, target_name)
    target = client.get_or_create_collection(
        target_name, metadata={MODEL_KEY: model}, configuration=COSINE
    )
    if source_info is None:
        if describe(target).complete:
            raise LookupError(f"知识库已是用 {model} 建立的，无需重建")
        raise LookupError("没有可用来重建的旧向量库")
    source = client.get_collection(source_info.name)
    if not describe(target).complete and target.count():
        target = rebuilt(client, target)
    target.modify(metadata={MODEL_KEY: model, FILLING_KEY: source_info.name})
    copy_texts(client, source_info.name, target_name)
    embedded = fill_collection(source, target, embeddings, progress, batch)
    target.modify(metadata={MODEL_KEY: model})
    log.warning("向量库已由 %s（%s）重建为 %s（%s），重启后使用新模型作答", source_info.model, source_info.name, model, target_name)
    return {"from": source_info.name, "from_model": source_info.model, "to": target_name, "model": model,
            "passages": target.count(), "embedded": embedded}


def rebuilt(client, collection):
    """An unfinished collection made anew from its own stored vectors (nothing is embedded again).

    An embedded Chroma killed in the middle of an add keeps the records but can leave its vector
    index without some of them (queries then fail with 'Error finding id' or miss passages), so a
    resumed run starts from a clean index.
    """
    name, metadata, rows = collection.name, dict(collection.metadata or {}), {"ids": [], "embeddings": [], "documents": [], "metadatas": []}
    ids = all_ids(collection)
    for start in range(0, len(ids), 1000):
        part = collection.get(ids=ids[start : start + 1000], include=["embeddings", "documents", "metadatas"])
        for key in rows:
            rows[key].extend(list(part[key]))
    client.delete_collection(name)
    fresh = client.create_collection(name, metadata=metadata, configuration=COSINE)
    for start in range(0, len(rows["ids"]), 1000):
        fresh.add(**{key: [*values[start : start + 1000]] for key, values in rows.items()})
    return fresh


def copy_texts(client, source_name: str, target_name: str) -> None:
    """On a shared server, the document texts kept beside the old collection are kept beside the new one too."""
    names = {c if isinstance(c, str) else c.name for c in client.list_collections()}
    if f"{source_name}-documents" not in names:
        return
    source = client.get_collection(f"{source_name}-documents")
    target = client.get_or_create_collection(f"{target_name}-documents", embedding_function=None)
    ids = all_ids(source)
    for start in range(0, len(ids), 500):
        rows = source.get(ids=ids[start : start + 500], include=["documents", "embeddings"])
        target.upsert(ids=rows["ids"], documents=rows["documents"], embeddings=rows["embeddings"])
