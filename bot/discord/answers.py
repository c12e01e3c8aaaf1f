"""Answers from the core as Discord messages, shared by /ask and by mentions, replies and DMs."""

from __future__ import annotations

from typing import Any

import discord

from bot.discord.common import uid
from bot.discord.front import Front
from bot.discord.render import MESSAGE_LIMIT, defang, paginate
from bot.discord.views import feedback_view
from bot.render import answer_text


def answer_pages(result: dict[str, Any]) -> tuple[list[str], discord.ui.View | None]:
    """The answer as message pages (citations never split) and the feedback buttons for the last page."""
    pages = paginate(defang(answer_text(result)), MESSAGE_LIMIT) or ["(no answer)"]
    return pages, feedback_view(result.get("answer_id"), result.get("conversation_id"))


async def ask_core(bot: Front, question: str, user: discord.abc.User, *, private: bool,
                   conversation_id: str | None = None) -> dict[str, Any]:
    return await bot.in_thread(bot.core.ask, question, user_id=uid(user), private=private,
                               conversation_id=conversation_id)
