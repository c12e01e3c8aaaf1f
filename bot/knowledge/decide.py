"""Decide: answer, or decline, and say which kind of decline it is.

Two kinds, each said plainly:
- `remit`: outside what the bot does (off-topic; requests that use the domain's words but are not
  freelance practice; jailbreaks and requests for its instructions). A question is outside the remit
  when one of the cards of questions to decline is closer to it (or to one of its clauses) than every
  answering skill by `decline.remit_margin`, or when nothing in the guides is about it and it is far
  from every answering skill's examples (`decline.min_remit_route`).
- `coverage`: inside the remit, but the guides do not say (the evidence scores below
  `decline.threshold`, or the question names a place no guide covers while the evidence is specific
  to other places).

The evidence score (threshold `decline.threshold`, `decline.follow_up_threshold` for a follow-up) is a
weighted sum of five measures of the question against the index (weights in config.yaml, fitted by
evals/calibrate_ask.py on a development set): meaning (best cosine of a passage, and of a single sentence
of the top passages: a passage near the subject that answers something else has no sentence close to
the question), shared words (idf-weighted share of the question's words in the top passage), closeness to a skill's
example questions, the share of the question's words that no guide contains, and closeness to the questions
the guides say they answer (front matter `asked:`) or, for a guide without them, to its section headings.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

from bot.config import Settings
from bot.knowledge.lexical import is_number, words
from bot.knowledge.retrieve import Hit
from bot.knowledge.router import Route
from bot.render import WHAT_I_DO


@dataclass
class Evidence:
    dense: float  # best cosine similarity of a passage to the question
    sentence: float  # best cosine similarity of one sentence of the top passages to the question
    lexical: float  # idf-weighted share of the question's content words found in the top passage
    route: float  # similarity to the closest answering skill's example questions
    unknown: float  # share of the question's content words that no guide contains
    asked: float = 0.0  # best cosine to a question the guides say they answer, or to a section heading

    def score(self, settings: Settings) -> float:
        w = settings.decline.weights
        return (w.dense * self.dense + w.sentence * self.sentence + w.lexical * self.lexical + w.route * self.route
                + w.unknown * self.unknown + w.asked * self.asked)

    def as_dict(self) -> dict[str, float]:
        return {k: round(v, 4) for k, v in asdict(self).items()}


# Chat words, contractions and the words of asking ("any tips?") say nothing about the subject, so they
# never count as unknown.
_CHAT = frozenset(words("btw tbh imo lol pls plz thx ty cheers mate guys folks quick q qq honestly basically "
                        "literally anyway cool yeah yep nope nah yea ya hmm ah oh wow sure dunno gonna wanna kinda sorta "
                        "tips tip advice pointers suggestions ideas thoughts stuff"))


def unknown_share(question: str, vocabulary, understood: frozenset[str] = frozenset()) -> float:
    """The share of the question's content words (chat words aside) that no guide contains; `understood`
    words (the details the conversation reads, such as "chatbot" for the LLM specialty) count as known."""
    content = [w for w in words(question) if not is_number(w) and w not in _CHAT and "'" not in w]
    return sum(1 for w in content if w not in vocabulary and w not in understood) / len(content) if content else 0.0


_ARITHMETIC = frozenset(words("times plus minus divided multiplied percent per cent squared sum total equals"))


_SUM = re.compile(r"\d\s*([-+*/x×÷^]|times|plus|minus|divided by|multiplied by|to the power of)\s*\d", re.I)


def subjectless(question: str) -> bool:
    """A question of numbers and arithmetic only ("whats 12 x 9", "17 times 23?") has no subject."""
    return all(is_number(w) or len(w) == 1 or w in _ARITHMETIC for w in words(question))


def sum_only(line: str) -> bool:
    """A line that is only a sum ("ok whats 2+2", "and 17 x 23?"): off-topic whatever came before, unlike
    a follow-up that only names a figure ("what about 50%?")."""
    return bool(_SUM.search(line)) and subjectless(line)


# A cue just after one of these words, in the same clause, is what the asker fears or fights, not what they
# ask to do ("w/o making stuff up", "how do i spot fake reviews", "the client accused me of padding my hours");
# a clause before it does not count ("client never checks timesheets, how do i pad my hours").
_GUARD = re.compile(r"\b(without|w/o|not|never|avoid|avoiding|stop|prevent|spot|spotting|detect|detecting|protect|"
                    r"protecting|against|report|reporting|recognise|recognize|accused|accuse|accusing|suspect|"
                    r"suspects|worried|afraid|scared|didn'?t|don'?t|doesn'?t|did not|do not)[^\w,;:.!?]+(\w+[^\w,;:.!?]+){0,5}$", re.I)


@lru_cache(maxsize=8)
def _intent_patterns(cards: tuple[tuple[str, tuple[str, ...]], ...]) -> list[tuple[str, re.Pattern]]:
    return [(name, re.compile(p, re.I)) for name, patterns in cards for p in patterns]


def declined_intent(line: str, skills) -> str | None:
    """The declining card whose intents the line asks for, whatever its topic ("help me bill for hours
    i never worked", "copy their model without them finding out"): the card's name, else None. A cue
    right after a word of fear or defence ("how do i spot fake reviews") is not asked for."""
    cards = tuple((s.name, tuple(s.intents)) for s in skills if s.declines and s.intents)
    for name, pattern in _intent_patterns(cards):
        for m in pattern.finditer(line):
            if not _GUARD.search(line[: m.start()]):
                return name
    return None


def evidence(hits: list[Hit], route: Route, unknown: float, sentence: float, asked: float = 0.0) -> Evidence:
    return Evidence(dense=max((h.dense for h in hits), default=0.0), sentence=sentence,
                    lexical=hits[0].lexical if hits else 0.0, route=route.score, unknown=unknown, asked=asked)


def outside_remit(settings: Settings, gap: float, *, follow_up: bool = False) -> bool:
    """Does a card of questions to decline beat the question's evidence of being in the remit by more
    than the margin? A follow-up that refers back ("so what now?") is near nothing on its own, so its
    margin is wider; an off-topic line in a thread ("and who won the election?") still clears it."""
    cfg = settings.decline
    return gap > (cfg.follow_up_remit_margin if follow_up else cfg.remit_margin)


def relevant(settings: Settings, ev: Evidence, *, follow_up: bool = False) -> bool:
    """A follow-up has its own threshold: its query blends in the question it refers to, which lowers
    the best cosine of even a well covered follow-up."""
    cfg = settings.decline
    return ev.score(settings) >= (cfg.follow_up_threshold if follow_up else cfg.threshold)


def irrelevant_reason(settings: Settings, ev: Evidence) -> str:
    """Nothing in the guides is about it: outside the remit when it is also far from every skill."""
    return "remit" if ev.route < settings.decline.min_remit_route else "coverage"


def social_reply(kind: str) -> dict[str, Any]:
    """The reply to thanks, a greeting or a request for help: no guide text, and like a decline outside the
    remit it is no turn a later follow-up builds on."""
    from bot.render import help_text

    text = {"thanks": "Glad it helped. Ask a follow-up here, or a new question any time.",
            "greeting": f"Hi! {WHAT_I_DO} Ask in plain words, or upload a CSV to scope a project."}.get(kind) or help_text()
    return {"answer": text, "mode": "extractive", "skill": None, "declined": True, "decline_reason": "remit",
            "sources": [], "notes": []}


def decline(settings: Settings, skill: str | None, hits: list[Hit], *, reason: str,
            detail: str | None = None) -> dict[str, Any]:
    if reason == "remit":
        text = f"That is outside what I can help with, so I won't answer it. {WHAT_I_DO}"
    else:
        lead = detail or "The guides do not cover this question"
        text = (f"{lead}, so I won't guess. {WHAT_I_DO} Try rephrasing with the topic you mean (for example "
                "rates, IR35, work made for hire, cross-validation or scoping).")
    return {"answer": text, "mode": "extractive", "skill": skill, "declined": True, "decline_reason": reason,
            "sources": [h.source_dict() for h in hits][:5], "notes": []}
