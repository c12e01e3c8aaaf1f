"""/ask: a cited answer from the guides, public by default, private on request or when the core says so
(rate questions are private: the answer moves to an ephemeral reply)."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.answers import ask_core
from bot.discord.common import Guard, check_cooldown, in_dm, reply_pages
from bot.discord.front import Front
from bot.discord.views import feedback_view
from bot.render import answer_text


class AskCog(commands.Cog):
    def __init__(self, bot: Front):
        self.bot = bot

    @app_commands.command(name="ask", description="A cited answer from the guides: rates, IP and contracts, "
                          "ML methodology, scoping.")
    @app_commands.describe(question="your question", private="only you see the answer (rate questions always are)")
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    @app_commands.allowed_installs(guilds=True, users=True)
    async def ask(self, interaction: discord.Interaction, question: app_commands.Range[str, 1, 4000],
                  private: bool = False) -> None:
        async with Guard(interaction) as guard:
            private = private or in_dm(interaction)
            await check_cooldown(self.bot, interaction.user, "ask", self.bot.settings.discord.ask_cooldown_seconds)
            await guard.defer(ephemeral=private)  # after the cooldown: a refusal never shows a public placeholder
            result = await ask_core(self.bot, question, interaction.user, private=private)
            if result.get("private") and not private:
                await guard.make_private()  # the core keeps this topic private: no public answer
                private = True
            view = feedback_view(result.get("answer_id"), result.get("conversation_id"))
            await reply_pages(interaction, answer_text(result), ephemeral=private, view=view)
