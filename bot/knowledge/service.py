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
        self._filling = False

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
    def sentence_store(self):
        from bot.knowledge.sentences import SentenceStore

        if not self.settings.sentences.store:
            return None
        return SentenceStore(self.settings.data_dir / "cache" / "sentences.sqlite", self.index.model_id)

    @lazy
    def sentence_vectors(self):
        from bot.knowledge.sentences import SentenceVectors

        return SentenceVectors(self.embeddings, self.sentence_store, memory=self.settings.sentences.memory)

    @lazy
    def answering(self):
        from bot.knowledge.sentences import Activity

        return Activity()  # questions in progress: the sentence fill waits for them

    @lazy
    def sentence_fill(self):
        from bot.knowledge.sentences import SentenceFill, fill_embeddings

        return SentenceFill(self.settings, self.sentence_store,
                            lambda: fill_embeddings(self.settings, lambda: self.embeddings), self.answering,
                            self.index.generation)

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
        self._filling = True  # a long-running front: keep the sentence store filled from now on
        if self.index.exists():
            self.asker.parts(self.retriever.corpus())  # the speller and the slot vocabulary of this index
        self._fill_sentences()

    def _fill_sentences(self, *, changed: bool = True) -> None:
        """Fill the sentence store for the served index in the background, in processes that called
        `warm` (long-running fronts): at start, then whenever the index this process serves has changed."""
        cfg = self.settings
        if not (self._filling and cfg.sentences.fill and cfg.sentences.store and cfg.embeddings.provider == "local"):
            return  # (a paid embedding API is only called for what answers need)
        if not changed:  # after an answer: the copy it read (no index call on the answer path)
            self.sentence_fill.start(self.retriever.corpus())
        elif self.index.exists():
            self.sentence_fill.start(self.retriever.refresh())

    def close(self) -> None:
        """Stop the background fill and close the sentence store."""
        if "sentence_fill" in self.__dict__:
            self.sentence_fill.stop()
        if "sentence_store" in self.__dict__ and self.sentence_store is not None:
            self.sentence_store.close()

    # Ingest and the guides --------------------------------------------------------------------
    def ingest(self, paths: list[Path], *, prune: bool = False, progress: Progress | None = None) -> dict[str, Any]:
        result = self.ingestor.ingest(paths, prune=prune, progress=progress)
        self._fill_sentences()
        return result

    def list_guides(self) -> dict[str, Any]:
        return self.ingestor.list_guides()

    def remove(self, source: str) -> dict[str, Any]:
        result = self.ingestor.remove(source)
        self._fill_sentences()
        return result

    def reindex(self, *, progress: Progress | None = None) -> dict[str, Any]:
        result = self.ingestor.reindex(progress=progress)
        self._fill_sentences()
        return result

    # Ask ----------------------------------------------------------------------------------------
    def ask(self, question: str, *, user_id: str, skill: str | None = None, conversation_id: str | None = None,
            private: bool = False) -> dict[str, Any]:
        with self.answering.busy():
            result = self.asker.ask(question, user_id=user_id, skill=skill, conversation_id=conversation_id,
                                    private=private)
        self._fill_sentences(changed=False)  # the question has read the live index (a change by any process)
        return result
