"""/rate, /ratecalc and /quote: private by default (ephemeral in a server, or in DMs). Rate and quote carry a
"Share to channel" button that posts a version without the person's figures; every private result in a
server can also be sent to the user's DMs."""

from __future__ import annotations

from typing import Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.common import Guard, check_cooldown, uid
from bot.discord.front import Front
from bot.discord.private import DM_CONTEXTS, send_private, share_payload
from bot.discord.render import text_file
from bot.rates.cards import ENGAGEMENTS, SENIORITIES, SPECIALTIES
from bot.textsafe import cut, display_cell

Seniority = Literal[SENIORITIES]  # type: ignore[valid-type]
Specialty = Literal[SPECIALTIES]  # type: ignore[valid-type]
Engagement = Literal[ENGAGEMENTS]  # type: ignore[valid-type]
class RatesCog(commands.Cog):
    def __init__(self, bot: Front):
        self.bot = bot

    async def _regions(self) -> list[str]:
        try:
            return await self.bot.in_store(self.bot.core.known_regions)
        except Exception:  # noqa: BLE001 - autocomplete must answer; the command reports real errors
            return []

    @app_commands.command(name="rate", description="Market rate ranges with sources and the factors behind them "
                          "(private).")
    @app_commands.describe(region="uk, us, dach, fr, ... (default from config)", seniority="your level",
                           specialty="your specialty", engagement="contract, advisory or fixed price")
    @app_commands.allowed_contexts(**DM_CONTEXTS)
    @app_commands.allowed_installs(guilds=True, users=True)
    async def rate(self, interaction: discord.Interaction, region: app_commands.Range[str, 1, 40] | None = None,
                   seniority: Seniority | None = None, specialty: Specialty | None = None,
                   engagement: Engagement | None = None) -> None:
        from bot.rates.render import rate_markdown, rate_share_markdown

        async with Guard(interaction) as guard:
            await check_cooldown(self.bot, interaction.user, "rate", self.bot.settings.discord.ask_cooldown_seconds)
            await guard.defer(ephemeral=True)
            result = await self.bot.in_thread(self.bot.core.rate, region=region, seniority=seniority,
                                              specialty=specialty, engagement=engagement)
            await send_private(interaction, rate_markdown(result), title="Market rates",
                               share=share_payload(rate_share_markdown(result), "Market rates", interaction.user))

    @rate.autocomplete("region")
    async def _region_autocomplete(self, interaction: discord.Interaction, current: str):
        current = current.lower().strip()
        return [app_commands.Choice(name=r, value=r) for r in await self._regions() if current in r][:25]

    @app_commands.command(name="ratecalc", description="Day and hour rate from a target yearly income, every step "
                          "shown (private).")
    @app_commands.describe(income="target yearly profit before personal tax, e.g. 80000",
                           currency="3-letter code, e.g. GBP", overhead="yearly business costs (an amount)",
                           tax="share of revenue lost to social or self-employment charges, e.g. 0.25",
                           billable_days="days you can bill in a year (default 180)")
    @app_commands.allowed_contexts(**DM_CONTEXTS)
    @app_commands.allowed_installs(guilds=True, users=True)
    async def ratecalc(self, interaction: discord.Interaction, income: app_commands.Range[float, 1.0, 1e9],
                       currency: app_commands.Range[str, 3, 3], overhead: app_commands.Range[float, 0.0, 1e9] | None = None,
                       tax: app_commands.Range[float, 0.0, 0.95] | None = None,
                       billable_days: app_commands.Range[float, 1.0, 366.0] | None = None) -> None:
        from bot.rates.render import calc_markdown

        async with Guard(interaction) as guard:
            await guard.defer(ephemeral=True)
            kwargs: dict[str, Any] = {"income": income, "currency": currency}
            if overhead is not None:
                kwargs["overhead"] = overhead
            if tax is not None:
                kwargs["tax"] = tax
            if billable_days is not None:
                kwargs["billable_days"] = billable_days
            result = await self.bot.in_thread(self.bot.core.rate_calc, **kwargs)
            await send_private(interaction, calc_markdown(result), title="Your rate from a target income")

    @app_commands.command(name="quote", description="A quote built from your latest scope (private).")
    @app_commands.describe(scope="a scope id (default: your latest scope)", rate="your rate",
                           unit="per hour or per day", currency="3-letter code, e.g. GBP")
    @app_commands.allowed_contexts(**DM_CONTEXTS)
    @app_commands.allowed_installs(guilds=True, users=True)
    async def quote(self, interaction: discord.Interaction, rate: app_commands.Range[float, 0.01, 1e7],
                    unit: Literal["day", "hour"], currency: app_commands.Range[str, 3, 3],
                    scope: app_commands.Range[str, 1, 60] | None = None) -> None:
        from bot.rates.render import quote_markdown, quote_share_markdown

        async with Guard(interaction) as guard:
            await guard.defer(ephemeral=True)
            result = await self.bot.in_thread(self.bot.core.quote, scope=scope, rate=rate, unit=unit,
                                              currency=currency, user_id=uid(interaction.user))
            markdown = quote_markdown(result)
            name = "quote.md"

            def files() -> list[discord.File]:
                return [text_file(markdown, name)]

            await send_private(interaction, markdown, title="Quote", files=files,
                               share=share_payload(quote_share_markdown(result), "Project plan", interaction.user))

    @quote.autocomplete("scope")
    async def _scope_autocomplete(self, interaction: discord.Interaction, current: str):
        try:
            scopes = await self.bot.in_store(self.bot.core.list_scopes, uid(interaction.user), 25)
        except Exception:  # noqa: BLE001
            return []
        out = []
        for s in scopes:
            label = f"{s['id']} · {display_cell(s.get('target') or '?', 40)} · {s.get('rows') or '?'} rows"
            if current.lower() in label.lower():
                out.append(app_commands.Choice(name=cut(label, 100), value=s["id"]))
        return out[:25]
