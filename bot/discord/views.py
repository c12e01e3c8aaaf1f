"""Buttons: feedback on answers (persistent, state in the custom id), share to channel, DM me a copy.

Feedback buttons are `DynamicItem`s: the answer id (and the conversation id, so a reply to the answer
continues the conversation) live in the custom id, so they keep working after a restart and on any
shard. Votes go to the core's store (SQLite in the data dir). Share and DM buttons sit on private
results only and hold their payload in memory for the 15 minutes an ephemeral message can be edited.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import discord

from bot.discord.common import Guard, reply, uid
from bot.discord.front import Front
from bot.discord.render import NO_MENTIONS

log = logging.getLogger("bot.discord.views")

VOTES = {"h": ("helpful", "Helpful", "👍"), "n": ("not_helpful", "Not helpful", "👎"),
         "w": ("wrong_source", "Wrong source", "📚")}
_FEEDBACK_ID = re.compile(r"mlbot:fb:(?P<vote>[hnw]):(?P<answer>a-[0-9a-f]{4,40})(?::(?P<conv>[A-Za-z0-9_-]{1,40}))?")
PRIVATE_VIEW_SECONDS = 14 * 60
FEEDBACK_VIEW_SECONDS = 60  # an ephemeral message's token lives 15 minutes


class FeedbackButton(discord.ui.DynamicItem[discord.ui.Button], template=_FEEDBACK_ID):
    def __init__(self, vote: str, answer_id: str, conversation_id: str | None = None):
        custom_id = f"mlbot:fb:{vote}:{answer_id}" + (f":{conversation_id}" if conversation_id else "")
        _, label, emoji = VOTES[vote]
        super().__init__(discord.ui.Button(label=label, emoji=emoji, style=discord.ButtonStyle.secondary,
                                           custom_id=custom_id))
        self.vote = vote
        self.answer_id = answer_id
        self.conversation_id = conversation_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item, match: re.Match[str], /):
        return cls(match["vote"], match["answer"], match["conv"])

    async def callback(self, interaction: discord.Interaction) -> None:
        bot: Front = interaction.client  # type: ignore[assignment]
        async with Guard(interaction):
            vote = VOTES[self.vote][0]
            stored = await bot.in_store(bot.core.feedback, self.answer_id, uid(interaction.user), vote)
            log.info("feedback vote=%s stored=%s", vote, stored)
            text = (f"Thanks, noted as **{VOTES[self.vote][1].lower()}**." if stored
                    else "That answer is no longer on record (it may have been forgotten), so the vote was not kept.")
            await reply(interaction, text, ephemeral=True)


def _valid_conversation(conversation_id: str | None) -> str | None:
    if conversation_id and re.fullmatch(r"[A-Za-z0-9_-]{1,40}", conversation_id):
        return conversation_id
    return None


def feedback_view(answer_id: str | None, conversation_id: str | None = None) -> discord.ui.View | None:
    """The three feedback buttons for a recorded answer (None when the answer has no record)."""
    if not answer_id or not re.fullmatch(r"a-[0-9a-f]{4,40}", answer_id):
        return None
    # The buttons are dispatched by their custom-id template (registered once in setup_hook), so the view
    # itself need not live forever in memory: a short timeout keeps the view store from growing.
    view = discord.ui.View(timeout=FEEDBACK_VIEW_SECONDS)
    conv = _valid_conversation(conversation_id)
    for vote in VOTES:
        view.add_item(FeedbackButton(vote, answer_id, conv))
    return view


def conversation_of(message: discord.Message | None) -> str | None:
    """The conversation id carried by a bot answer's feedback buttons (for replies to that answer)."""
    if message is None:
        return None
    for row in message.components:
        for child in getattr(row, "children", [row]):
            match = _FEEDBACK_ID.fullmatch(getattr(child, "custom_id", None) or "")
            if match and match["conv"]:
                return match["conv"]
    return None


Payload = Callable[[], dict[str, Any]]


class PrivateResultView(discord.ui.View):
    """Buttons under a private result: "Share to channel" (a version without personal figures) and
    "DM me a copy" (the full private result, for keeping)."""

    def __init__(self, owner_id: int, *, private_payload: Payload, share_payload: Payload | None, in_guild: bool):
        super().__init__(timeout=PRIVATE_VIEW_SECONDS)
        self.owner_id = owner_id
        self._private_payload = private_payload
        self._share_payload = share_payload
        if share_payload is None or not in_guild:
            self.remove_item(self.share)
        if not in_guild:
            self.remove_item(self.dm_copy)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id != self.owner_id:
            await reply(interaction, "These buttons belong to the person who ran the command.", ephemeral=True)
            return False
        return True

    @discord.ui.button(label="Share to channel", style=discord.ButtonStyle.primary, emoji="📣")
    async def share(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        async with Guard(interaction):
            payload = self._share_payload() if self._share_payload else None
            if payload is None:
                await reply(interaction, "There is nothing to share for this result.", ephemeral=True)
                return
            await interaction.response.send_message(ephemeral=False, allowed_mentions=NO_MENTIONS, **payload)
            log.info("shared a result to a channel")

    @discord.ui.button(label="DM me a copy", style=discord.ButtonStyle.secondary, emoji="✉️")
    async def dm_copy(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        async with Guard(interaction):
            await interaction.response.defer(ephemeral=True, thinking=True)
            try:
                await interaction.user.send(allowed_mentions=NO_MENTIONS, **self._private_payload())
            except discord.Forbidden:
                await interaction.followup.send(
                    "I couldn't send you a DM: your DMs are closed for this server (Privacy Settings → "
                    "Direct Messages). The result above stays visible to you until you dismiss it.",
                    ephemeral=True, allowed_mentions=NO_MENTIONS)
                return
            await interaction.followup.send("Sent to your DMs. ✉️", ephemeral=True, allowed_mentions=NO_MENTIONS)
