"""/kb add | list | remove | reindex: the knowledge base every server shares.

Changes are allowed only to the bot's owners (the application owner or team, and `discord.owner_ids`),
checked here in code: `default_permissions(manage_guild)` only hides the group from most members and any
server admin can change it. Server-only (never in DMs). Replies are private.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.common import Guard, reply, reply_pages
from bot.discord.front import Front
from bot.discord.jobs import Progress
from bot.discord.render import safe_filename, shown
from bot.errors import Forbidden, InputError, LimitExceeded
from bot.render import ingest_text, kb_list_text
from bot.textsafe import cut

log = logging.getLogger("bot.discord.kb")


def refusal(bot: Front, user_id: int, guild: discord.Guild | None) -> str | None:
    """Why this user may not change the knowledge base here (None when allowed)."""
    if guild is None:
        return "knowledge-base changes are only accepted in a server, not in DMs."
    if not bot.is_kb_owner(user_id):
        return ("only the bot's owners can change the knowledge base: it is shared by every server the bot is in, "
                "so server permissions are not enough.")
    return None


def _ingest_progress(stage: str, info: dict) -> str | None:
    done, total = info.get("done"), info.get("total")
    if done is None or not total:
        return None
    return f"⏳ {stage.capitalize()}: {done}/{total}"


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class KnowledgeCog(commands.GroupCog, group_name="kb", group_description="The knowledge base (changes: bot owners only)."):
    def __init__(self, bot: Front):
        self.bot = bot
        super().__init__()

    async def _require_owner(self, interaction: discord.Interaction) -> None:
        why = refusal(self.bot, interaction.user.id, interaction.guild)
        if why:
            log.warning("kb change refused command=%s", interaction.command.qualified_name if interaction.command else "?")
            raise Forbidden(why)

    def _progress(self, interaction: discord.Interaction) -> Progress:
        async def edit(text: str) -> None:
            await interaction.edit_original_response(content=text)

        return Progress(asyncio.get_running_loop(), edit, _ingest_progress)

    @app_commands.command(name="list", description="Guides in the knowledge base, chunk counts and the model.")
    async def kb_list(self, interaction: discord.Interaction) -> None:
        async with Guard(interaction) as guard:
            await guard.defer(ephemeral=True)
            result = await self.bot.in_thread(self.bot.core.kb_list)
            await reply_pages(interaction, kb_list_text(result), ephemeral=True)

    @app_commands.command(name="add", description="Add or update a guide (.md .rst .txt .html .pdf). Owners only.")
    @app_commands.describe(file="the guide file")
    async def kb_add(self, interaction: discord.Interaction, file: discord.Attachment) -> None:
        async with Guard(interaction) as guard:
            await guard.defer(ephemeral=True)
            await self._require_owner(interaction)
            cfg = self.bot.settings.ingest
            name = safe_filename(file.filename, "guide.md")
            if Path(name).suffix.lower() not in {e.lower() for e in cfg.extensions}:
                raise InputError(f"{shown(file.filename, 60)} is not a guide format I can read.",
                                 hint=f"Use one of {', '.join(cfg.extensions)}.")
            limit = int(cfg.max_file_mb * 1024 * 1024)
            if file.size > limit:  # before a single byte is downloaded
                raise LimitExceeded(f"the file is {file.size / 1048576:.1f} MB, over the {cfg.max_file_mb:g} MB limit.")
            data = await file.read()
            progress = self._progress(interaction)
            try:
                result = await self.bot.in_thread(self.bot.core.kb_add, name, data, progress=progress)
            finally:
                await progress.close()
            log.info("kb add bytes=%d dropped=%d", len(data), len(result.get("dropped", [])))
            await reply_pages(interaction, ingest_text(result), ephemeral=True)

    @app_commands.command(name="remove", description="Remove a guide from the knowledge base. Owners only.")
    @app_commands.describe(source="the guide's path (or file name when unique)")
    async def kb_remove(self, interaction: discord.Interaction, source: app_commands.Range[str, 1, 300]) -> None:
        async with Guard(interaction) as guard:
            await guard.defer(ephemeral=True)
            await self._require_owner(interaction)
            result = await self.bot.in_thread(self.bot.core.kb_remove, source)
            await reply(interaction, f"Removed {shown(result['source'], 200)} ({result['chunks']} chunks).",
                        ephemeral=True)

    @kb_remove.autocomplete("source")
    async def _source_autocomplete(self, interaction: discord.Interaction, current: str):
        if not self.bot.is_kb_owner(interaction.user.id):
            return []
        try:
            guides = (await self.bot.in_thread(self.bot.core.kb_list))["guides"]
        except Exception:  # noqa: BLE001 - autocomplete must answer
            return []
        current = current.lower()
        return [app_commands.Choice(name=cut(g["source"], 100), value=g["source"][:100])
                for g in guides if current in g["source"].lower() and len(g["source"]) <= 100][:25]

    @app_commands.command(name="reindex", description="Rebuild the index from the stored guide files. Owners only.")
    async def kb_reindex(self, interaction: discord.Interaction) -> None:
        async with Guard(interaction) as guard:
            await guard.defer(ephemeral=True)
            await self._require_owner(interaction)
            progress = self._progress(interaction)
            try:
                result = await self.bot.in_thread(self.bot.core.kb_reindex, progress=progress)
            finally:
                await progress.close()
            await reply_pages(interaction, ingest_text(result), ephemeral=True)

