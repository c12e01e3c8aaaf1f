"""Sentence vectors for answers: kept on disk, filled in the background, embedded on demand otherwise.

The ask path weighs the sentences of the top passages by their cosine to the question (the rerank,
the decline evidence, and the extractive answer when `compose.sem` > 0). Embedding them at question
time was most of a warm answer's time, and embedding every sentence inside ingest would double it.
So:

- `SentenceStore` keeps vectors in SQLite in the data dir (`cache/sentences.sqlite`), keyed by a hash
  of the embedding model id and the sentence's exact text. A changed sentence is a new key (never a
  stale vector); an unchanged one survives re-ingest, reindex and restarts. Several processes may
  read and write it at once (WAL, a busy timeout; writes only add or prune).
- `SentenceVectors` answers a list of sentences from an in-memory LRU, then the store, and embeds
  what neither holds in one batch (and stores it, so a one-shot process helps the next).
- `SentenceFill` embeds every sentence of the served index that the store lacks, in a daemon thread
  started by long-running fronts (`Core.warm`) and again when the index changes. It runs on its
  own model session (`sentences.fill_threads`) at the lowest OS priority and waits between batches
  while a question is being answered, so an answer shares the CPU with at most the one batch in
  progress (evals/bench_ask.py measures asks during the fill). Sizes live in `config.yaml`.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from bot.config import Settings
from bot.knowledge.compose import split_sentences
from bot.knowledge.embeddings import encode

log = logging.getLogger(__name__)

_SCHEMA = "CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vec BLOB NOT NULL) WITHOUT ROWID"


def chunk_sentences(text: str) -> list[str]:
    """The sentences of a passage whose vectors the ask path weighs (as the answer renders them)."""
    return [s for _, s in split_sentences(text)]


def sentence_key(model_id: str, text: str) -> bytes:
    return hashlib.sha1(f"{model_id}\n{text}".encode()).digest()


class SentenceStore:
    """Sentence vectors on disk, content-addressed by model id and sentence text."""

    def __init__(self, path: Path, model_id: str):
        self.path = path
        self.model_id = model_id
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # a cache: a power cut may lose the last writes, never corrupt
            conn.execute(_SCHEMA)
            self._local.conn = conn
            with self._lock:
                self._conns.append(conn)
        return conn

    def keys(self, texts: list[str]) -> list[bytes]:
        return [sentence_key(self.model_id, t) for t in texts]

    def _rows(self, columns: str, keys: list[bytes]) -> Iterator[tuple]:
        """The stored rows of these keys (`columns` of the vectors table), 500 keys per query."""
        conn = self._conn()
        for start in range(0, len(keys), 500):
            part = keys[start : start + 500]
            yield from conn.execute(f"SELECT {columns} FROM vectors WHERE key IN ({','.join('?' * len(part))})", part)

    def get(self, keys: list[bytes]) -> dict[bytes, np.ndarray]:
        return {k: np.frombuffer(v, dtype=np.float32) for k, v in self._rows("key, vec", keys)}

    def missing(self, keys: list[bytes]) -> list[bytes]:
        found = {k for (k,) in self._rows("key", keys)}
        return [k for k in keys if k not in found]

    def put(self, keys: list[bytes], vectors: np.ndarray) -> None:
        rows = [(k, np.ascontiguousarray(v, dtype=np.float32).tobytes()) for k, v in zip(keys, vectors, strict=True)]
        with self._conn() as conn:  # one transaction
            conn.execute("BEGIN")
            conn.executemany("INSERT OR IGNORE INTO vectors (key, vec) VALUES (?, ?)", rows)

    def retain(self, keys: set[bytes]) -> int:
        """Drop every vector whose key is not in `keys` (sentences no guide has any more); how many."""
        conn = self._conn()
        with conn:
            conn.execute("BEGIN")
            conn.execute("CREATE TEMP TABLE IF NOT EXISTS keep (key BLOB PRIMARY KEY) WITHOUT ROWID")
            conn.execute("DELETE FROM keep")
            conn.executemany("INSERT OR IGNORE INTO keep (key) VALUES (?)", [(k,) for k in keys])
            gone = conn.execute("DELETE FROM vectors WHERE key NOT IN (SELECT key FROM keep)").rowcount
            conn.execute("DELETE FROM keep")
        return gone

    def count(self) -> int:
        return int(self._conn().execute("SELECT COUNT(*) FROM vectors").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            for conn in self._conns:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._conns.clear()
        self._local = threading.local()


class SentenceVectors:
    """Vectors for lists of sentences: memory, then the store, then the model (one batch, stored)."""

    def __init__(self, embeddings: Any, store: SentenceStore | None, *, memory: int):
        self.embeddings = embeddings
        self.store = store
        self.memory = memory
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.counts = {"memory": 0, "store": 0, "encoded": 0}

    def get(self, sentences: list[str]) -> np.ndarray:
        """One row per sentence, in order."""
        if not sentences:
            return np.zeros((0, 1), dtype=np.float32)
        found = self._lookup(list(dict.fromkeys(sentences)))
        return np.vstack([found[s] for s in sentences])

    def _lookup(self, texts: list[str]) -> dict[str, np.ndarray]:
        with self._lock:
            found = {t: self._cache[t] for t in texts if t in self._cache}
            for t in found:
                self._cache.move_to_end(t)
        self.counts["memory"] += len(found)
        rest = [t for t in texts if t not in found]
        if rest and self.store is not None:
            keys = self.store.keys(rest)
            stored = self.store.get(keys)
            got = {t: stored[k] for t, k in zip(rest, keys, strict=True) if k in stored}
            self.counts["store"] += len(got)
            found.update(got)
            rest = [t for t in rest if t not in got]
        if rest:
            vecs = encode(self.embeddings, rest)
            self.counts["encoded"] += len(rest)
            if self.store is not None:
                self.store.put(self.store.keys(rest), vecs)
            found.update(zip(rest, vecs, strict=True))
        with self._lock:
            for t in texts:
                self._cache[t] = found[t]
                self._cache.move_to_end(t)
            while len(self._cache) > self.memory:
                self._cache.popitem(last=False)
        return found


class Activity:
    """Questions being answered now: the fill waits while there are any."""

    def __init__(self):
        self._n = 0
        self._cond = threading.Condition()

    @contextlib.contextmanager
    def busy(self) -> Iterator[None]:
        with self._cond:
            self._n += 1
        try:
            yield
        finally:
            with self._cond:
                self._n -= 1
                self._cond.notify_all()

    def wait_idle(self, stop: threading.Event, timeout: float = 1.0) -> None:
        with self._cond:
            while self._n and not stop.is_set():
                self._cond.wait(timeout)


class SentenceFill:
    """Embeds, in a background thread, the sentences of the served index that the store lacks."""

    def __init__(self, settings: Settings, store: SentenceStore, make_embeddings: Callable[[], Any],
                 activity: Activity, live_generation: Callable[[], str]):
        self.settings = settings
        self.store = store
        self._make_embeddings = make_embeddings
        self.activity = activity
        self._live_generation = live_generation
        self._embeddings = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.generation: str | None = None
        self.done = threading.Event()

    def start(self, corpus) -> bool:
        """Fill for this copy of the index (a fill for an older one stops first); False when one runs for it."""
        with self._lock:
            if self.generation == corpus.generation and self._thread is not None:
                return False
            self._halt()
            self.generation = corpus.generation
            self.done.clear()
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._run, args=(corpus, self._stop), daemon=True,
                                            name="mlbot-sentence-fill")
            self._thread.start()
            return True

    def stop(self) -> None:
        with self._lock:
            self._halt()

    def _halt(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)
        self._thread = None

    def _run(self, corpus, stop: threading.Event) -> None:
        _lowest_priority()
        started = time.monotonic()
        try:
            added = self.fill(corpus, stop)
        except Exception:  # a cache: answers still embed on demand
            log.exception("sentence fill failed")
            return
        finally:
            self._embeddings = None  # its own model session is freed until the index changes again
        if not stop.is_set():
            self.done.set()
            log.info("sentence fill done added=%d seconds=%.1f", added, time.monotonic() - started)

    def fill(self, corpus, stop: threading.Event | None = None) -> int:
        """Embed and store every missing sentence of this copy of the index (in batches, each after the
        questions in progress); then, if the index has not changed since, drop stored sentences no chunk
        has any more. How many were added."""
        stop = stop or threading.Event()
        cfg = self.settings.sentences
        wanted = list(dict.fromkeys(s for text in corpus.texts for s in chunk_sentences(text)))
        keys = self.store.keys(wanted)
        by_key = dict(zip(keys, wanted, strict=True))
        todo = self.store.missing(keys)
        added = 0
        for start in range(0, len(todo), cfg.fill_batch):
            self.activity.wait_idle(stop)
            if stop.is_set():
                return added
            part = todo[start : start + cfg.fill_batch]
            part = self.store.missing(part)  # another process may have filled them meanwhile
            if part:
                self.store.put(part, encode(self._model(), [by_key[k] for k in part]))
                added += len(part)
        if not stop.is_set() and self._live_generation() == corpus.generation:
            self.store.retain(set(keys))
        return added

    def _model(self):
        if self._embeddings is None:
            self._embeddings = self._make_embeddings()
        return self._embeddings


def fill_embeddings(settings: Settings, shared: Callable[[], Any]) -> Any:
    """The model the fill runs on: the local ONNX model on its own session with `sentences.fill_threads`
    (so it never queues behind, or in front of, an answer), else the shared one."""
    cfg = settings.embeddings
    if cfg.provider == "local" and cfg.runtime == "onnx":
        from bot.knowledge.embeddings import OnnxMiniLM, minilm_dir

        return OnnxMiniLM(minilm_dir(), cache_dir=settings.data_dir / "cache", batch_size=cfg.batch_size,
                          threads=settings.sentences.fill_threads)
    return shared()


def _lowest_priority() -> None:
    """This thread at the lowest OS priority (Linux: per-thread nice), so answers and the event loop win."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
