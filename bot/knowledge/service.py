"""The knowledge base: one object that holds the index, the model and the two pipelines.

Ingest (`ingest.py`: ingest, list, remove, reindex) and ask (`ask.py`: conversation -> route ->
retrieve -> decide -> compose) stay separate; this facade builds their shared parts lazily, so
the model loads once per process and listing guides loads none.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.knowledge.embeddings import get_embeddings, model_id
from bot.knowledge.index import GuideIndex
from bot.lazy import lazy
from bot.store import Store

Progress = Callable[[str, dict[str, Any]], None]


class KnowledgeBase:
    def __init__(self, settings: Settings, store: Store, skills):
        self.settings = settings
        self.store = store
        self.skills = skills
        self.index = GuideIndex(settings, model_id(settings))

    # Lazily built parts ------------------------------------------------------------------------
    @lazy
    def embeddings(self):
        return get_embeddings(self.settings)

    @lazy
    def retriever(self):
        from bot.knowledge.retrieve import Retriever

        return Retriever(self.settings, self.index, lambda: self.embeddings)

    @lazy
    def router(self):
        from bot.knowledge.router import Router

        return Router(self.skills, self.embeddings, cache_dir=self.settings.data_dir / "cache",
                      model_id=self.index.model_id)

    @lazy
    def sentence_vectors(self):
        from bot.knowledge.compose import SentenceVectors

        return SentenceVectors(self.embeddings)

    @lazy
    def ingestor(self):
        from bot.knowledge.ingest import Ingestor

        return Ingestor(self.settings, self.index, lambda: self.embeddings, lambda: self.retriever)

    @lazy
    def asker(self):
        from bot.knowledge.ask import Asker

        return Asker(self)

    def warm(self) -> None:
        self.embeddings  # noqa: B018 - load the model
        self.router._examples()
        if self.index.exists():
            self.asker.parts(self.retriever.corpus())  # the speller and the slot vocabulary of this index

    # Ingest and the guides --------------------------------------------------------------------
    def ingest(self, paths: list[Path], *, prune: bool = False, progress: Progress | None = None) -> dict[str, Any]:
        return self.ingestor.ingest(paths, prune=prune, progress=progress)

    def list_guides(self) -> dict[str, Any]:
        return self.ingestor.list_guides()

    def remove(self, source: str) -> dict[str, Any]:
        return self.ingestor.remove(source)

    def reindex(self, *, progress: Progress | None = None) -> dict[str, Any]:
        return self.ingestor.reindex(progress=progress)

    # Ask ----------------------------------------------------------------------------------------
    def ask(self, question: str, *, user_id: str, skill: str | None = None, conversation_id: str | None = None,
            private: bool = False) -> dict[str, Any]:
        return self.asker.ask(question, user_id=user_id, skill=skill, conversation_id=conversation_id,
                              private=private)
