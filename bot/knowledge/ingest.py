"""Ingest: guide files into the index, and the list, remove and reindex that change it.

Files are loaded and split into chunks whose ids are content hashes, so an unchanged file adds
nothing. A registry record per file is written before its chunks and marked complete after them,
so an interrupted run leaves a usable index that the next run finishes. Every write happens inside
`GuideIndex.changes()`: the index's version token changes, and every process reloads its copy at
its next question.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.errors import InputError, NotFound
from bot.knowledge.embeddings import encode
from bot.knowledge.index import GuideIndex
from bot.knowledge.loaders import asked_questions, load_guide
from bot.knowledge.split import SECTION_SEP, Chunk, split_guide

log = logging.getLogger(__name__)

Progress = Callable[[str, dict[str, Any]], None]


class Ingestor:
    def __init__(self, settings: Settings, index: GuideIndex, embeddings: Callable[[], Any],
                 retriever: Callable[[], Any]):
        """`embeddings` and `retriever` are called on first use: listing guides loads no model."""
        self.settings = settings
        self.index = index
        self._embeddings = embeddings
        self._retriever = retriever
        self._write_lock = threading.Lock()

    @property
    def embeddings(self):
        return self._embeddings()

    @property
    def retriever(self):
        return self._retriever()

    def _source_key(self, path: Path) -> str:
        path = path.resolve()
        try:
            return str(path.relative_to(self.settings.config_dir.resolve()))
        except ValueError:
            return str(path)

    def _source_path(self, source: str) -> Path:
        p = Path(source)
        return p if p.is_absolute() else self.settings.config_dir / p

    def _collect(self, paths: list[Path]) -> tuple[list[Path], int]:
        exts = {e.lower() for e in self.settings.ingest.extensions}
        files: list[Path] = []
        ignored = 0
        for p in paths:
            if p.is_dir():
                for f in sorted(p.rglob("*")):
                    if not f.is_file() or any(part.startswith(".") for part in f.relative_to(p).parts):
                        continue
                    if f.suffix.lower() in exts:
                        files.append(f)
                    else:
                        ignored += 1
            elif p.is_file():
                if p.suffix.lower() in exts:
                    files.append(p)
                else:
                    raise InputError(f"{p.name}: unsupported guide format '{p.suffix or 'none'}'.",
                                     hint=f"Use one of {', '.join(sorted(exts))}.")
            else:
                raise NotFound(f"not found: {p}.", hint="Give existing files or folders.")
        unique = list(dict.fromkeys(f.resolve() for f in files))
        return unique, ignored

    def ingest(self, paths: list[Path], *, prune: bool = False, progress: Progress | None = None) -> dict[str, Any]:
        started = time.monotonic()
        files, ignored = self._collect(paths)
        with self._writing():
            result = self._ingest_files(files, progress=progress)
            if prune:
                result["removed"] = self._prune([p.resolve() for p in paths if p.is_dir()], files)
        result.update(ignored=ignored, seconds=round(time.monotonic() - started, 3))
        log.info("ingest files=%d added=%d updated=%d unchanged=%d failed=%d dropped=%d chunks_added=%d seconds=%.2f",
                 len(files), result["added"], result["updated"], result["unchanged"], len(result["failed"]),
                 len(result["dropped"]), result["chunks_added"], result["seconds"])
        return result

    def _ingest_files(self, files: list[Path], *, progress: Progress | None) -> dict[str, Any]:
        cfg = self.settings.ingest
        self.index.chunks(create=True)  # checks the model id of an existing index
        registry = self.index.guides()
        plans: list[tuple[str, dict[str, Any], list[Chunk]]] = []
        failed: list[dict[str, str]] = []
        dropped: list[dict[str, str]] = []
        unchanged = 0
        for f in files:
            source = self._source_key(f)
            try:
                size = f.stat().st_size
                if size > cfg.max_file_mb * 1024 * 1024:
                    raise InputError(f"the file is {size / 1048576:.1f} MB, over the {cfg.max_file_mb:g} MB limit "
                                     "for one guide (ingest.max_file_mb); split it into smaller guides")
                raw = f.read_bytes()
                sha = hashlib.sha256(raw).hexdigest()
                old = registry.get(source)
                if old and old.get("sha256") == sha and old.get("complete"):
                    unchanged += 1
                    continue
                guide = load_guide(f, raw)
                chunks = split_guide(guide, chunk_chars=cfg.chunk_chars, overlap=cfg.chunk_overlap)
                if not chunks:
                    raise InputError("no text found in the file")
                if len(chunks) > cfg.max_chunks_per_file:
                    raise InputError(f"it makes {len(chunks)} chunks, over the limit of {cfg.max_chunks_per_file} "
                                     "(ingest.max_chunks_per_file); split it into smaller guides")
            except InputError as exc:
                failed.append({"path": source, "reason": exc.message})
                continue
            except OSError as exc:
                failed.append({"path": source, "reason": f"cannot read the file ({exc.__class__.__name__})"})
                continue
            dropped += [{"path": source, **d} for d in guide.dropped]
            meta = guide.meta
            record = {
                "sha256": sha, "title": guide.title, "topic": str(meta.get("topic") or ""),
                "jurisdiction": str(meta.get("jurisdiction") or ""), "updated": str(meta.get("updated") or ""),
                "url": str(meta.get("url") or ""), "chunks": len(chunks), "bytes": size,
                "meta": json.dumps({k: v for k, v in meta.items() if k != "asked"}, default=str)[:20000],
                "ingested_at": time.time(), "complete": False, "is_new": old is None,
                "asked": asked_questions(meta),
            }
            plans.append((source, record, chunks))

        # Register first (incomplete), then write chunks, then mark complete: an interrupted run
        # leaves a usable index and the next run finishes the incomplete guides.
        to_embed: list[tuple[str, Chunk, dict[str, Any]]] = []
        to_refresh: list[tuple[str, Chunk, dict[str, Any]]] = []  # kept chunks of a changed guide: new metadata
        referenced = {cid for src, rec in registry.items() for cid in rec["chunk_ids"]
                      if src not in {p[0] for p in plans}}
        all_new_ids = list(dict.fromkeys(c.id for _, _, chunks in plans for c in chunks))
        present = self.index.existing_ids(all_new_ids) if all_new_ids else set()
        for source, record, chunks in plans:
            old_ids = set(registry.get(source, {}).get("chunk_ids", []))
            new_ids = [c.id for c in chunks]
            self.index.put_guide(source, _stored(record), new_ids)
            stale = old_ids - set(new_ids) - referenced
            if stale:
                self.index.delete_chunks(sorted(stale))
            for c in chunks:
                if c.id not in present:
                    present.add(c.id)
                    to_embed.append((source, c, record))
                elif c.id not in referenced:  # a chunk another guide has too keeps that guide's metadata
                    to_refresh.append((source, c, record))
            referenced.update(new_ids)
        self._embed_names({q for _, record, _ in plans for qs in record["asked"].values() for q in qs})
        self._embed_and_store(to_embed, progress)
        if to_refresh:  # the guide's tags, topic, jurisdiction, date or a chunk's position changed, not its text
            self.index.update_metas([c.id for _, c, _ in to_refresh],
                                    [_chunk_meta(source, c, record) for source, c, record in to_refresh])
        for source, record, chunks in plans:
            record = _stored(record) | {"complete": True}
            self.index.put_guide(source, record, [c.id for c in chunks])
        added = sum(1 for _, r, _ in plans if r["is_new"])
        return {
            "files": len(files), "added": added, "updated": len(plans) - added, "unchanged": unchanged,
            "failed": failed, "dropped": dropped, "removed": [], "chunks_added": len(to_embed),
            "chunks_total": self.index.chunks().count(), "model": self.index.model_id,
        }

    def _embed_names(self, names: set[str]) -> None:
        """Vectors, kept by text beside the chunks, of the heading paths and the `asked:` questions not
        embedded yet."""
        if not names:
            return
        known = set(self.index.section_vectors(sorted(names)))
        fresh = sorted(names - known)
        for start in range(0, len(fresh), 256):
            part = fresh[start : start + 256]
            self.index.add_sections(part, encode(self.embeddings, part))

    def _embed_and_store(self, items: list[tuple[str, Chunk, dict[str, Any]]], progress: Progress | None) -> None:
        batch = self.settings.ingest.batch_size
        total = len(items)
        self._embed_names({c.section for _, c, _ in items})
        for start in range(0, total, batch):
            part = items[start : start + batch]
            vectors = encode(self.embeddings, [c.embed_text for _, c, _ in part])
            metas = [_chunk_meta(source, c, record) for source, c, record in part]
            self.index.add([c.id for _, c, _ in part], vectors, [c.text for _, c, _ in part], metas)
            if progress:
                progress("embedding", {"done": min(start + batch, total), "total": total})

    def _prune(self, folders: list[Path], present: list[Path]) -> list[str]:
        keep = {self._source_key(p) for p in present}
        removed = []
        for source in list(self.index.guides()):
            path = self._source_path(source).resolve()
            if source in keep or not any(path.is_relative_to(d) for d in folders):
                continue
            self._remove_source(source)
            removed.append(source)
        return removed

    @contextmanager
    def _writing(self):
        """One write at a time in this process; the index's token changes with the first change, so every
        process (this one included) reloads at its next question. The copy is refreshed after a write."""
        with self._write_lock:
            try:
                with self.index.changes():
                    yield
            finally:
                self.retriever.invalidate()
            if self.index.exists():
                self.retriever.corpus()  # rebuilds the copy (and its snapshot) now, not at the next question

    # List, remove, reindex -----------------------------------------------------------------------
    def list_guides(self) -> dict[str, Any]:
        if not self.index.exists():
            return {"model": self.index.model_id, "guides": [], "chunks_total": 0}
        self.index.chunks()
        guides = [
            {"source": src, "title": rec.get("title", ""), "topic": rec.get("topic", ""),
             "chunks": len(rec["chunk_ids"]), "updated": rec.get("updated", ""), "complete": bool(rec.get("complete"))}
            for src, rec in sorted(self.index.guides().items())
        ]
        return {"model": self.index.model_id, "guides": guides, "chunks_total": self.index.count()}

    def remove(self, source: str) -> dict[str, Any]:
        with self._writing():
            self.index.chunks()
            guides = self.index.guides()
            match = self._match_source(source, list(guides))
            chunks = self._remove_source(match)
        log.info("kb remove chunks=%d", chunks)
        return {"source": match, "chunks": chunks, "removed": True}

    def _match_source(self, source: str, sources: list[str]) -> str:
        if source in sources:
            return source
        wanted = self._source_key(Path(source).expanduser()) if source else ""
        if wanted in sources:
            return wanted
        by_name = [s for s in sources if Path(s).name == Path(source).name]
        if len(by_name) == 1:
            return by_name[0]
        import difflib

        close = difflib.get_close_matches(source, sources, n=3, cutoff=0.4)
        hint = f"Did you mean: {', '.join(close)}?" if close else "See `mlbot kb list` for the guides."
        if len(by_name) > 1:
            hint = f"Several guides have that name: {', '.join(by_name)}. Give the full path."
        raise NotFound(f"no guide '{source}' in the index.", hint=hint)

    def _remove_source(self, source: str) -> int:
        guides = self.index.guides()
        ids = set(guides[source]["chunk_ids"])
        shared = {cid for src, rec in guides.items() if src != source for cid in rec["chunk_ids"]}
        gone = sorted(ids - shared)
        if gone:
            self.index.delete_chunks(gone)
        self.index.delete_guide(source)
        return len(ids)

    def reindex(self, *, progress: Progress | None = None) -> dict[str, Any]:
        """Rebuild from the stored guide files (e.g. after changing the embedding model)."""
        started = time.monotonic()
        with self._writing():
            sources = list(self.index.guides()) if self.index.exists() else []
            paths = [self._source_path(s) for s in sources]
            missing = [s for s, p in zip(sources, paths, strict=True) if not p.is_file()]
            self.index.drop()
            result = self._ingest_files([p for p in paths if p.is_file()], progress=progress)
        result["failed"] += [{"path": s, "reason": "the file no longer exists"} for s in missing]
        return result | {"ignored": 0, "seconds": round(time.monotonic() - started, 3)}


def _stored(record: dict[str, Any]) -> dict[str, Any]:
    """A guide's registry record without what only this run needs."""
    return {k: v for k, v in record.items() if k not in ("is_new", "asked")}


def _chunk_meta(source: str, chunk: Chunk, record: dict[str, Any]) -> dict[str, Any]:
    meta = {"source": source, "title": record["title"], "section": chunk.section, "position": chunk.position}
    asked = (record.get("asked") or {}).get(chunk.section.split(SECTION_SEP)[-1].strip())
    if asked:
        meta["asked"] = "\n".join(asked)  # the questions its section answers (search only)
    for key in ("topic", "jurisdiction", "updated", "url"):
        if record.get(key):
            meta[key] = record[key]
    try:
        tags = json.loads(record.get("meta", "{}")).get("tags")
    except (ValueError, AttributeError):
        tags = None
    if isinstance(tags, list):
        meta["tags"] = ", ".join(str(t) for t in tags)[:500]
    return meta
