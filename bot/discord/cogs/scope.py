"""/scope: deferred at once, progress by editing the response, the result as an embed with the chart (PNG)
and the full report (markdown file). Private unless `public` is set. (A CSV dropped in a DM: events.py.)"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.common import Guard, check_cooldown, in_dm
from bot.discord.front import Front
from bot.discord.jobs import token_seconds_left
from bot.discord.render import NO_MENTIONS
from bot.discord.scoping import check_csv_attachment, read_capped, scope_job, scope_payload
from bot.discord.views import PrivateResultView

log = logging.getLogger("bot.discord.scope")


class ScopeCog(commands.Cog):
    def __init__(self, bot: Front):
        self.bot = bot

    @app_commands.command(name="scope", description="Scope a CSV: data quality, baselines, learning curve, "
                          "effort and quote range (private unless public).")
    @app_commands.describe(file="a .csv or .csv.gz file", target="the column to predict (default: inferred)",
                           budget="seconds for the baselines (default from config)",
                           public="post the report in the channel (default: only you see it)",
                           rate="your rate, to add a quote range", unit="the rate's unit", currency="3-letter code",
                           frame="project frame (default: detected from the data)")
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    @app_commands.allowed_installs(guilds=True, users=True)
    async def scope(self, interaction: discord.Interaction, file: discord.Attachment,
                    target: app_commands.Range[str, 1, 200] | None = None,
                    budget: app_commands.Range[float, 1.0, 3600.0] | None = None, public: bool = False,
                    rate: app_commands.Range[float, 0.01, 1e7] | None = None, unit: Literal["day", "hour"] = "day",
                    currency: app_commands.Range[str, 3, 3] = "GBP",
                    frame: Literal["auto", "tabular", "forecasting", "text", "recommender"] = "auto") -> None:
        async with Guard(interaction) as guard:
            private = not public or in_dm(interaction)
            check_csv_attachment(self.bot, file)  # refusals come before the (maybe public) placeholder
            await check_cooldown(self.bot, interaction.user, "scope", self.bot.settings.discord.scope_cooldown_seconds)
            await guard.defer(ephemeral=private)
            data = await read_capped(self.bot, file)
            log.info("scope requested bytes=%d", len(data))

            async def edit(text: str) -> None:
                if token_seconds_left(interaction.created_at) > 0:
                    await interaction.edit_original_response(content=text)

            result = await scope_job(self.bot, interaction.user, data=data, filename=file.filename, target=target,
                                     budget=budget, edit=edit,
                                     seconds_left=lambda: token_seconds_left(interaction.created_at),
                                     terms={**({"rate": rate, "unit": unit, "currency": currency} if rate else {}),
                                            **({"frame": frame} if frame != "auto" else {})} or None)
            del data
            make = scope_payload(result)
            view = (PrivateResultView(interaction.user.id, private_payload=make, share_payload=None, in_guild=True)
                    if private and not in_dm(interaction) else None)
            await deliver(interaction, make, view)


async def deliver(interaction: discord.Interaction, make: Callable[[], dict[str, Any]],
                  view: discord.ui.View | None) -> None:
    """Put the result in the original response; past the token's life, send it by DM instead."""
    payload = make()
    if token_seconds_left(interaction.created_at) > -50:  # the margin is ours, the token itself is still valid
        try:
            kwargs: dict[str, Any] = {"content": None, "embeds": payload["embeds"], "attachments": payload["files"],
                                      "allowed_mentions": NO_MENTIONS}
            if view is not None:
                kwargs["view"] = view
            await interaction.edit_original_response(**kwargs)
            return
        except discord.NotFound:
            log.warning("interaction expired before the scope finished; sending the result by DM")
    try:
        await interaction.user.send(content="Your scope finished after the command expired; here it is.",
                                    allowed_mentions=NO_MENTIONS, **make())
    except discord.Forbidden:
        log.warning("could not deliver a late scope result: DMs closed")
