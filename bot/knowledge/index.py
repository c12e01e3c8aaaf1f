"""The guide index: chromadb (on disk by default, or a Chroma server) with explicit embeddings.

Two collections: `<name>` holds chunks (embedding, text, metadata); `<name>__guides` is the
registry, one record per ingested file (content hash, chunk ids, a `complete` marker). The
embedding model id is stored in the chunk collection's metadata; opening it with another model
is a clear error. On disk, one process at a time owns the index (a file lock), because Chroma is
not safe for several processes sharing one local path; several bots share a Chroma server.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.errors import KnowledgeIndexError

log = logging.getLogger(__name__)

_clients: dict[str, tuple[Any, Any]] = {}  # persist path -> (client, lock file) for this process
_clients_lock = threading.Lock()
STATE_ID = "__state__"


def _persistent_client(path: Path):
    key = str(path.resolve())
    with _clients_lock:
        if key in _clients:
            return _clients[key][0]
        path.mkdir(parents=True, exist_ok=True)
        lock = open(path / ".mlbot.lock", "a+")  # noqa: SIM115 - held for the life of the process
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            owner = lock.read().strip() or "another process"
            lock.close()
            raise KnowledgeIndexError(
                f"the index at {path} is in use by {owner} (a running bot?).",
                hint="Stop that process, or set vectorstore.mode: http to share one Chroma server between processes.",
            ) from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"pid {os.getpid()}")
        lock.flush()
        import chromadb

        client = chromadb.PersistentClient(path=str(path), settings=chromadb.Settings(anonymized_telemetry=False))
        _clients[key] = (client, lock)
        return client


def release_clients() -> None:
    """Drop this process's clients and locks (tests and shutdown)."""
    with _clients_lock:
        for client, lock in _clients.values():
            try:
                client.clear_system_cache()
            except Exception:  # noqa: BLE001 - best effort on shutdown
                pass
            lock.close()
        _clients.clear()


class GuideIndex:
    def __init__(self, settings: Settings, model_id: str):
        self.settings = settings
        self.model_id = model_id
        self._client = None
        self._chunks = None
        self._registry = None
        self._sections = None
        self._changing = False  # inside `changes()`
        self._touched = False  # the content changed in this `changes()` block (the token was bumped)

    # Opening -------------------------------------------------------------------------------
    @property
    def path(self) -> Path:
        return self.settings.data_dir / "index"

    def client(self):
        if self._client is None:
            vs = self.settings.vectorstore
            if vs.mode == "http":
                import chromadb

                try:
                    self._client = chromadb.HttpClient(host=vs.host, port=vs.port,
                                                       settings=chromadb.Settings(anonymized_telemetry=False))
                    self._client.heartbeat()
                except Exception as exc:  # noqa: BLE001 - any connection failure
                    self._client = None
                    raise KnowledgeIndexError(
                        f"cannot reach the Chroma server at {vs.host}:{vs.port} ({exc.__class__.__name__}).",
                        hint="Start it (`chroma run --path DIR --port PORT`) or use vectorstore.mode: persistent.",
                    ) from None
            else:
                self._client = _persistent_client(self.path)
        return self._client

    def exists(self) -> bool:
        if self.settings.vectorstore.mode == "persistent" and not (self.path / "chroma.sqlite3").exists():
            return False
        client = self.client()  # an unreachable server is an error, not an empty index
        try:
            client.get_collection(self.settings.vectorstore.collection)
            return True
        except Exception:  # noqa: BLE001 - chromadb raises NotFoundError or ValueError by version
            return False

    def chunks(self, *, create: bool = False):
        if self._chunks is None:
            name = self.settings.vectorstore.collection
            client = self.client()
            if create:
                col = client.get_or_create_collection(
                    name, embedding_function=None, metadata={"embedding_model": self.model_id},
                    configuration={"hnsw": {"space": "cosine"}},
                )
            else:
                try:
                    col = client.get_collection(name, embedding_function=None)
                except Exception:  # noqa: BLE001
                    raise KnowledgeIndexError(
                        "the knowledge index is empty: no guides have been ingested yet.",
                        hint="Run `mlbot ingest knowledge/` (make run does it for you).",
                    ) from None
            stored = (col.metadata or {}).get("embedding_model")
            if stored and stored != self.model_id:
                raise KnowledgeIndexError(
                    f"the index was built with the embedding model '{stored}', but the configuration uses "
                    f"'{self.model_id}'.",
                    hint="Re-ingest with the new model: `mlbot kb reindex` (or switch embeddings back).",
                )
            self._chunks = col
        return self._chunks

    def registry(self):
        if self._registry is None:
            self._registry = self.client().get_or_create_collection(
                self.settings.vectorstore.collection + "__guides", embedding_function=None,
                configuration={"hnsw": {"space": "cosine"}},
            )
        return self._registry

    def sections(self):
        """Heading paths and their vectors: a third ranker that matches questions to section titles."""
        if self._sections is None:
            self._sections = self.client().get_or_create_collection(
                self.settings.vectorstore.collection + "__sections", embedding_function=None,
                metadata={"embedding_model": self.model_id}, configuration={"hnsw": {"space": "cosine"}},
            )
        return self._sections

    def section_vectors(self, names: list[str]) -> dict[str, list[float]]:
        out: dict[str, list[float]] = {}
        col = self.sections()
        for start in range(0, len(names), 500):
            part = names[start : start + 500]
            got = col.get(ids=[section_id(n) for n in part], include=["embeddings", "documents"])
            for doc, vec in zip(got["documents"], got["embeddings"], strict=True):
                out[doc] = vec
        return out

    def add_sections(self, names: list[str], vectors) -> None:
        self._touch()
        self.sections().upsert(ids=[section_id(n) for n in names], embeddings=vectors, documents=names)

    def drop(self) -> None:
        client = self.client()
        self._touch()
        for name in (self.settings.vectorstore.collection, self.settings.vectorstore.collection + "__guides",
                     self.settings.vectorstore.collection + "__sections"):
            try:
                client.delete_collection(name)
            except Exception:  # noqa: BLE001 - absent is fine
                pass
        self._chunks = self._registry = self._sections = None
        if self._changing:
            self.bump()  # the new registry starts with a fresh token, never an empty one

    # Registry --------------------------------------------------------------------------------
    def guides(self) -> dict[str, dict[str, Any]]:
        """source -> {sha256, title, topic, chunk_ids, complete, ...} for every ingested file."""
        got = self.registry().get(include=["metadatas", "documents"])
        out = {}
        for rid, meta, doc in zip(got["ids"], got["metadatas"], got["documents"], strict=False):
            if rid == STATE_ID:
                continue
            record = dict(meta or {})
            record["chunk_ids"] = json.loads(doc or "[]")
            out[record["source"]] = record
        return out

    def put_guide(self, source: str, record: dict[str, Any], chunk_ids: list[str]) -> None:
        meta = {k: v for k, v in record.items() if isinstance(v, (str, int, float, bool)) and k != "chunk_ids"}
        meta["source"] = source
        self._touch()
        self.registry().upsert(ids=[_rid(source)], documents=[json.dumps(chunk_ids)], metadatas=[meta],
                               embeddings=[[0.0, 0.0]])

    def delete_guide(self, source: str) -> None:
        self._touch()
        self.registry().delete(ids=[_rid(source)])

    def generation(self) -> str:
        """The index's current version token: a new random value whenever its content may have changed.

        Readers compare it with the token their in-memory corpus (or its snapshot on disk) was read at;
        a token never repeats, so a dropped and rebuilt index can never look like an older one.
        """
        got = self.registry().get(ids=[STATE_ID], include=["metadatas"])
        return str(got["metadatas"][0].get("generation", "")) if got["ids"] else ""

    @contextmanager
    def changes(self):
        """A block of writes. The token is bumped before the first change (so no reader trusts a copy
        from before it, even if the process dies mid-write) and again at the end (so a copy read
        mid-write is refreshed). A block that changes nothing keeps the token."""
        self._changing, self._touched = True, False
        try:
            yield
        finally:
            self._changing = False
            if self._touched:
                self._touched = False
                self.bump()

    @property
    def writing(self) -> bool:
        """This process is inside a block of writes (what it reads now may be half-written)."""
        return self._changing

    def _touch(self) -> None:
        if self._changing and not self._touched:
            self._touched = True
            self.bump()

    def bump(self) -> str:
        token = uuid.uuid4().hex
        self.registry().upsert(ids=[STATE_ID], documents=["state"], embeddings=[[0.0, 0.0]],
                               metadatas=[{"generation": token, "updated": time.time()}])
        return token

    # Chunks ------------------------------------------------------------------------------------
    def existing_ids(self, ids: list[str]) -> set[str]:
        found: set[str] = set()
        col = self.chunks(create=True)
        for start in range(0, len(ids), 500):
            found.update(col.get(ids=ids[start : start + 500], include=[])["ids"])
        return found

    def add(self, ids: list[str], vectors, documents: list[str], metadatas: list[dict]) -> None:
        self._touch()
        self.chunks(create=True).upsert(ids=ids, embeddings=vectors, documents=documents, metadatas=metadatas)

    def update_metas(self, ids: list[str], metadatas: list[dict]) -> None:
        """New metadata for chunks already in the index (their text and vectors stay)."""
        self._touch()
        col = self.chunks(create=True)
        for start in range(0, len(ids), 500):
            col.update(ids=ids[start : start + 500], metadatas=metadatas[start : start + 500])

    def delete_chunks(self, ids: list[str]) -> None:
        self._touch()
        col = self.chunks(create=True)
        for start in range(0, len(ids), 500):
            col.delete(ids=ids[start : start + 500])

    def count(self) -> int:
        return self.chunks().count()

    def query(self, vector, n: int) -> dict[str, list]:
        col = self.chunks()
        n = max(1, min(n, col.count()))
        res = col.query(query_embeddings=[vector], n_results=n, include=["distances"])
        return {"ids": res["ids"][0], "distances": res["distances"][0]}


def _rid(source: str) -> str:
    return "g-" + hashlib.sha256(source.encode("utf-8")).hexdigest()[:32]


def section_id(section: str) -> str:
    return "h-" + hashlib.sha256(section.encode("utf-8")).hexdigest()[:32]
