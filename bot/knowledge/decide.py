"""Decide: answer, or decline, and say which kind of decline it is.

Two kinds: outside the remit (`remit`: off-topic, or not freelance practice) and not covered
(`coverage`: in the remit, but the guides do not say; `model`: the model found nothing to use).
"""

from __future__ import annotations

from typing import Any

from bot.config import Settings
from bot.knowledge.lexical import is_number, words
from bot.knowledge.retrieve import Hit
from bot.render import WHAT_I_DO


def unknown_share(question: str, vocabulary) -> float:
    """The share of the question's content words that no guide contains."""
    content = [w for w in words(question) if not is_number(w)]
    return sum(1 for w in content if w not in vocabulary) / len(content) if content else 0.0


def relevant(settings: Settings, hits: list[Hit], unknown: float) -> bool:
    """Is the best evidence about this question? Meaning and shared words together, and few unknown words.

    `relevance` = best cosine + 0.6 x the top chunk's share of the question's (idf-weighted) words.
    A question whose content words are mostly absent from every guide is about something else.
    """
    cfg = settings.retrieval
    top_dense = max(h.dense for h in hits)
    relevance = top_dense + 0.6 * hits[0].lexical
    if unknown >= cfg.max_unknown_share and top_dense < cfg.strong_dense + 0.1:
        return False
    if unknown >= cfg.max_unknown_share - 0.16 and relevance < cfg.min_relevance + 0.1:
        return False
    return top_dense >= cfg.strong_dense or relevance >= cfg.min_relevance


def decline(settings: Settings, skill: str | None, hits: list[Hit], *, reason: str) -> dict[str, Any]:
    if reason == "remit":
        text = f"That is outside what I can help with. {WHAT_I_DO}"
    else:
        text = ("The guides do not cover this question, so I won't guess. " + WHAT_I_DO +
                " Try rephrasing with the topic you mean (for example rates, IR35, work made for hire, "
                "cross-validation or scoping).")
    mode = "llm" if settings.answer.mode == "llm" and reason == "model" else "extractive"
    return {"answer": text, "mode": mode, "skill": skill, "declined": True,
            "sources": [h.source_dict() for h in hits][:5], "notes": []}
