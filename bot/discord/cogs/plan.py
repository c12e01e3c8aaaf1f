"""/plan: a dated project plan from the user's latest scope (or a scope id), private by default, with the
plan as markdown, the Gantt chart (PNG) and the milestones (.ics) attached, and a "Share to channel" button
that posts the phases, dates and payment shares without the rate, amounts, target or column names."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.common import Guard, uid
from bot.discord.front import Front
from bot.discord.private import DM_CONTEXTS, send_private, share_payload
from bot.discord.render import png_file, text_file
from bot.errors import InputError
from bot.textsafe import cut, display_cell

TITLE = "Project plan"


def parse_start(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"start must be a date as YYYY-MM-DD (got {display_cell(text, 20)}).",
                         hint="For example start:2027-01-04.") from None


def plan_files(result: dict[str, Any]) -> Callable[[], list[discord.File]]:
    """Fresh attachments on every call (a discord.File is read once): plan.md, plan.png, plan.ics."""
    markdown, png, ics = result["markdown"], result["chart_png"], result["ics"]

    def make() -> list[discord.File]:
        files = [text_file(markdown, "plan.md")]
        if png:
            files.append(png_file(png, "plan.png"))
        if ics:
            files.append(text_file(ics, "plan.ics"))
        return files

    return make


def plan_share(result: dict[str, Any], user: discord.abc.User) -> Callable[[], dict[str, Any]]:
    """The public version: phases, dates and payment shares, with the chart (it shows no figures)."""
    from bot.planning.render import plan_share_markdown

    base, png = share_payload(plan_share_markdown(result["plan"]), TITLE, user), result["chart_png"]

    def make() -> dict[str, Any]:
        payload = base()
        if png:
            payload["embeds"][0].set_image(url="attachment://plan.png")
            payload["files"] = [png_file(png, "plan.png")]
        return payload

    return make


class PlanCog(commands.Cog):
    def __init__(self, bot: Front):
        self.bot = bot

    @app_commands.command(name="plan", description="A dated project plan from your latest scope: phases, reviews, "
                          "buffer, payments, Gantt chart and .ics (private).")
    @app_commands.describe(scope="a scope id (default: your latest scope)",
                           start="first working day, YYYY-MM-DD (default: next Monday)",
                           rate="your rate, to add amounts to the payments", unit="per hour or per day",
                           currency="3-letter code, e.g. GBP (needed with a rate)")
    @app_commands.allowed_contexts(**DM_CONTEXTS)
    @app_commands.allowed_installs(guilds=True, users=True)
    async def plan(self, interaction: discord.Interaction, scope: app_commands.Range[str, 1, 60] | None = None,
                   start: app_commands.Range[str, 8, 10] | None = None,
                   rate: app_commands.Range[float, 0.01, 1e7] | None = None, unit: Literal["day", "hour"] = "day",
                   currency: app_commands.Range[str, 3, 3] | None = None) -> None:
        async with Guard(interaction) as guard:
            await guard.defer(ephemeral=True)
            if rate is not None and not currency:
                raise InputError("a rate needs its currency.", hint="For example rate:600 unit:day currency:GBP.")
            result = await self.bot.in_thread(self.bot.core.plan, scope=scope, start=parse_start(start), rate=rate,
                                              unit=unit, currency=currency, user_id=uid(interaction.user),
                                              chart=True, ics=True)
            await send_private(interaction, result["markdown"], title=TITLE, files=plan_files(result),
                               share=plan_share(result, interaction.user))

    @plan.autocomplete("scope")
    async def _scope_autocomplete(self, interaction: discord.Interaction, current: str):
        try:
            scopes = await self.bot.in_store(self.bot.core.list_scopes, uid(interaction.user), 25)
        except Exception:  # noqa: BLE001 - autocomplete must answer; the command reports real errors
            return []
        labels = [(s["id"], f"{s['id']} · {display_cell(s.get('target') or '?', 40)} · {s.get('rows') or '?'} rows")
                  for s in scopes]
        return [app_commands.Choice(name=cut(label, 100), value=sid) for sid, label in labels
                if current.lower() in label.lower()][:25]
