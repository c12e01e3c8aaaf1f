"""/help and /forget."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.common import Guard, reply, reply_pages, uid
from bot.discord.front import Front
from bot.render import help_text

MENTION_HELP = ("\n\nYou can also mention me with a question, reply to one of my answers to follow up, "
                "or DM me: a question, or a CSV file to scope (add `target=COLUMN` as the message text).")


class GeneralCog(commands.Cog):
    def __init__(self, bot: Front):
        self.bot = bot

    @app_commands.command(name="help", description="What I do and the commands.")
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    @app_commands.allowed_installs(guilds=True, users=True)
    async def help(self, interaction: discord.Interaction) -> None:
        async with Guard(interaction):
            await reply_pages(interaction, help_text() + MENTION_HELP, ephemeral=True)

    @app_commands.command(name="forget", description="Delete your stored conversations, scope reports and feedback.")
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    @app_commands.allowed_installs(guilds=True, users=True)
    async def forget(self, interaction: discord.Interaction) -> None:
        async with Guard(interaction) as guard:
            await guard.defer(ephemeral=True)
            counts = await self.bot.in_store(self.bot.core.forget, uid(interaction.user))
            done = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in counts.items())
            await reply(interaction, f"🧹 Deleted what I stored about you: {done}.", ephemeral=True)
