"""The knowledge base: ingest, list, remove and ask. Ingest, retrieval and answering stay separate.

`ask` routes the question to a skill, rewrites a follow-up into a standalone question, retrieves
(hybrid), declines what the guides do not cover or the bot should not answer, and answers
extractively or with a model (falling back to extractive, and saying so, whenever the model fails).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.errors import InputError, NotFound
from bot.knowledge.embeddings import encode, get_embeddings, model_id
from bot.knowledge.index import GuideIndex
from bot.knowledge.lexical import is_number, words
from bot.knowledge.loaders import load_guide
from bot.knowledge.split import Chunk, split_guide
from bot.render import WHAT_I_DO
from bot.store import Store

log = logging.getLogger(__name__)

Progress = Callable[[str, dict[str, Any]], None]
_FOLLOW_UP_START = re.compile(
    r"^(and|but|or|also|so|then|what about|how about|what if|and if|if so|same|ok and|okay and|what else)\b", re.I)
_ANAPHORA = re.compile(r"\b(it|its|that|this|those|these|they|them|there|such|one|same)\b", re.I)


class KnowledgeBase:
    def __init__(self, settings: Settings, store: Store, skills):
        self.settings = settings
        self.store = store
        self.skills = skills
        self.index = GuideIndex(settings, model_id(settings))
        self._write_lock = threading.Lock()

    # Lazily built parts (the model loads once per process) -------------------------------------
    @cached_property
    def embeddings(self):
        return get_embeddings(self.settings)

    @cached_property
    def retriever(self):
        from bot.knowledge.retrieve import Retriever

        return Retriever(self.settings, self.index, lambda: self.embeddings)

    @cached_property
    def router(self):
        from bot.skills.router import Router

        return Router(self.skills, self.embeddings, cache_dir=self.settings.data_dir / "cache",
                      model_id=self.index.model_id)

    @cached_property
    def sentence_vectors(self):
        from bot.knowledge.answer import SentenceVectors

        return SentenceVectors(self.embeddings)

    def warm(self) -> None:
        self.embeddings  # noqa: B018 - load the model
        self.router._examples()
        if self.index.exists():
            self.retriever.corpus()

    # Ingest ----------------------------------------------------------------------------------------
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
        log.info("ingest files=%d added=%d updated=%d unchanged=%d failed=%d chunks_added=%d seconds=%.2f",
                 len(files), result["added"], result["updated"], result["unchanged"], len(result["failed"]),
                 result["chunks_added"], result["seconds"])
        return result

    def _ingest_files(self, files: list[Path], *, progress: Progress | None) -> dict[str, Any]:
        cfg = self.settings.ingest
        self.index.chunks(create=True)  # checks the model id of an existing index
        registry = self.index.guides()
        plans: list[tuple[str, dict[str, Any], list[Chunk]]] = []
        failed: list[dict[str, str]] = []
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
            meta = guide.meta
            record = {
                "sha256": sha, "title": guide.title, "topic": str(meta.get("topic") or ""),
                "jurisdiction": str(meta.get("jurisdiction") or ""), "updated": str(meta.get("updated") or ""),
                "url": str(meta.get("url") or ""), "chunks": len(chunks), "bytes": size,
                "meta": json.dumps(meta, default=str)[:20000], "ingested_at": time.time(), "complete": False,
                "is_new": old is None,
            }
            plans.append((source, record, chunks))

        # Register first (incomplete), then write chunks, then mark complete: an interrupted run
        # leaves a usable index and the next run finishes the incomplete guides.
        to_embed: list[tuple[str, Chunk, dict[str, Any]]] = []
        referenced = {cid for src, rec in registry.items() for cid in rec["chunk_ids"]
                      if src not in {p[0] for p in plans}}
        all_new_ids = list(dict.fromkeys(c.id for _, _, chunks in plans for c in chunks))
        present = self.index.existing_ids(all_new_ids) if all_new_ids else set()
        for source, record, chunks in plans:
            old_ids = set(registry.get(source, {}).get("chunk_ids", []))
            new_ids = [c.id for c in chunks]
            self.index.put_guide(source, {k: v for k, v in record.items() if k != "is_new"}, new_ids)
            stale = old_ids - set(new_ids) - referenced
            if stale:
                self.index.delete_chunks(sorted(stale))
            referenced.update(new_ids)
            for c in chunks:
                if c.id not in present:
                    present.add(c.id)
                    to_embed.append((source, c, record))
        self._embed_and_store(to_embed, progress)
        for source, record, chunks in plans:
            record = {k: v for k, v in record.items() if k != "is_new"} | {"complete": True}
            self.index.put_guide(source, record, [c.id for c in chunks])
        added = sum(1 for _, r, _ in plans if r["is_new"])
        return {
            "files": len(files), "added": added, "updated": len(plans) - added, "unchanged": unchanged,
            "failed": failed, "removed": [], "chunks_added": len(to_embed),
            "chunks_total": self.index.chunks().count(), "model": self.index.model_id,
        }

    def _embed_and_store(self, items: list[tuple[str, Chunk, dict[str, Any]]], progress: Progress | None) -> None:
        batch = self.settings.ingest.batch_size
        total = len(items)
        names = sorted({c.section for _, c, _ in items})
        if names:
            known = set(self.index.section_vectors(names))
            fresh = [n for n in names if n not in known]
            for start in range(0, len(fresh), 256):
                part = fresh[start : start + 256]
                self.index.add_sections(part, encode(self.embeddings, part))
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

    # Ask ----------------------------------------------------------------------------------------
    def ask(self, question: str, *, user_id: str, skill: str | None = None, conversation_id: str | None = None,
            private: bool = False) -> dict[str, Any]:
        started = time.monotonic()
        question = (question or "").strip()
        limit = self.settings.answer.question_max_chars
        if not question:
            raise InputError("the question is empty.", hint="Ask about rates, IP and contracts, ML methodology or scoping.")
        if len(question) > limit:
            raise InputError(f"the question is {len(question)} characters long; the limit is {limit}.",
                             hint="Ask a shorter, more specific question.")
        self.retriever.refresh()  # a change to the index since the last question is seen now; a missing
        # index or one built with another model is a clear error first
        history = self.store.turns(conversation_id, self.settings.conversations.max_turns) if conversation_id else []
        standalone = self._standalone(question, history)
        qvec = encode(self.embeddings, [standalone])[0]
        route = self.router.route(qvec)
        card = self.skills.require(skill) if skill else route.skill
        if not skill and history and self._is_follow_up(question) and history[-1].get("skill"):
            card = self.skills.get(history[-1]["skill"]) or card
        private = private or bool(card and card.private) or any(t["private"] for t in history)
        off_topic = (card is not None and card.declines) or (not skill and route.off_topic)
        result = self._answer(question, standalone, qvec, card, off_topic=off_topic, user_id=user_id)
        conversation_id = conversation_id or ("c-" + uuid.uuid4().hex[:12])
        cfg = self.settings.conversations
        self.store.add_turn(conversation_id, user_id, question, standalone, card.name if card else None,
                            private=private, private_ttl=cfg.private_ttl_seconds, ttl=cfg.ttl_days * 86400)
        result["conversation_id"] = conversation_id
        result["private"] = private
        result["answer_id"] = self.store.record_answer(
            user_id, "[private]" if private else question, result["skill"], result["sources"])
        log.info("ask skill=%s declined=%s mode=%s sources=%d private=%s ms=%d", result["skill"], result["declined"],
                 result["mode"], len(result["sources"]), private, (time.monotonic() - started) * 1000)
        return result

    def _is_follow_up(self, question: str) -> bool:
        content = words(question)
        return bool(_FOLLOW_UP_START.match(question.strip())) or len(content) <= 4 or (
            len(content) <= 8 and bool(_ANAPHORA.search(question)))

    def _standalone(self, question: str, history: list[dict[str, Any]]) -> str:
        """Rewrite a follow-up into a standalone question: with the model when one is configured,
        else (or when it fails) by carrying the previous question's key terms."""
        if not history or not self._is_follow_up(question):
            return question
        if self.settings.answer.mode == "llm":
            from bot.knowledge.llm import rewrite_follow_up

            try:
                rewritten = rewrite_follow_up(self._chat_model(), question, [t["standalone"] for t in history[-3:]])
                if rewritten:
                    return rewritten
            except Exception as exc:  # noqa: BLE001 - the offline rewrite below still works
                log.warning("follow-up rewrite failed class=%s", exc.__class__.__name__)
        previous = history[-1]["standalone"]
        have = set(words(question))
        carried, seen = [], set()
        for token in re.findall(r"[\w'£$€%.-]+", previous):
            w = words(token)
            if w and w[0] not in have and w[0] not in seen:
                seen.add(w[0])
                carried.append(token.strip(".,"))
        return f"{question} ({' '.join(carried[:12])})" if carried else question

    def _answer(self, question: str, standalone: str, qvec, card, *, off_topic: bool, user_id: str) -> dict[str, Any]:
        skill_name = card.name if card else None
        if off_topic:
            return self._decline(skill_name, [], reason="remit")
        hits = self.retriever.search(standalone, topics=card.topics if card else None, query_vector=qvec)
        if not hits or not self._relevant(standalone, hits):
            return self._decline(skill_name, hits, reason="coverage")
        notes: list[str] = []
        if self.settings.answer.mode == "llm":
            from bot.knowledge.llm import NOT_COVERED  # noqa: F401 - imported with the model mode only

            answered = self._llm_answer(standalone, hits, card, user_id, notes)
            if answered is not None:
                return answered
        return self._extractive(standalone, qvec, hits, card, notes)

    def _relevant(self, question: str, hits) -> bool:
        """Is the best evidence about this question? Meaning and shared words together, and few unknown words.

        `relevance` = best cosine + 0.6 x the top chunk's share of the question's (idf-weighted) words.
        A question whose content words are mostly absent from every guide is about something else.
        """
        cfg = self.settings.retrieval
        top_dense = max(h.dense for h in hits)
        relevance = top_dense + 0.6 * hits[0].lexical
        unknown = self._unknown_share(question)
        if unknown >= cfg.max_unknown_share and top_dense < cfg.strong_dense + 0.1:
            return False
        if unknown >= cfg.max_unknown_share - 0.16 and relevance < cfg.min_relevance + 0.1:
            return False
        return top_dense >= cfg.strong_dense or relevance >= cfg.min_relevance

    def _unknown_share(self, question: str) -> float:
        vocab = self.retriever.corpus().bm25.postings
        content = [w for w in words(question) if not is_number(w)]
        return sum(1 for w in content if w not in vocab) / len(content) if content else 0.0

    def _extractive(self, question: str, qvec, hits, card, notes: list[str]) -> dict[str, Any]:
        from bot.knowledge.answer import compose, extract

        cfg = self.settings.answer
        footer = self._footer(card, hits)
        room = cfg.max_chars - len(footer) - sum(len(n) + 4 for n in notes) - 20
        picked = extract(question, qvec, hits, self.sentence_vectors, self.retriever.corpus().bm25,
                         max_sentences=cfg.max_sentences, max_chars=max(200, room))
        if not picked:
            return self._decline(card.name if card else None, hits, reason="coverage")
        body, cited = compose(picked, hits)
        return {"answer": body + footer, "mode": "extractive", "skill": card.name if card else None,
                "declined": False, "sources": [h.source_dict() for h in cited][:5], "notes": notes}

    def _llm_answer(self, question: str, hits, card, user_id: str, notes: list[str]) -> dict[str, Any] | None:
        from bot.knowledge.llm import generate

        cfg = self.settings
        if not self.store.take_quota(user_id, "llm", cfg.llm.daily_calls_per_user):
            notes.append("You have used today's model answers, so this answer is extracted from the guides.")
            return None
        try:
            model = self._chat_model()
            gen = generate(model, question, hits, instructions=card.instructions if card else "",
                           max_chars=cfg.answer.max_chars - 200)
        except Exception as exc:  # noqa: BLE001 - any endpoint failure falls back to extractive
            log.warning("llm call failed class=%s", exc.__class__.__name__)
            notes.append("The language model did not answer (unavailable or too slow), so this answer is "
                         "extracted from the guides.")
            return None
        if gen.not_covered:
            return self._decline(card.name if card else None, hits, reason="model")
        if gen.unsupported:
            notes.append("The model's answer contained figures not found in the guides, so this answer is "
                         "extracted from the guides instead.")
            return None
        cited = [hits[n - 1] for n in gen.cited] or hits[:1]
        renumber = {old: new for new, old in enumerate(gen.cited, 1)}
        text = re.sub(r"\[(\d{1,2})\]", lambda m: f"[{renumber.get(int(m.group(1)), m.group(1))}]", gen.text)
        footer = self._footer(card, cited)
        from bot.textsafe import cut

        text = cut(text, cfg.answer.max_chars - len(footer))
        return {"answer": text + footer, "mode": "llm", "skill": card.name if card else None, "declined": False,
                "sources": [h.source_dict() for h in cited][:5], "notes": notes}

    @cached_property
    def _chat(self):
        from bot.knowledge.llm import ChatModel

        return ChatModel(self.settings)

    def _chat_model(self):
        return self._chat

    def _footer(self, card, hits) -> str:
        parts = []
        if card and card.disclaimer:
            parts.append(card.disclaimer.strip())
        jurisdictions = sorted({str(h.meta.get("jurisdiction")) for h in hits
                                if h.meta.get("jurisdiction") and str(h.meta.get("jurisdiction")).lower() != "any"})
        if jurisdictions and card and card.name in ("ip", "rates"):
            parts.append(f"Jurisdiction of the cited guides: {'; '.join(jurisdictions)[:200]}.")
        return ("\n\n_" + " ".join(parts) + "_") if parts else ""

    def _decline(self, skill: str | None, hits, *, reason: str) -> dict[str, Any]:
        if reason == "remit":
            text = f"That is outside what I can help with. {WHAT_I_DO}"
        else:
            text = ("The guides do not cover this question, so I won't guess. " + WHAT_I_DO +
                    " Try rephrasing with the topic you mean (for example rates, IR35, work made for hire, "
                    "cross-validation or scoping).")
        return {"answer": text, "mode": "extractive" if self.settings.answer.mode == "extractive" or reason != "model"
                else "llm", "skill": skill, "declined": True, "sources": [h.source_dict() for h in hits][:5],
                "notes": []}


def _chunk_meta(source: str, chunk: Chunk, record: dict[str, Any]) -> dict[str, Any]:
    meta = {"source": source, "title": record["title"], "section": chunk.section, "position": chunk.position}
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
