"""The ask pipeline: conversation -> route -> retrieve -> decide -> compose.

Each stage lives in its own module; this one wires them and records the turn. Answers are
extractive by default; in the model mode a model writes them (falling back to extractive, and
saying so, whenever the model fails).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from functools import cached_property
from typing import Any

from bot.errors import InputError
from bot.knowledge import conversation, decide
from bot.knowledge.compose import compose, extract, footer
from bot.knowledge.embeddings import encode

log = logging.getLogger(__name__)


class Asker:
    def __init__(self, kb):
        """`kb` is the KnowledgeBase: settings, store, skills and its lazily built parts."""
        self.kb = kb
        self.settings = kb.settings

    def ask(self, question: str, *, user_id: str, skill: str | None = None, conversation_id: str | None = None,
            private: bool = False) -> dict[str, Any]:
        kb, started = self.kb, time.monotonic()
        question = (question or "").strip()
        limit = self.settings.answer.question_max_chars
        if not question:
            raise InputError("the question is empty.", hint="Ask about rates, IP and contracts, ML methodology or scoping.")
        if len(question) > limit:
            raise InputError(f"the question is {len(question)} characters long; the limit is {limit}.",
                             hint="Ask a shorter, more specific question.")
        kb.retriever.refresh()  # a change to the index since the last question is seen now; a missing
        # index or one built with another model is a clear error first
        history = kb.store.turns(conversation_id, self.settings.conversations.max_turns) if conversation_id else []
        rewrite = self._model_rewrite if self.settings.answer.mode == "llm" else None
        standalone = conversation.standalone(question, history, rewrite)
        qvec = encode(kb.embeddings, [standalone])[0]
        route = kb.router.route(qvec)
        card = kb.skills.require(skill) if skill else route.skill
        if not skill and history and conversation.is_follow_up(question) and history[-1].get("skill"):
            card = kb.skills.get(history[-1]["skill"]) or card
        private = private or bool(card and card.private) or any(t["private"] for t in history)
        off_topic = (card is not None and card.declines) or (not skill and route.off_topic)
        result = self._answer(standalone, qvec, card, off_topic=off_topic, user_id=user_id)
        conversation_id = conversation_id or ("c-" + uuid.uuid4().hex[:12])
        cfg = self.settings.conversations
        kb.store.add_turn(conversation_id, user_id, question, standalone, card.name if card else None,
                          private=private, private_ttl=cfg.private_ttl_seconds, ttl=cfg.ttl_days * 86400)
        result["conversation_id"] = conversation_id
        result["private"] = private
        result["answer_id"] = kb.store.record_answer(
            user_id, "[private]" if private else question, result["skill"], result["sources"])
        log.info("ask skill=%s declined=%s mode=%s sources=%d private=%s ms=%d", result["skill"], result["declined"],
                 result["mode"], len(result["sources"]), private, (time.monotonic() - started) * 1000)
        return result

    def _model_rewrite(self, question: str, earlier: list[str]) -> str | None:
        from bot.knowledge.llm import rewrite_follow_up

        return rewrite_follow_up(self._chat, question, earlier)

    def _answer(self, standalone: str, qvec, card, *, off_topic: bool, user_id: str) -> dict[str, Any]:
        kb = self.kb
        skill_name = card.name if card else None
        if off_topic:
            return decide.decline(self.settings, skill_name, [], reason="remit")
        hits = kb.retriever.search(standalone, topics=card.topics if card else None, query_vector=qvec)
        if not hits or not decide.relevant(self.settings, hits,
                                           decide.unknown_share(standalone, kb.retriever.corpus().bm25.postings)):
            return decide.decline(self.settings, skill_name, hits, reason="coverage")
        notes: list[str] = []
        if self.settings.answer.mode == "llm":
            answered = self._llm_answer(standalone, hits, card, user_id, notes)
            if answered is not None:
                return answered
        return self._extractive(standalone, qvec, hits, card, notes)

    def _extractive(self, question: str, qvec, hits, card, notes: list[str]) -> dict[str, Any]:
        cfg = self.settings.answer
        tail = footer(card, hits)
        room = cfg.max_chars - len(tail) - sum(len(n) + 4 for n in notes) - 20
        picked = extract(question, qvec, hits, self.kb.sentence_vectors, self.kb.retriever.corpus().bm25,
                         max_sentences=cfg.max_sentences, max_chars=max(200, room), weights=self.settings.compose)
        if not picked:
            return decide.decline(self.settings, card.name if card else None, hits, reason="coverage")
        body, cited = compose(picked, hits)
        return {"answer": body + tail, "mode": "extractive", "skill": card.name if card else None,
                "declined": False, "sources": [h.source_dict() for h in cited][:5], "notes": notes}

    def _llm_answer(self, question: str, hits, card, user_id: str, notes: list[str]) -> dict[str, Any] | None:
        from bot.knowledge.llm import generate
        from bot.textsafe import cut

        cfg = self.settings
        if not self.kb.store.take_quota(user_id, "llm", cfg.llm.daily_calls_per_user):
            notes.append("You have used today's model answers, so this answer is extracted from the guides.")
            return None
        try:
            gen = generate(self._chat, question, hits, instructions=card.instructions if card else "",
                           max_chars=cfg.answer.max_chars - 200)
        except Exception as exc:  # noqa: BLE001 - any endpoint failure falls back to extractive
            log.warning("llm call failed class=%s", exc.__class__.__name__)
            notes.append("The language model did not answer (unavailable or too slow), so this answer is "
                         "extracted from the guides.")
            return None
        if gen.not_covered:
            return decide.decline(self.settings, card.name if card else None, hits, reason="model")
        if gen.unsupported:
            notes.append("The model's answer contained figures not found in the guides, so this answer is "
                         "extracted from the guides instead.")
            return None
        cited = [hits[n - 1] for n in gen.cited] or hits[:1]
        renumber = {old: new for new, old in enumerate(gen.cited, 1)}
        text = re.sub(r"\[(\d{1,2})\]", lambda m: f"[{renumber.get(int(m.group(1)), m.group(1))}]", gen.text)
        tail = footer(card, cited)
        text = cut(text, cfg.answer.max_chars - len(tail))
        return {"answer": text + tail, "mode": "llm", "skill": card.name if card else None, "declined": False,
                "sources": [h.source_dict() for h in cited][:5], "notes": notes}

    @cached_property
    def _chat(self):
        from bot.knowledge.llm import ChatModel

        return ChatModel(self.settings)
