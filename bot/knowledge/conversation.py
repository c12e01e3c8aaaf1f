"""Conversation: is a question a follow-up, and what does it mean on its own?

A follow-up is rewritten into a standalone question: by the model when one is configured (its
failure falls back to the offline rewrite), else by carrying the previous question's key terms.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from bot.knowledge.lexical import words

log = logging.getLogger(__name__)

_FOLLOW_UP_START = re.compile(
    r"^(and|but|or|also|so|then|what about|how about|what if|and if|if so|same|ok and|okay and|what else)\b", re.I)
_ANAPHORA = re.compile(r"\b(it|its|that|this|those|these|they|them|there|such|one|same)\b", re.I)

Rewrite = Callable[[str, list[str]], str | None]


def is_follow_up(question: str) -> bool:
    content = words(question)
    return bool(_FOLLOW_UP_START.match(question.strip())) or len(content) <= 4 or (
        len(content) <= 8 and bool(_ANAPHORA.search(question)))


def standalone(question: str, history: list[dict[str, Any]], rewrite: Rewrite | None = None) -> str:
    """The question as it reads without the conversation. `rewrite(question, earlier)` is the model's."""
    if not history or not is_follow_up(question):
        return question
    if rewrite is not None:
        try:
            rewritten = rewrite(question, [t["standalone"] for t in history[-3:]])
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
