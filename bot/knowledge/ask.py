"""The ask pipeline: conversation -> route -> retrieve -> decide -> compose.

Each stage lives in its own module; this one wires them and records the turn. A question is first
corrected against the guides' own words (spelling.py), then read in its conversation
(conversation.py: standalone, a changed detail, a new question in the same situation, or "why?").
Lines outside the remit are declined whatever came before; retrieval prefers guides about the place
asked for; a detail the guides do not cover is said so. Answers are extractive by default; in the
model mode a LangChain chain writes them, with the extractive answer as its fallback (llm.py).
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import numpy as np

from bot.errors import ConfigError, InputError
from bot.knowledge import conversation, decide, foreign, slots
from bot.knowledge.acronyms import Acronyms
from bot.knowledge.compose import compose, extract, footer
from bot.knowledge.conversation import Turn
from bot.knowledge.embeddings import encode
from bot.knowledge.lexical import is_number, words
from bot.knowledge.retrieve import Hit, whole_sections
from bot.knowledge.sentences import chunk_sentences
from bot.knowledge.spelling import Speller, english_words, model_words
from bot.lazy import lazy
from bot.textsafe import chat_read, cut

log = logging.getLogger(__name__)

# Sentences that give a reason: a "why?" may show them again.
_EXPLAINS = re.compile(r"\b(because|since|due to|reflects?|reflecting|driven by|means|therefore|as a result|"
                       r"which is why|the reason|otherwise|leads? to|causes?|so that|in order to)\b", re.I)
_CLAUSE = re.compile(r"(?<=[.!?;])\s+|\s+-\s+|\n+")
_EVIDENCE_PASSAGES = 3  # the best sentence of this many top passages is decline evidence
_SUBJECT_PASSAGES = 2  # a follow-up names a new subject when this many top passages lack most of it
_SLOT_NAMES = {"seniority": "seniority", "specialty": "specialty", "engagement": "engagement type", "ir35": "IR35 status",
               "platform": "platform", "client": "client type", "duration": "contract length", "place": "place"}


@dataclass
class Parts:
    """What the pipeline derives from one version of the index."""

    generation: str
    speller: Speller
    vocab: slots.Vocabulary
    guide_places: list[set[str]]  # the places of every guide that is about places
    guide_details: dict[str, set[tuple[str, str]]] = field(default_factory=dict)  # source -> details its
    #                                                  title and tags name (("seniority", "senior"), ...)
    acronyms: Acronyms | None = None  # the acronyms the guides spell out ("SOW" -> "statement of work")
    platforms: frozenset[str] | None = None  # the platforms some guide names (None: not worked out)
    section_details: dict[tuple[str, str], set[tuple[str, str]]] = field(default_factory=dict)  # (source,
    #                                                  section) -> details its own heading names ("Time series ...")

    def heading_details(self, hit: Hit) -> set[tuple[str, str]]:
        """The details the hit's own section heading names."""
        return self.section_details.get((str(hit.meta.get("source", "")), hit.section), set())

    def read(self, question: str) -> str:
        """The question as the pipeline reads it: chat markup read (textsafe.chat_read), German, French and
        Spanish terms read in English (foreign.py), typos corrected, the guides' acronyms spelt out."""
        text = self.speller.correct(foreign.in_english(chat_read(question)))
        return self.acronyms.expand(text) if self.acronyms else text


class Asker:
    def __init__(self, kb):
        """`kb` is the KnowledgeBase: settings, store, skills and its lazily built parts."""
        self.kb = kb
        self.settings = kb.settings
        self._parts: Parts | None = None
        self._lock = threading.Lock()
        self._local = threading.local()  # per answering thread: the question in progress

    # The pipeline --------------------------------------------------------------------------------
    def ask(self, question: str, *, user_id: str, skill: str | None = None, conversation_id: str | None = None,
            private: bool = False) -> dict[str, Any]:
        kb, started = self.kb, time.monotonic()
        question = self._checked(question)
        self._new_question()
        corpus = kb.retriever.refresh()  # a change to the index since the last question is seen now; a
        # missing index or one built with another model is a clear error first
        parts = self.parts(corpus)
        history = kb.store.turns(conversation_id, self.settings.conversations.max_turns) if conversation_id else []
        turn = conversation.interpret(parts.read(question), history, parts.vocab,
                                      known=partial(_guides_use, corpus.bm25.postings))
        turn.cited = {str(src) for t in history for src, *_ in (t.get("meta") or {}).get("sources") or []}
        social = conversation.social(question)  # "thanks!", "hi", "what can you do?"
        # A follow-up with no words of its own ("so which one?") is only its reference back: nothing to judge
        # outside the remit by meaning (intents and sums still are).
        judged = turn.kind == "standalone" or (turn.kind == "context" and turn.own_words > 0)
        gap = self._remit_gap(turn) if not social and not skill and judged else None
        refers_back = turn.follow_up and turn.own_words < self.settings.decline.follow_up_subject_words
        intent = decide.declined_intent(turn.question, kb.skills)  # "... without them finding out"
        if social:
            result, answer_meta = decide.social_reply(social), {"social": social}
        elif intent or (gap is not None and decide.outside_remit(self.settings, gap, follow_up=refers_back)):
            result = self._decline(None, [], "remit")  # whatever came before
            answer_meta = {"remit_gap": gap, "intent": intent}
        else:
            if self.settings.answer.mode == "llm":
                turn = conversation.with_model(turn, self._model_rewrite)
            result, answer_meta = self._answer(turn, skill, user_id, parts)
            answer_meta["remit_gap"] = gap
        private = private or bool(result.pop("_private", False)) or any(t["private"] for t in history)
        conversation_id = conversation_id or ("c-" + uuid.uuid4().hex[:12])
        cfg = self.settings.conversations
        meta = {**turn.meta(), **answer_meta, "skill": result["skill"], "declined": result["declined"],
                "decline_reason": result.get("decline_reason")}
        kb.store.add_turn(conversation_id, user_id, question, turn.standalone, result["skill"], private=private,
                          private_ttl=cfg.private_ttl_seconds, ttl=cfg.ttl_days * 86400, meta=meta)
        result.setdefault("decline_reason", None)
        result["conversation_id"] = conversation_id
        result["private"] = private
        result["answer_id"] = kb.store.record_answer(
            user_id, "[private]" if private else question, result["skill"], result["sources"])
        log.info("ask skill=%s kind=%s declined=%s reason=%s mode=%s sources=%d private=%s ms=%d", result["skill"],
                 turn.kind, result["declined"], result["decline_reason"], result["mode"],
                 len(result["sources"]), private, (time.monotonic() - started) * 1000)
        return result

    def _checked(self, question: str) -> str:
        question = (question or "").strip()
        limit = self.settings.answer.question_max_chars
        if not question:
            raise InputError("the question is empty.", hint="Ask about rates, IP and contracts, ML methodology or scoping.")
        if not chat_read(question, mention=""):  # only a link, a mention or an emoji
            raise InputError("the message has no words to answer, only a link, mention or emoji.",
                             hint="I do not open links: paste the text you want checked, or upload a CSV to scope.")
        if len(question) > limit:
            raise InputError(f"the question is {len(question)} characters long; the limit is {limit}.",
                             hint="Ask a shorter, more specific question.")
        return question

    def _answer(self, turn: Turn, skill: str | None, user_id: str, parts: Parts) -> tuple[dict[str, Any], dict]:
        """Route, retrieve, decide and compose; a private skill's question stays private even when declined."""
        card, result, meta = self._decided(turn, skill, user_id, parts)
        result["_private"] = bool(card and card.private)
        return result, meta

    def _decided(self, turn: Turn, skill: str | None, user_id: str, parts: Parts):
        kb, settings = self.kb, self.settings
        qvec = self._query_vector(turn)
        previous_card = kb.skills.get(turn.previous.get("skill") or "") if turn.kind in ("slot", "elaborate") else None
        route = kb.router.route(qvec)
        card = kb.skills.require(skill) if skill else (previous_card or route.skill)
        if card is not None and card.declines:
            return card, self._decline(None, [], "remit"), {}
        ranked, hits, ev = self._retrieve(turn, qvec, card, parts, route)
        answer_meta: dict[str, Any] = {}
        alone = self._new_subject(turn, hits, parts)
        if alone is not None:  # "what about GDPR?" after a day-rate question: a new question, asked alone
            turn, qvec = alone
            route = kb.router.route(qvec)
            card = kb.skills.require(skill) if skill else route.skill
            if card is not None and card.declines:
                return card, self._decline(None, [], "remit"), {}
            ranked, hits, ev = self._retrieve(turn, qvec, card, parts, route)
            answer_meta.update(turn.meta())  # later follow-ups build on this question
        # The answer reads the top passages' whole sections (`compose.whole_sections`).
        hits = whole_sections(hits, kb.retriever.corpus(), settings.compose.whole_sections)
        places = self._places(turn, parts)
        name = card.name if card else None
        answer_meta["evidence"] = ev.as_dict()
        if (turn.kind == "standalone" and decide.subjectless(turn.standalone)) or decide.sum_only(turn.question):
            return card, self._decline(name, [], "remit"), answer_meta  # only numbers: "whats 15% of 2400"
        if not hits or not decide.relevant(settings, ev, follow_up=turn.follow_up):
            return card, self._decline(name, hits, decide.irrelevant_reason(settings, ev)), answer_meta
        own = self._own_evidence(turn, card, parts, route)
        if own is not None:  # "and which crm should they use?": the blend carries the earlier topic's evidence
            answer_meta["own_evidence"] = own.as_dict()
            if own.score(settings) < settings.decline.own_subject_threshold:
                return card, self._decline(name, hits, decide.irrelevant_reason(settings, own)), answer_meta
        notes: list[str] = []
        missing, elsewhere = self._uncovered_place(places, ranked, parts, settings.retrieval.top_k)
        if missing and elsewhere:
            detail = f"The guides do not cover {missing.title()}"
            return card, self._decline(name, hits, "coverage", detail=detail), answer_meta
        if missing:
            above = self._covering_place(missing, ranked, parts)
            notes.append(f"The guides say nothing specific to {missing.title()}; this is what they say "
                         + (f"about {_place_name(above)}." if above else "in general."))
        if card is not None and card.name == "rates":  # "i want to make 90k a year, what day rate?"
            from bot.rates.income import calculator_note

            worked = calculator_note(turn.question, turn.slots.get("place"))
            if worked:
                notes.append(worked)
        unnamed = self._unnamed_platforms(turn, parts)
        if unnamed:  # "and fiverr?": the fees of the platforms the guides do name are no answer for it
            notes.append(f"The guides say nothing about {' or '.join(unnamed)}; this is what they say in general.")
        if turn.kind == "elaborate":
            hits = self._previous_sections(turn, qvec) + [h for h in hits if not self._in_previous(turn, h)]
        result, shown = self._compose(turn, qvec, hits, card, user_id, notes, parts)
        answer_meta.update(shown=shown, sources=[[s["source"], s["section"]] for s in result["sources"]])
        return card, result, answer_meta

    def _new_subject(self, turn: Turn, hits: list[Hit], parts: Parts) -> tuple[Turn, Any] | None:
        """A `context` follow-up that does not point back, whose own subject words none of the top passages
        has while its line asked alone finds them ("what about learning curves" after an NDA answer): the
        line as a standalone turn and its own vector; else None (a follow-up about the same thing, or one
        that points back, keeps the blend)."""
        if turn.kind != "context" or not turn.subject or turn.by_model or conversation.points_back(turn.question) \
                or conversation.names_said(turn.question, turn.previous):
            return None
        corpus = self.kb.retriever.corpus()
        idf = {w: corpus.bm25.idf_of(w) for w in turn.subject if not is_number(w)}  # "what about 50%?" points back
        total = sum(idf.values())
        units = _subject_units(turn.question, idf)

        def names_it(found: list[Hit]) -> bool:
            """Do the top passages have most of the subject (by idf: "data leakage" is about leakage)? Words
            typed together count together: "time series" is named by a passage that says "time series", not
            by one that says "time" (a run of subject words is found only as the same run of words)."""
            texts = [words(h.text) for h in found[:_SUBJECT_PASSAGES]]
            grams = {tuple(t[i:i + n]) for t in texts for n in {len(u) for u in units} for i in range(len(t))}
            named = sum(sum(idf[w] for w in u) for u in units if tuple(u) in grams)
            return named >= self.settings.conversations.new_subject_share * total

        if not hits or not total or names_it(hits):
            return None
        # The line as typed: the details carried from before ("in united kingdom") belong to the old subject.
        alone = conversation.interpret(turn.question, [], parts.vocab)
        vector = self._encode([alone.standalone])[0]
        _, found, _ = self._retrieve(alone, vector, None, parts)
        return (alone, vector) if names_it(found) else None

    def _own_evidence(self, turn: Turn, card, parts: Parts, route) -> decide.Evidence | None:
        """The evidence of a `context` follow-up's own line, asked alone, when it asks about a subject of its
        own (`decline.own_subject_words` words the question before does not have); else None. A line that
        only says more about the situation ("the client only cares about catching churners") is context."""
        if turn.kind != "context" or turn.own_words < self.settings.decline.own_subject_words \
                or not conversation.asks(turn.question):
            return None
        alone = conversation.interpret(turn.standalone, [], parts.vocab)
        vector = self._encode(self._query_texts(turn))[0]  # the line's own vector, embedded already
        _, _, ev = self._retrieve(alone, vector, card, parts, route)
        return ev

    # Vectors and retrieval -----------------------------------------------------------------------
    def _remit_gap(self, turn: Turn) -> float:
        """How far the closest card of questions to decline (for the line or any of its clauses) beats
        the line's evidence of being in the remit (its closest skill, or its closest passage)."""
        clauses = [c for c in _CLAUSE.split(turn.question) if len(c.split()) >= self.settings.decline.clause_words]
        texts = [turn.question, *(clauses if len(clauses) > 1 else [])]
        # (the query vector's texts join the same batch: for a question on its own, the same text)
        vecs = self._encode(texts, also=self._query_texts(turn))
        routes = [self.kb.router.route(v, line=t) for v, t in zip(vecs, texts, strict=True)]
        vectors = self.kb.retriever.corpus().vectors
        passage = float((vectors @ vecs[0]).max()) if vectors is not None and len(vectors) else -1.0
        return max(r.decline_score for r in routes) - max(routes[0].score, passage)

    def probe(self, question: str) -> dict[str, Any]:
        """The measures the decline decisions use, for a question on its own (evals/calibrate_ask.py)."""
        self._new_question()
        parts = self.parts(self.kb.retriever.refresh())
        turn = conversation.interpret(parts.read(question), [], parts.vocab)
        qvec = self._query_vector(turn)
        route = self.kb.router.route(qvec)
        ranked, hits, ev = self._retrieve(turn, qvec, route.skill, parts)
        missing, elsewhere = self._uncovered_place(self._places(turn, parts), ranked, parts,
                                                      self.settings.retrieval.top_k)
        return {"remit_gap": self._remit_gap(turn), "evidence": ev, "hits": len(hits),
                "place_not_covered": bool(missing and elsewhere)}

    def _query_vector(self, turn: Turn) -> np.ndarray:
        """The standalone question plus, for a follow-up rewritten offline, a share of the questions
        it refers to, and of a "why?" line's own words (a model's rewrite stands on its own)."""
        vecs = self._encode(self._query_texts(turn))
        query = vecs[0].copy()
        weight = self.settings.conversations.context_weight
        for i, v in enumerate(vecs[1:]):
            query = query + (weight ** (i + 1)) * v
        return query / (float(np.linalg.norm(query)) or 1.0)

    @staticmethod
    def _query_texts(turn: Turn) -> list[str]:
        context = [] if turn.by_model else turn.context
        if turn.kind == "elaborate" and turn.own_words:  # "why? the weights are the model": its words count
            context = [turn.question, *context]
        return [turn.standalone, *context]

    def _encode(self, texts: list[str], *, also: list[str] = ()) -> np.ndarray:
        """Vectors of this question's texts, each embedded once per question (with `also`, in the same
        batch, for a later step)."""
        memo = self._question_memo("vectors")
        todo = [t for t in dict.fromkeys([*texts, *also]) if t not in memo]
        if todo:
            memo.update(zip(todo, encode(self.kb.embeddings, todo), strict=True))
        return np.vstack([memo[t] for t in texts])

    def _sentences(self, text: str) -> list[str]:
        """A passage's sentences, split once per question (the rerank, the evidence and the answer read them)."""
        memo = self._question_memo("sentences")
        if text not in memo:
            memo[text] = chunk_sentences(text)
        return memo[text]

    def _question_memo(self, kind: str) -> dict:
        return self._local.__dict__.setdefault(kind, {})

    def _new_question(self) -> None:
        self._local.vectors, self._local.sentences = {}, {}  # shared by the steps of one question only

    def _retrieve(self, turn: Turn, qvec, card, parts: Parts, route=None):
        """Candidates in fused order, the top ones with guides about the place asked for first, and the
        evidence the decline decision weighs."""
        kb, k = self.kb, self.settings.retrieval.top_k
        places = self._places(turn, parts)
        # A question about a place reads every fused candidate, so a guide about that place further down
        # ("median ML day rate in the united states" ranks the UK guides first) can be put first.
        ranked = kb.retriever.search(turn.search_text, topics=card.topics if card else None, query_vector=qvec,
                                     k=self.settings.retrieval.candidates if places else k * 3)
        if turn.kind == "context":  # a question about the same situation: the guides just cited first
            ranked = self._prefer_previous(ranked, turn)
        ranked = self._prefer_details(ranked, turn, parts)
        # A place only carried from before ("and who is the controller then" after "what if the client is in
        # the US?" after a DPA question) keeps the guides the conversation has been answered from.
        carried = turn.kind == "context" and not any(m.cls == "place" for m in parts.vocab.find(turn.question))
        fused = self._order(ranked, places, turn.changed, parts.vocab,
                            self.settings.conversations.changed_detail_share,
                            keep=turn.cited if carried else frozenset())[:k]
        # The sentences the rerank and the evidence weigh, looked up (or embedded) in one batch.
        depth = _EVIDENCE_PASSAGES if turn.changed else max(_EVIDENCE_PASSAGES, self.settings.retrieval.rerank_depth)
        reads = fused[:depth]
        self.kb.sentence_vectors.get([s for h in reads for s in self._sentences(h.text)])
        # The decline evidence reads the fused order (what the index says about the question); the answer
        # reads the reranked one (which passage answers it), unless a changed detail decided the order.
        # When the first passage's own heading names the detail changed, it leads whatever the scores.
        if not turn.changed:
            hits = self._rerank(fused, qvec)
        elif fused and _heading_names_change(turn, fused[0], parts):
            hits = _in_order(fused)
        else:
            hits = fused
        route = route or kb.router.route(qvec)
        postings = kb.retriever.corpus().bm25.postings
        unknown = decide.unknown_share(turn.search_text, postings, _detail_words(turn.search_text, parts.vocab))
        return ranked, hits, decide.evidence(fused, route, unknown, self._best_sentence(fused, qvec),
                                             _asked_closeness(kb.retriever.corpus(), qvec))

    def _prefer_previous(self, hits: list[Hit], turn: Turn) -> list[Hit]:
        """Passages of the guides the previous answer cited gain `conversations.previous_guide_boost`."""
        cited = {source for source, _ in turn.previous.get("sources") or []}
        boost = 1.0 + self.settings.conversations.previous_guide_boost
        return sorted(hits, key=lambda h: -h.score * (boost if h.meta.get("source") in cited else 1.0))

    def _prefer_details(self, hits: list[Hit], turn: Turn, parts: Parts) -> list[Hit]:
        """Passages about a detail the question names gain `retrieval.detail_boost` of their score: those of
        a guide whose title or tags name the seniority, specialty, platform or client type asked about
        ("senior" -> the seniority premiums guide), and those of a section whose own heading names it
        ("... for time series" -> "Time series and TimeSeriesSplit")."""
        cfg = self.settings.retrieval
        wanted = {(c, v) for c, v in turn.slots.items() if c in cfg.detail_classes}
        if not cfg.detail_boost or not wanted:
            return hits
        boost = 1.0 + cfg.detail_boost

        def about(h: Hit) -> bool:
            return bool(wanted & (parts.guide_details.get(h.meta.get("source"), set()) | parts.heading_details(h)))

        scored = [replace(h, score=h.score * boost) if about(h) else h for h in hits]
        return sorted(scored, key=lambda h: -h.score)

    def _rerank(self, ranked: list[Hit], qvec) -> list[Hit]:
        """The first `retrieval.rerank_depth` candidates in the order of their fused score (relative to the
        best) plus `retrieval.sentence_weight` x the cosine of their best sentence to the question: of two
        passages about the subject, the one with a sentence that answers the question comes first. Their
        scores are rescaled to that order (the extractive answer weighs a passage by its score)."""
        cfg = self.settings.retrieval
        depth = min(cfg.rerank_depth, len(ranked))
        if not cfg.sentence_weight or depth < 2:
            return ranked
        top = ranked[0].score or 1.0
        head = sorted(((h.score / top + cfg.sentence_weight * self._sentence_cosine(h, qvec), n, h)
                       for n, h in enumerate(ranked[:depth])), key=lambda x: (-x[0], x[1]))
        best = head[0][0] or 1.0
        return [replace(h, score=top * combined / best) for combined, _, h in head] + ranked[depth:]

    def _sentence_cosine(self, hit: Hit, qvec) -> float:
        """The best cosine of one of the passage's sentences to the question (sentences.py: vectors
        from memory, the data dir's store, or embedded now)."""
        sentences = self._sentences(hit.text)
        return float((self.kb.sentence_vectors.get(sentences) @ qvec).max()) if sentences else -1.0

    def _best_sentence(self, hits: list[Hit], qvec) -> float:
        """The best cosine of one sentence of the top passages to the question."""
        return max((self._sentence_cosine(hit, qvec) for hit in hits[:_EVIDENCE_PASSAGES]), default=-1.0)

    @staticmethod
    def _unnamed_platforms(turn: Turn, parts: Parts) -> list[str]:
        """The platforms the question names that no guide names (display names, in order)."""
        if parts.platforms is None:
            return []
        out: list[str] = []
        for m in parts.vocab.find(turn.standalone):
            name = m.value[:1].upper() + m.value[1:]
            if m.cls == "platform" and m.value not in parts.platforms and name not in out:
                out.append(name)
        return out

    @staticmethod
    def _places(turn: Turn, parts: Parts) -> list[str]:
        return [m.value for m in parts.vocab.find(turn.standalone) if m.cls == "place"]

    @staticmethod
    def _order(hits: list[Hit], places: list[str], changed: dict[str, str], vocab: slots.Vocabulary,
               share: float = 0.0, keep: set[str] | frozenset[str] = frozenset()) -> list[Hit]:
        """Guides about another place than the one asked for are dropped (when others remain), and so are
        sections of a guide about no one place whose own heading names another place ("Experience curve in
        French data-science TJM" for a rate in Berlin), except the guides in `keep`; passages
        that name a detail the turn changed come first (order kept otherwise), among those whose fused score
        reaches `share` of the best one's (a passage that names Germany but is about another subject stays
        where the question's subject puts it: `conversations.changed_detail_share`)."""
        if places:
            kept = [h for h in hits if h.meta.get("source") in keep
                    or not _conflicts(vocab.guide_places(h.meta) or vocab.heading_places(h.section), places, vocab)]
            hits = kept or hits
        if changed and hits:
            wanted = set(changed.items())
            floor = share * (hits[0].score or 0.0)
            hits = sorted(hits, key=lambda h: -len(wanted & {(m.cls, m.value) for m in vocab.find(h.text)})
                          if h.score >= floor else 0)
        return hits

    @staticmethod
    def _uncovered_place(places: list[str], ranked: list[Hit], parts: Parts, k: int) -> tuple[str | None, bool]:
        """A place asked for that none of the candidate guides is about and no candidate passage names;
        and whether some of the best `k` candidates are about other places (then the answer depends on
        the place, and the question is not covered). A city whose country's guides are among the
        candidates is answered from them, with a note that they say nothing specific to it."""
        vocab = parts.vocab
        abouts = [vocab.guide_places(h.meta) for h in ranked]
        for place in places:
            if place == "global" or any(place in vocab.lineage(a) for about in abouts if about for a in about):
                continue  # a guide about the place, or about a place within it
            # (a passage that only names it counts among the first candidates: the wider list a place
            # question reads is for finding the guides about it)
            if any(m.value == place and m.cls == "place" for h in ranked[: 3 * k] for m in vocab.find(h.text)):
                continue
            if any(a in vocab.lineage(place) for about in abouts if about for a in about):
                return place, False  # only guides about the country or region it is in: said in a note
            return place, any(abouts[:k])
        return None, False

    @staticmethod
    def _covering_place(place: str, ranked: list[Hit], parts: Parts) -> str | None:
        """The nearest place above `place` (its country, then region) that a candidate guide is about."""
        vocab = parts.vocab
        about = {a for h in ranked for a in (vocab.guide_places(h.meta) or ())}
        return next((above for above in vocab.ancestors(place) if above in about), None)

    def _previous_sections(self, turn: Turn, qvec: np.ndarray) -> list[Hit]:
        """The chunks of the sections the previous answer came from, closest to the question first."""
        wanted = {tuple(s) for s in turn.previous.get("sources") or []}
        corpus = self.kb.retriever.corpus()
        out = []
        for i, meta in enumerate(corpus.metas):
            if (meta.get("source"), meta.get("section")) in wanted:
                dense = float(corpus.vectors[i] @ qvec) if corpus.vectors is not None else 0.0
                out.append(Hit(id=corpus.ids[i], text=corpus.texts[i], meta=meta, score=dense, dense=dense,
                               lexical=0.0))
        return sorted(out, key=lambda h: -h.dense)

    @staticmethod
    def _in_previous(turn: Turn, hit: Hit) -> bool:
        return [hit.meta.get("source"), hit.meta.get("section")] in (turn.previous.get("sources") or [])

    # Composition ---------------------------------------------------------------------------------
    def _compose(self, turn: Turn, qvec, hits: list[Hit], card, user_id: str, notes: list[str],
                 parts: Parts) -> tuple[dict[str, Any], list[str]]:
        """The answer without sentences about other places than the one asked for, nor (after a changed
        detail or a "why?") the sentences the previous answer showed; and a note for each changed
        detail the cited passages do not speak to."""
        # A changed detail or a "why?" adds to the previous answer. A new question about the same situation
        # may zoom in on a sentence shown before ("what goes in that caveat line?", "what should i do
        # instead?"); when it has words of its own, only a sentence with one of them may repeat ("what if
        # they refuse any deposit?" after "how big a deposit?" is not answered with the same sizes again).
        subject = set(turn.subject) if turn.kind == "context" else set()
        again = turn.kind in ("slot", "elaborate") or bool(subject)
        shown = set(turn.previous.get("shown") or []) if again else set()
        places = self._places(turn, parts)

        changed = set(turn.changed.items())

        def keep(sentence: str) -> bool:
            found = None  # the sentence's slot mentions, read only when a rule needs them
            if _digest(sentence) in shown and not (turn.kind == "elaborate" and _EXPLAINS.search(sentence)) \
                    and not (subject and subject & set(words(sentence))):
                found = parts.vocab.find(sentence) if changed else []
                if not changed & {(m.cls, m.value) for m in found}:
                    return False  # a follow-up adds to the answer before; "why?" may give its reasons again,
                    #               and a sentence about the detail changed ("and in London?") is its answer again
            if not places:
                return True
            named = {m.value for m in (parts.vocab.find(sentence) if found is None else found) if m.cls == "place"}
            return not (named and _conflicts(named, places, parts.vocab))

        fresh = _without(hits, keep, self._sentences)
        if not fresh:
            notes.append("The guides say no more on this than the answer above.")
            fresh = hits
        if self.settings.answer.mode == "llm":
            result = self._model_answer(turn.standalone, qvec, fresh, card, user_id, notes)
        else:
            # a first passage whose own heading names the detail changed ("Time series and TimeSeriesSplit"
            # for "what about for time series") gives the lead, whatever scores higher elsewhere
            result = self.extractive(turn.standalone, qvec, fresh, card, notes,
                                     lead_first=_heading_names_change(turn, fresh[0], parts))
        if not result["declined"]:
            notes.extend(self._change_notes(turn, result, parts))
            notes.extend(self._place_notes(places, result, hits, notes, parts))
        return result, result.pop("_shown", [])

    @staticmethod
    def _place_notes(places: list[str], result: dict[str, Any], hits: list[Hit], notes: list[str],
                     parts: Parts) -> list[str]:
        """A note for each place asked for that the answer neither comes from a guide about nor names: a
        passage that names it in passing ("US and Canadian salaries rose 5%") let the question through, but
        the answer shown says nothing about it ("going rate in canada?" answered with global averages)."""
        vocab, out = parts.vocab, []
        cited = {(s.get("source"), s.get("section")) for s in result.get("sources") or []}
        abouts = [vocab.guide_places(h.meta) or set() for h in hits
                  if (h.meta.get("source"), h.meta.get("section")) in cited]
        named = {m.value for m in vocab.find(result.get("answer") or "") if m.cls == "place"}
        for place in places:
            title = place.title()
            if place == "global" or any(title in n for n in notes) \
                    or any(vocab.related(place, a) for about in abouts for a in about) \
                    or any(vocab.related(place, n) for n in named):
                continue
            out.append(f"The guides say nothing specific to {title}; this is what they say in general.")
        return out

    def _change_notes(self, turn: Turn, result: dict[str, Any], parts: Parts) -> list[str]:
        """A note for each detail the turn changed that the answer neither names nor comes from a guide or
        section about ("what about for computer vision?" answered from the computer-vision guide needs none)."""
        out = []
        body = result["answer"]
        cited: set[tuple[str, str]] = set()
        for s in result.get("sources") or []:
            cited |= parts.guide_details.get(s.get("source"), set())
            cited |= parts.section_details.get((str(s.get("source", "")), str(s.get("section", ""))), set())
        for cls, value in turn.changed.items():
            if cls in ("place", "platform") or (cls, value) in cited:
                continue  # places and platforms are checked against the whole index before composing
            if not any(m.cls == cls and m.value == value for m in parts.vocab.find(body)):
                out.append(f"The guides do not cover the {_SLOT_NAMES.get(cls, cls)} you mention ({value}), so "
                           "this answer is what they say in general.")
        return out

    def extractive(self, question: str, qvec, hits: list[Hit], card, notes: list[str], *,
                   lead_first: bool = False) -> dict[str, Any]:
        cfg = self.settings.answer
        tail = footer(card, hits)
        room = cfg.max_chars - len(tail) - sum(len(n) + 4 for n in notes) - 200
        picked = extract(question, qvec, hits, self.kb.sentence_vectors, self.kb.retriever.corpus().bm25,
                         max_sentences=cfg.max_sentences, max_chars=max(200, room), weights=self.settings.compose,
                         lead_first=lead_first)
        if not picked:
            return self._decline(card.name if card else None, hits, "coverage")
        body, cited = compose(picked, hits)
        return {"answer": body + footer(card, cited), "mode": "extractive", "skill": card.name if card else None,
                "declined": False, "sources": [h.source_dict() for h in cited][:5], "notes": notes,
                "_shown": [_digest(s.text) for s in picked]}

    def _decline(self, skill: str | None, hits: list[Hit], reason: str, detail: str | None = None) -> dict[str, Any]:
        return decide.decline(self.settings, skill, hits, reason=reason, detail=detail)

    # Parts derived from the index ------------------------------------------------------------------
    def parts(self, corpus) -> Parts:
        with self._lock:
            if self._parts is None or self._parts.generation != corpus.generation:
                self._parts = self._build_parts(corpus)
            return self._parts

    def _build_parts(self, corpus) -> Parts:
        from bot.knowledge.embeddings import minilm_dir

        known = english_words() | (model_words(minilm_dir()) if self.settings.embeddings.provider == "local" else set())
        headings = [f"{m.get('title', '')} {m.get('section', '')} {m.get('tags', '')}" for m in corpus.metas]
        vocab = slots.build(self._rate_book)
        names = vocab.words()  # a platform or a place ("fiverr", "lyon") is never "corrected", and a
        known = known | names  # misspelling no guide word is close to is corrected to it ("manchster")
        places: list[set[str]] = []
        details: dict[str, set[tuple[str, str]]] = {}  # per guide: the details its title and tags name
        sections: dict[tuple[str, str], set[tuple[str, str]]] = {}  # per section: the details its heading names
        for meta in corpus.metas:
            source, section = str(meta.get("source", "")), str(meta.get("section", ""))
            if (source, section) not in sections and " > " in section:
                named = vocab.find(section.rsplit(" > ", 1)[1])
                sections[(source, section)] = {(m.cls, m.value) for m in named if m.cls != "place"}
            if source in details:
                continue
            about = vocab.guide_places(meta)
            if about:
                places.append(about)
            named = vocab.find(f"{meta.get('title', '')} | {meta.get('tags', '')}")
            details[source] = {(m.cls, m.value) for m in named if m.cls != "place"}
        speller = Speller(corpus.texts + headings, known, names=sorted(names))
        names = {v for cls, v in vocab.terms.values() if cls == "platform"}
        platforms = {v for v in names if speller.names_word(v)}
        dotted = [v for v in names - platforms if not v.isalpha()]  # "freelancer.com", "gun.io": one pass
        if dotted:
            text = "\n".join(corpus.texts).lower()
            platforms |= {v for v in dotted if v in text}
        return Parts(corpus.generation, speller, vocab, places, details, Acronyms.from_texts(corpus.texts, known),
                     frozenset(platforms), sections)

    @lazy
    def _rate_book(self):
        from bot.rates.cards import RateBook

        try:
            return RateBook.load(self.settings.rate_cards_dir, self.settings)
        except ConfigError as exc:  # the vocabulary still has its table of places
            log.warning("rate cards not read for the slot vocabulary: %s", exc)
            return None

    # The model -----------------------------------------------------------------------------------
    def _model_answer(self, question: str, qvec, hits: list[Hit], card, user_id: str,
                      notes: list[str]) -> dict[str, Any]:
        from bot.knowledge import llm

        settings = self.settings
        if not self.kb.store.take_quota(user_id, "llm", settings.llm.daily_calls_per_user):
            notes.append("You have used today's model answers, so this answer is extracted from the guides.")
            return self.extractive(question, qvec, hits, card, notes)
        skill = card.name if card else None

        def answered(gen: llm.Generation, hits: list[Hit]) -> dict[str, Any]:
            if gen.not_covered:
                return {**self._decline(skill, hits, "coverage"), "mode": "llm"}
            cited = [hits[n - 1] for n in gen.cited] or hits[:1]
            tail = footer(card, cited)
            text = cut(llm.renumbered(gen), settings.answer.max_chars - len(tail))
            return {"answer": text + tail, "mode": "llm", "skill": skill, "declined": False,
                    "sources": [h.source_dict() for h in cited][:5], "notes": notes, "_shown": []}

        def extractive(inp: dict[str, Any], note: str) -> dict[str, Any]:
            notes.append(note)
            return self.extractive(question, qvec, inp["hits"], card, notes)

        chain = llm.answer_chain(self._chat, instructions=card.instructions if card else "",
                                 max_chars=settings.answer.max_chars - 200, answered=answered, extractive=extractive)
        return chain.invoke({"question": question, "hits": hits})

    def _model_rewrite(self, question: str, before: str) -> str | None:
        from bot.knowledge.llm import rewrite_follow_up

        return rewrite_follow_up(self._chat, question, before)

    @lazy
    def _chat(self):
        from bot.knowledge.llm import chat_model

        return chat_model(self.settings)


# Details the conversation itself understands ("chatbot" is the LLM specialty, "grads" are juniors): never
# unknown words, whether or not a guide uses the word. Places and platforms are judged by coverage instead.
_UNDERSTOOD = frozenset(["seniority", "specialty", "engagement"])


def _asked_closeness(corpus, qvec: np.ndarray) -> float:
    """The best cosine of the question to a question some guide says it answers (`asked:`) or to a section
    heading (every guide has those, so a guide without `asked:` still counts)."""
    best = -1.0
    for mat in (corpus.asked, corpus.headings):
        if mat is not None and len(mat):
            best = max(best, float((mat @ qvec).max()))
    return best


def _heading_names_change(turn: Turn, hit: Hit, parts: Parts) -> bool:
    """Does the hit's own section heading name a detail the turn changed ("Time series and TimeSeriesSplit"
    for "what about for time series")?"""
    return bool(set(turn.changed.items()) & parts.heading_details(hit))


def _guides_use(postings, word: str) -> bool:
    """Does some guide use the (stemmed) word, or a word it extends by a suffix the stemmer keeps
    ("churner" when the guides say "churn")?"""
    return any(word[:n] in postings for n in range(len(word), min(len(word), max(4, len(word) - 3)) - 1, -1))


def _detail_words(text: str, vocab: slots.Vocabulary) -> frozenset[str]:
    """The words of the seniorities, specialties and kinds of engagement the text names."""
    return frozenset(w for m in vocab.find(text) if m.cls in _UNDERSTOOD for w in words(m.surface))


def _in_order(hits: list[Hit]) -> list[Hit]:
    """The passages with scores that keep their order (none above one before it): the answer then weighs
    them in this order, not by their fused scores."""
    out: list[Hit] = []
    for h in hits:
        out.append(replace(h, score=min(h.score, out[-1].score)) if out and h.score > out[-1].score else h)
    return out


def _subject_units(question: str, idf: dict[str, float]) -> list[list[str]]:
    """The subject words of a line in runs, as typed (small words aside): "what about time series" ->
    [["time", "sery"]]; "which vpn should i use when i download" -> [["vpn", "download"]] when "use" is
    not a subject word. A word that is not a subject word ends a run."""
    units: list[list[str]] = []
    run: list[str] = []
    for w in words(question):
        if w in idf:
            run.append(w)
            continue
        if run:
            units.append(run)
        run = []
    return [*units, run] if run else units


def _place_name(place: str) -> str:
    """A place value as a sentence names it: "the United Kingdom", "Germany", "the EU"."""
    special = {"united kingdom": "the United Kingdom", "united states": "the United States",
               "european union": "the European Union", "dach": "the DACH region", "uae": "the UAE",
               "netherlands": "the Netherlands"}
    return special.get(place, place.title())


def _digest(sentence: str) -> str:
    return hashlib.sha1(sentence.encode("utf-8")).hexdigest()[:12]


def _conflicts(about: set[str] | None, places: list[str], vocab: slots.Vocabulary) -> bool:
    """Is something about places (a guide, a sentence) about none of the places asked for?"""
    return bool(about) and not any(vocab.related(p, a) for p in places for a in about)


def _without(hits: list[Hit], keep, sentences_of) -> list[Hit]:
    """The hits with only the sentences `keep` accepts (a hit left with none is dropped)."""
    out = []
    for hit in hits:
        sentences = sentences_of(hit.text)
        kept = [s for s in sentences if keep(s)]
        if len(kept) == len(sentences):
            out.append(hit)
        elif kept:
            out.append(replace(hit, id=f"{hit.id}~{_digest(' '.join(kept))}", text="\n\n".join(kept)))
    return out
