"""Shared helpers of the cogs: replying to an interaction once and privately, and rendering errors.

Error policy: a `UserError` is shown privately with its message (it is written to be safe to show);
anything else is logged with its traceback under a short error id and the user gets an apology with
that id. The bot keeps serving everyone else either way. Logs never carry message content.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Sequence
from typing import Any

import discord

from bot.discord.front import Front
from bot.discord.render import MESSAGE_LIMIT, NO_MENTIONS, defang, paginate, truncate
from bot.errors import UserError
from bot.logs import new_error_id

log = logging.getLogger("bot.discord")


def uid(user: discord.abc.User) -> str:
    """The id the core knows a Discord user by."""
    return str(user.id)


def command_name(interaction: discord.Interaction) -> str:
    cmd = interaction.command
    return cmd.qualified_name if cmd is not None else (interaction.data or {}).get("custom_id", "?")[:40]


def error_text(exc: BaseException, *, where: str) -> str:
    """The text a user sees for an error; unexpected errors are logged here with an id."""
    if isinstance(exc, UserError):
        return truncate(defang(f"⚠️ {exc}"), MESSAGE_LIMIT)
    error_id = new_error_id()
    # The frames, not the exception's message: a message can quote a question, a cell or a figure.
    frames = "".join(traceback.format_tb(exc.__traceback__))
    log.error("unexpected error id=%s where=%s class=%s\nTraceback (most recent call last):\n%s", error_id, where,
              exc.__class__.__name__, frames.rstrip())
    return f"Sorry, something went wrong on my side (error id `{error_id}`). Please try again later."


async def reply(interaction: discord.Interaction, content: str | None = None, *, ephemeral: bool = True,
                embeds: Sequence[discord.Embed] = (), files: Sequence[discord.File] = (),
                view: discord.ui.View | None = None) -> None:
    """Answer an interaction: the initial response when none was sent yet, else a follow-up."""
    kwargs: dict[str, Any] = {"ephemeral": ephemeral, "allowed_mentions": NO_MENTIONS}
    if content is not None:
        kwargs["content"] = content
    if embeds:
        kwargs["embeds"] = list(embeds)
    if files:
        kwargs["files"] = list(files)
    if view is not None:
        kwargs["view"] = view
    if interaction.response.is_done():
        await interaction.followup.send(**kwargs)
    else:
        await interaction.response.send_message(**kwargs)


async def reply_pages(interaction: discord.Interaction, text: str, *, ephemeral: bool,
                      view: discord.ui.View | None = None) -> None:
    """Long text as consecutive messages of at most 2,000 characters; the view goes on the last page."""
    pages = paginate(defang(text), MESSAGE_LIMIT) or ["(empty)"]
    for i, page in enumerate(pages):
        await reply(interaction, page, ephemeral=ephemeral, view=view if i == len(pages) - 1 else None)


async def report(interaction: discord.Interaction, exc: BaseException, *, public_original: bool = False) -> None:
    """Tell the user privately what went wrong; never raises (the interaction may be gone)."""
    text = error_text(exc, where=command_name(interaction))
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
            return
        if public_original:
            # A follow-up would inherit the public "thinking…" placeholder: complete it, reply privately,
            # then remove it, so the error never shows in the channel.
            await interaction.edit_original_response(content=PRIVATE_NOTE)
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
            await _delete_original(interaction)
            return
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
    except discord.HTTPException as http_exc:
        log.warning("could not report an error to the user status=%s code=%s", getattr(http_exc, "status", "?"),
                    getattr(http_exc, "code", "?"))


PRIVATE_NOTE = "🔒 Answered privately."


async def _delete_original(interaction: discord.Interaction) -> None:
    try:
        await interaction.delete_original_response()
    except discord.HTTPException:
        pass


class Guard:
    """`async with Guard(interaction) as g:` runs a command body; errors become a private reply.

    `await g.defer(ephemeral=...)` acknowledges within Discord's 3 seconds ("thinking…") and remembers
    whether the placeholder is public, so an error or a private answer never lands in the channel:
    `await g.make_private()` before a private reply completes the public placeholder (follow-ups after
    that are separate messages with their own privacy) and the placeholder is deleted when the body ends.
    """

    def __init__(self, interaction: discord.Interaction):
        self.interaction = interaction
        self.public_original = False
        self._drop_placeholder = False

    async def defer(self, *, ephemeral: bool) -> None:
        if not self.interaction.response.is_done():
            await self.interaction.response.defer(ephemeral=ephemeral, thinking=True)
            self.public_original = not ephemeral

    async def make_private(self) -> None:
        if self.public_original:
            await self.interaction.edit_original_response(content=PRIVATE_NOTE)
            self.public_original = False
            self._drop_placeholder = True

    async def __aenter__(self) -> Guard:
        return self

    async def __aexit__(self, exc_type, exc, tb) -> bool:
        if exc is not None and isinstance(exc, Exception):
            await report(self.interaction, exc, public_original=self.public_original)
            handled = True
        else:
            handled = False
        if self._drop_placeholder:
            await _delete_original(self.interaction)
        return handled


class Cooldown(UserError):
    """The user ran a command again too soon (rendered privately like any UserError)."""

    code = "cooldown"

    def __init__(self, seconds_left: float):
        super().__init__(f"slow down a little: try again in {max(1, round(seconds_left))} s.")
        self.seconds_left = seconds_left


async def check_cooldown(bot: Front, user: discord.abc.User, command: str, seconds: float) -> None:
    """Start a per-user cooldown (kept in the store, so shards share it); raise Cooldown when active.
    Call it before deferring: a refusal is then the private initial response, never a public placeholder."""
    if seconds <= 0:
        return
    left = await bot.in_store(bot.core.cooldown, uid(user), command, seconds)
    if left > 0:
        raise Cooldown(left)


def in_dm(interaction: discord.Interaction) -> bool:
    return interaction.guild is None
