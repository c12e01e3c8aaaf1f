"""Hybrid retrieval: dense (MiniLM cosine), BM25 and exact names, fused by reciprocal rank.

The chunk texts, metadata and vectors are read from Chroma once and kept in memory (exact dot
products over a few thousand vectors take well under a millisecond); above `_MEMORY_LIMIT` chunks
the dense side asks Chroma's HNSW instead. A question that quotes an exact name (an API such as
`cross_val_score`, a statute such as s.80 or §31, a name such as IR35) also ranks the chunks that
name it, typed in lower case too ("gdpr", "timeseriessplit"). A skill's topics boost matching guides
but never exclude others; a guide without a topic (a community guide, library docs) takes the topic
its chunks are closest to, so it competes on equal terms. The questions a guide says each section
answers (front matter `asked:`) rank sections too; a section without them competes by its heading.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from bot.config import Settings
from bot.knowledge.embeddings import encode
from bot.knowledge.index import GuideIndex
from bot.knowledge.lexical import BM25, identifiers, stem, words

log = logging.getLogger(__name__)

_MEMORY_LIMIT = 60_000


@dataclass
class Hit:
    id: str
    text: str
    meta: dict[str, Any]
    score: float  # fused score (higher is better)
    dense: float  # cosine similarity to the question
    lexical: float  # share of the question's content words found in the chunk (idf-weighted)
    rank: int = 0
    opens_section: bool = True  # the first chunk of its section (its first sentence opens the section)

    @property
    def section(self) -> str:
        return str(self.meta.get("section", ""))

    def source_dict(self) -> dict[str, Any]:
        return {
            "title": self.meta.get("title", ""),
            "source": self.meta.get("source", ""),
            "section": self.section,
            "url": self.meta.get("url") or None,
            "score": round(float(self.score), 4),
        }


@dataclass
class Corpus:
    ids: list[str]
    texts: list[str]
    metas: list[dict[str, Any]]
    vectors: np.ndarray | None
    headings: np.ndarray | None  # the vector of each chunk's heading path
    asked: np.ndarray | None  # the vectors of the questions the guides say each section answers (`asked:`)
    asked_of: np.ndarray | None  # ... and the chunk each of those rows belongs to
    bm25: BM25
    tokens: list[set[str]]
    generation: str  # the index's version token when this copy was read
    position: dict[str, int] = field(default_factory=dict)
    opens: set[int] = field(default_factory=set)  # chunks that open their section
    names: dict[str, list[int]] = field(default_factory=dict)  # exact identifier -> chunks that name it
    topics: list[str] = field(default_factory=list)  # each chunk's topic: its guide's, else the nearest one
    sections: dict[tuple[str, str], list[int]] = field(default_factory=dict)  # (guide, section) -> its chunks
    overviews: set[int] = field(default_factory=set)  # chunks of a guide's untitled opening, when it has sections


class Retriever:
    def __init__(self, settings: Settings, index: GuideIndex, embeddings: Callable[[], Any]):
        self.settings = settings
        self.index = index
        self._embeddings = embeddings  # called on first use: opening the index needs no model
        self._corpus: Corpus | None = None
        self._lock = threading.Lock()
        self._checked = 0.0

    def invalidate(self) -> None:
        with self._lock:
            self._corpus = None

    def corpus(self) -> Corpus:
        """The in-memory copy of the index (loaded on first use)."""
        with self._lock:
            if self._corpus is None:
                self._corpus = self._load()
            return self._corpus

    def refresh(self) -> Corpus:
        """The copy, checked against the live index first: a change made by any process since it was
        read (ingest, removal, reindex, here or elsewhere) is picked up now. One small read per call."""
        with self._lock:
            if self._corpus is not None and self.index.generation() != self._corpus.generation:
                log.info("index changed; reloading the corpus")
                self._corpus = None
            if self._corpus is None:
                self._corpus = self._load()
            return self._corpus

    # Loading: from a snapshot file when the index is on disk (fast start), else from Chroma ---------
    @property
    def _snapshot(self) -> Path | None:
        if self.settings.vectorstore.mode != "persistent":
            return None
        return self.index.path / "snapshot"

    def _load(self) -> Corpus:
        started = time.monotonic()
        token = self.index.generation()  # read before the content: a change after this is seen next time
        raw = self._read_snapshot(token)
        source = "snapshot"
        if raw is None:
            raw = self._read_chroma(token)
            source = "chroma"
            if not self.index.writing:  # a copy read mid-write is never kept on disk
                self._write_snapshot(raw)
        ids, texts, metas, vectors, headings, asked, asked_of, generation = raw
        docs = [words(f"{m.get('section', '')} {m.get('tags', '')} {t}") for t, m in zip(texts, metas, strict=True)]
        # BM25 also reads a section's `asked:` questions; what a passage says (its tokens) stays its text.
        ranked = [_with_asked_words(d, m) for d, m in zip(docs, metas, strict=True)] \
            if self.settings.retrieval.asked_lexical else docs
        corpus = Corpus(ids=ids, texts=texts, metas=metas, vectors=vectors, headings=headings, asked=asked,
                        asked_of=asked_of, bm25=BM25(ranked),
                        tokens=[set(d) for d in docs], generation=generation,
                        position={cid: i for i, cid in enumerate(ids)}, opens=_section_openers(metas),
                        names=_name_index(texts, metas), topics=_topics(metas, vectors),
                        overviews=_overviews(metas), sections=_sections(metas))
        log.info("corpus loaded chunks=%d from=%s seconds=%.2f", len(ids), source, time.monotonic() - started)
        return corpus

    def _read_chroma(self, token: str):
        col = self.index.chunks()
        count = col.count()
        include = ["documents", "metadatas"] + (["embeddings"] if count <= _MEMORY_LIMIT else [])
        got = col.get(include=include)
        ids, texts = got["ids"], got["documents"]
        metas = [dict(m or {}) for m in got["metadatas"]]
        vectors = np.asarray(got["embeddings"], dtype=np.float32) if "embeddings" in include and ids else None
        headings = None
        if vectors is not None and ids:
            names = [str(m.get("section", "")) for m in metas]
            found = self.index.section_vectors(sorted(set(names)))
            zero = np.zeros(vectors.shape[1], dtype=np.float32)
            headings = np.asarray([found.get(n, zero) for n in names], dtype=np.float32)
        asked, asked_of = self._asked_vectors(metas) if vectors is not None else (None, None)
        return ids, texts, metas, vectors, headings, asked, asked_of, token

    def _asked_vectors(self, metas: list[dict[str, Any]]) -> tuple[np.ndarray | None, np.ndarray | None]:
        """One row per question a chunk's section answers (its guide's `asked:`), and the chunk of each row."""
        rows = [(i, q) for i, m in enumerate(metas) for q in str(m.get("asked") or "").split("\n") if q.strip()]
        if not rows:
            return None, None
        found = self.index.section_vectors(sorted({q for _, q in rows}))
        rows = [(i, q) for i, q in rows if q in found]
        if not rows:
            return None, None
        return (np.asarray([found[q] for _, q in rows], dtype=np.float32),
                np.asarray([i for i, _ in rows], dtype=np.int64))

    def _read_snapshot(self, token: str):
        """The snapshot is a read cache of the chunk collection, valid while the index keeps the token
        it was read at (every write changes the token before it changes anything else)."""
        folder = self._snapshot
        if folder is None or not token or not (folder / "corpus.json").is_file():
            return None
        try:
            data = json.loads((folder / "corpus.json").read_text(encoding="utf-8"))
            if data.get("model") != self.index.model_id:
                self.index.chunks()  # raises the clear model-mismatch error
                return None
            if str(data.get("generation")) != token:
                return None
            arrays = np.load(folder / "vectors.npz")
            if str(arrays["generation"]) != token:
                return None
            vectors = arrays["vectors"] if arrays["vectors"].size else None
            headings = arrays["headings"] if arrays["headings"].size else None
            if "asked" not in arrays:
                return None  # a snapshot from before the asked questions: read the index again
            asked = arrays["asked"] if arrays["asked"].size else None
            asked_of = arrays["asked_of"] if asked is not None else None
            return data["ids"], data["texts"], data["metas"], vectors, headings, asked, asked_of, token
        except (OSError, ValueError, KeyError):
            return None

    def _write_snapshot(self, raw) -> None:
        folder = self._snapshot
        ids, texts, metas, vectors, headings, asked, asked_of, generation = raw
        if folder is None or vectors is None or not generation:
            return
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tmp_json, tmp_npz = folder / "corpus.json.tmp", folder / "vectors.tmp.npz"
            tmp_json.write_text(json.dumps({"model": self.index.model_id, "generation": generation, "ids": ids,
                                            "texts": texts, "metas": metas}), encoding="utf-8")
            np.savez(tmp_npz, vectors=vectors, generation=np.asarray(generation),
                     headings=headings if headings is not None else np.zeros((0,), dtype=np.float32),
                     asked=asked if asked is not None else np.zeros((0,), dtype=np.float32),
                     asked_of=asked_of if asked_of is not None else np.zeros((0,), dtype=np.int64))
            os.replace(tmp_npz, folder / "vectors.npz")
            os.replace(tmp_json, folder / "corpus.json")
        except OSError:
            log.warning("could not write the corpus snapshot; answers will read the index directly")

    def embed_query(self, text: str) -> np.ndarray:
        return encode(self._embeddings(), [text])[0]

    def search(self, query: str, *, topics: list[str] | None = None, k: int | None = None,
               query_vector: np.ndarray | None = None) -> list[Hit]:
        cfg = self.settings.retrieval
        k = k or cfg.top_k
        corpus = self.corpus()
        if not corpus.ids:
            return []
        qv = self.embed_query(query) if query_vector is None else query_vector
        n = min(cfg.candidates, len(corpus.ids))
        # Dense side.
        if corpus.vectors is not None:
            sims = corpus.vectors @ qv
            dense_idx = np.argpartition(-sims, n - 1)[:n] if n < len(sims) else np.arange(len(sims))
            dense_idx = dense_idx[np.argsort(-sims[dense_idx])]
            dense = [(int(i), float(sims[i])) for i in dense_idx]
        else:
            res = self.index.query(qv.tolist(), n)
            dense = [(corpus.position[cid], 1.0 - float(d)) for cid, d in zip(res["ids"], res["distances"], strict=True)
                     if cid in corpus.position]
            sims = None
        # Lexical side, and the question against section headings.
        qwords = words(query)
        rankings = [(1.0, [i for i, _ in dense]), (1.0, [i for i, _ in corpus.bm25.top(qwords, n)])]
        named = self._named(query, corpus, sims, n)
        if named and cfg.identifier_weight:
            rankings.append((cfg.identifier_weight, named))
        if corpus.headings is not None and cfg.heading_weight:
            hs = corpus.headings @ qv
            top = np.argpartition(-hs, n - 1)[:n] if n < len(hs) else np.arange(len(hs))
            rankings.append((cfg.heading_weight, [int(i) for i in top[np.argsort(-hs[top])]]))
        if corpus.asked is not None and cfg.asked_weight:
            rankings.append((cfg.asked_weight, _asked_ranking(corpus, qv, n)))
        fused: dict[int, float] = {}
        for weight, ranking in rankings:
            for rank, i in enumerate(ranking):
                fused[i] = fused.get(i, 0.0) + weight / (cfg.rrf_k + rank + 1)
        if cfg.overview_weight != 1.0:
            for i in corpus.overviews & fused.keys():
                fused[i] *= cfg.overview_weight
        wanted = {t.lower() for t in (topics or [])}
        if wanted and cfg.topic_boost:
            for i in fused:
                if corpus.topics[i] in wanted:
                    fused[i] *= 1.0 + cfg.topic_boost
        dense_of = dict(dense)
        floor = min(dense_of.values()) if dense_of else 0.0
        qset = set(qwords)
        hits = []
        for rank, (i, score) in enumerate(sorted(fused.items(), key=lambda kv: -kv[1])[:k]):
            dsim = float(sims[i]) if sims is not None else dense_of.get(i, floor)
            hits.append(Hit(id=corpus.ids[i], text=corpus.texts[i], meta=corpus.metas[i], score=score,
                            dense=dsim, lexical=self.overlap(qset, corpus.tokens[i], corpus.bm25), rank=rank,
                            opens_section=i in corpus.opens))
        return hits

    @staticmethod
    def _named(query: str, corpus: Corpus, sims: np.ndarray | None, n: int) -> list[int]:
        """Chunks that name the question's exact identifiers (API names, statutes), the rarest names
        first; among equals, the closest in meaning (else the earliest)."""
        wanted = [name for name in identifiers(query) | spelt_apart(query, corpus.names) | typed_lower(query, corpus)
                  if name in corpus.names]
        if not wanted:
            return []
        total = len(corpus.ids)
        score: dict[int, float] = {}
        for name in wanted:
            chunks = corpus.names[name]
            weight = math.log(1 + total / len(chunks))
            for i in chunks:
                score[i] = score.get(i, 0.0) + weight
        closeness = (lambda i: float(sims[i])) if sims is not None else (lambda i: -i)
        return sorted(score, key=lambda i: (-round(score[i], 6), -closeness(i)))[:n]

    @staticmethod
    def overlap(qset: set[str], doc: set[str], bm25: BM25) -> float:
        if not qset:
            return 0.0
        total = sum(bm25.idf_of(w) for w in qset)
        found = sum(bm25.idf_of(w) for w in qset if w in doc)
        return found / total if total else 0.0


def _with_asked_words(doc: list[str], meta: dict[str, Any]) -> list[str]:
    """A chunk's words plus, once each, the words of its section's `asked:` questions that its text does not
    use (users' words for it: "bump" for a rate increase); words the text has already keep their count, so
    a question that names a sibling's subject ("hourly vs day rate") does not pull the section up for it."""
    asked = meta.get("asked")
    if not asked:
        return doc
    have = set(doc)
    return doc + [w for w in dict.fromkeys(words(str(asked))) if w not in have]


def _asked_ranking(corpus: Corpus, qv: np.ndarray, n: int) -> list[int]:
    """Chunks by the question their section answers closest to this one: one its guide lists (`asked:`),
    else its own heading (a guide without `asked:`, such as library docs, competes through its headings)."""
    best = corpus.headings @ qv if corpus.headings is not None else np.full(len(corpus.ids), -1.0)
    own = np.zeros(len(best), dtype=bool)
    own[corpus.asked_of] = True
    own[list(corpus.overviews)] = True  # a guide's opening is no section: it answers no question of its own
    best = np.where(own, -2.0, best)  # a section with questions is judged by them, not by its heading
    np.maximum.at(best, corpus.asked_of, corpus.asked @ qv)
    top = np.argpartition(-best, n - 1)[:n] if n < len(best) else np.arange(len(best))
    return [int(i) for i in top[np.argsort(-best[top])]]


def _sections(metas: list[dict[str, Any]]) -> dict[tuple[str, str], list[int]]:
    """The chunks of each (guide, section), in reading order."""
    out: dict[tuple[str, str], list[int]] = {}
    for i, m in enumerate(metas):
        out.setdefault((str(m.get("source", "")), str(m.get("section", ""))), []).append(i)
    for chunks in out.values():
        chunks.sort(key=lambda i: int(metas[i].get("position", 0) or 0))
    return out


def _joined(texts: list[str]) -> str:
    """Consecutive chunks of one section as one text, without the overlap the splitter repeats."""
    out = texts[0]
    for text in texts[1:]:
        shared = next((n for n in range(min(len(out), len(text)), 0, -1) if out.endswith(text[:n])), 0)
        out = out.rstrip() + "\n\n" + text[shared:].lstrip()
    return out


def whole_sections(hits: list[Hit], corpus: Corpus, n: int) -> list[Hit]:
    """The first `n` passages each read as their whole section (a section longer than a chunk, or one
    whose opening answer was split off into a chunk of its own, is still one answer); a later passage of
    a section already read whole is dropped."""
    if n <= 0 or not corpus.sections:
        return hits
    out: list[Hit] = []
    whole: set[tuple[str, str]] = set()
    for hit in hits:
        key = (str(hit.meta.get("source", "")), hit.section)
        if key in whole:
            continue
        chunks = corpus.sections.get(key, [])
        if len(whole) < n and len(chunks) > 1:
            whole.add(key)
            hit = replace(hit, text=_joined([corpus.texts[i] for i in chunks]),
                          opens_section=hit.opens_section or chunks[0] in corpus.opens)
        elif len(whole) < n:
            whole.add(key)
        out.append(hit)
    return out


def _section_openers(metas: list[dict[str, Any]]) -> set[int]:
    """The chunk with the lowest position of each (guide, section): the one its section starts with."""
    first: dict[tuple[str, str], tuple[int, int]] = {}
    for i, m in enumerate(metas):
        key = (str(m.get("source", "")), str(m.get("section", "")))
        pos = int(m.get("position", 0) or 0)
        if key not in first or pos < first[key][0]:
            first[key] = (pos, i)
    return {i for _, i in first.values()}


def _overviews(metas: list[dict[str, Any]]) -> set[int]:
    """Chunks of a guide's opening (before its first heading) when the guide also has sections: an
    overview says what the guide covers, the section it points to says it."""
    sectioned = {str(m.get("source", "")) for m in metas if " > " in str(m.get("section", ""))}
    return {i for i, m in enumerate(metas)
            if " > " not in str(m.get("section", "")) and str(m.get("source", "")) in sectioned}


_WORD = re.compile(r"[a-z0-9]+", re.I)


def spelt_apart(query: str, names) -> set[str]:
    """The identifiers of `names` the query types as separate words ("group k fold" -> groupkfold,
    "cross val score" -> cross_val_score): runs of 2 to 4 words joined, as one word or with underscores."""
    toks = [t.lower() for t in _WORD.findall(query)]
    found: list[tuple[int, int, str]] = []
    for n in range(4, 1, -1):  # the longest run first: "group k fold" is GroupKFold, not KFold
        for i in range(len(toks) - n + 1):
            if any(a <= i and i + n <= b for a, b, _ in found):
                continue
            run = toks[i:i + n]
            joined = next((j for j in ("".join(run), "_".join(run)) if len(j) >= 5 and j in names), None)
            if joined:
                found.append((i, i + n, joined))
    return {name for _, _, name in found}


def typed_lower(query: str, corpus: Corpus) -> set[str]:
    """The names the query types in lower case ("gdpr", "mlops", "stratifiedkfold"; four letters or more):
    a word that is one of the corpus's names and that the guides write as that name (in the case that
    marks it) in at least half of the chunks that use the word at all ("one" is the name ONE in a few
    chunks and a word in hundreds)."""
    out = set()
    for tok in {t.lower() for t in _WORD.findall(query) if len(t) >= 4}:
        chunks = corpus.names.get(tok)
        if not chunks:
            continue
        using = corpus.bm25.postings.get(stem(tok), ())
        if len(chunks) >= 0.5 * len(using):
            out.add(tok)
    return out


def _name_index(texts: list[str], metas: list[dict[str, Any]]) -> dict[str, list[int]]:
    index: dict[str, list[int]] = {}
    for i, (text, meta) in enumerate(zip(texts, metas, strict=True)):
        for name in identifiers(f"{meta.get('section', '')}\n{text}"):
            index.setdefault(name, []).append(i)
    return index


def _topics(metas: list[dict[str, Any]], vectors: np.ndarray | None) -> list[str]:
    """Each chunk's topic. A guide without one (a community guide, library docs) takes the topic whose
    guides its chunk is closest to on average, so a skill's topic boost treats it like a shipped guide."""
    topics = [str(m.get("topic", "") or "").lower() for m in metas]
    if vectors is None or not any(topics) or all(topics):
        return topics
    names = sorted({t for t in topics if t})
    centroids = np.vstack([vectors[[i for i, t in enumerate(topics) if t == name]].mean(axis=0) for name in names])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True) + 1e-9
    missing = [i for i, t in enumerate(topics) if not t]
    nearest = (vectors[missing] @ centroids.T).argmax(axis=1)
    for i, j in zip(missing, nearest, strict=True):
        topics[i] = names[int(j)]
    return topics
