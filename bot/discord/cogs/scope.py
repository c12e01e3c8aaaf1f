"""/scope (and a CSV dropped in a DM): deferred at once, progress by editing the response, the result as
an embed with the chart (PNG) and the full report (markdown file). Private unless `public` is set."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.common import Guard, check_cooldown, in_dm, uid
from bot.discord.jobs import MIN_JOB_SECONDS, Progress, progress_text, token_seconds_left
from bot.discord.render import COLOR_SCOPE, NO_MENTIONS, make_embed, png_file, shown, text_file, truncate
from bot.discord.views import PrivateResultView
from bot.errors import Busy, InputError, LimitExceeded, UserError

if TYPE_CHECKING:
    from bot.discord.bot import MlBot

log = logging.getLogger("bot.discord.scope")

CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv")
CSV_TYPES = ("text/csv", "text/plain", "text/tab-separated-values", "application/csv", "application/gzip",
             "application/x-gzip", "application/octet-stream", "application/vnd.ms-excel")
TARGET_WAIT_SECONDS = 120


def upload_limit_bytes(bot: MlBot) -> int:
    cfg = bot.settings
    return int(min(cfg.discord.max_upload_mb, cfg.scope.max_file_mb) * 1024 * 1024)


def check_csv_attachment(bot: MlBot, attachment: discord.Attachment) -> None:
    """Size and type from the attachment's metadata, before a single byte is downloaded."""
    name = attachment.filename or ""
    if not name.lower().endswith(CSV_SUFFIXES):
        raise InputError(f"{shown(name, 60)} is not a CSV file.", hint="Upload a .csv or .csv.gz file.")
    ctype = (attachment.content_type or "").split(";")[0].strip().lower()
    if ctype and ctype not in CSV_TYPES:
        raise InputError(f"{shown(name, 60)} does not look like a CSV file (type {shown(ctype, 40)}).",
                         hint="Upload a .csv or .csv.gz file.")
    limit = upload_limit_bytes(bot)
    if attachment.size > limit:
        raise LimitExceeded(f"the file is {attachment.size / 1048576:.1f} MB; the limit here is "
                            f"{limit / 1048576:g} MB.", hint="Send a sample of the rows, or use `mlbot scope` locally.")


async def read_capped(bot: MlBot, attachment: discord.Attachment) -> bytes:
    data = await attachment.read()
    limit = upload_limit_bytes(bot)
    if len(data) > limit:  # the declared size is the client's word; the bytes are not
        raise LimitExceeded(f"the file is over the {limit / 1048576:g} MB limit here.",
                            hint="Send a sample of the rows, or use `mlbot scope` locally.")
    return data


async def scope_job(bot: MlBot, user: discord.abc.User, *, data: bytes, filename: str, target: str | None,
                    budget: float | None, edit: Callable[[str], Awaitable[Any]],
                    seconds_left: Callable[[], float], terms: dict[str, Any] | None = None) -> dict[str, Any]:
    """One scope through the queue: a per-user slot, a place in the bounded queue, progress, time limits."""
    store = bot.core.store
    hard = bot.settings.scope.hard_timeout_seconds
    token = await bot.in_store(store.acquire_slot, uid(user), "scope", hard + 120)
    if token is None:
        raise Busy("you already have a scope running.", hint="Wait for it to finish, then try again.")
    try:
        place = bot.jobs.position()  # raises Busy when the queue is full
        if place:
            await edit(f"⏳ In the queue (position {place}); I'll start as soon as a worker is free…")
        async with bot.jobs.turn(timeout=max(1.0, seconds_left() - MIN_JOB_SECONDS)):
            timeout = min(hard, seconds_left())
            if timeout < MIN_JOB_SECONDS:
                raise Busy("there is not enough time left to run this scope now.", hint="Please run it again.")
            loop = asyncio.get_running_loop()
            progress = Progress(loop, edit, progress_text)
            progress("loading", {})
            try:
                return await bot.jobs.run(bot.core.scope, data=data, filename=filename, target=target,
                                          budget=budget, user_id=uid(user), progress=progress, timeout=timeout,
                                          **(terms or {}))
            finally:
                await progress.close()
    finally:
        await bot.in_store(store.release_slot, uid(user), "scope", token)


def scope_payload(result: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    """A factory of message kwargs (fresh files on every call): embed, chart PNG, full report as .md."""
    from bot.scoping.render import scope_markdown

    sid = str(result.get("scope_id") or "scope")
    safe_sid = re.sub(r"[^A-Za-z0-9_-]", "", sid)[:40] or "scope"
    text = scope_markdown(result["report"])
    png = result.get("chart_png")
    md_name, png_name = f"scope-{safe_sid}.md", f"scope-{safe_sid}.png"
    full = f"{text}\n\nScope id: {sid}\n"

    def make() -> dict[str, Any]:
        embed = make_embed(
            title="Scope report",
            description=truncate(text, 4000, note=f"(the full report is in {md_name})"),
            footer=f"Scope id {sid} · /quote prices your latest scope",
            color=COLOR_SCOPE,
            image_url=f"attachment://{png_name}" if png else None,
        )
        files = ([png_file(png, png_name)] if png else []) + [text_file(full, md_name)]
        return {"embeds": [embed], "files": files}

    return make


def parse_target(text: str) -> str | None:
    """The target column a DM names: "target=churned", "target: churned" or just "churned"."""
    text = (text or "").strip()
    if not text:
        return None
    m = re.match(r"(?is)^\s*target\s*[=:]\s*(.+)$", text)
    value = (m.group(1) if m else text).strip().strip("`\"'")
    return value[:200] or None


def needs_target(exc: UserError) -> bool:
    """The core could not infer the column to predict."""
    return getattr(exc, "code", "") in ("target", "no_target", "target_needed") or "target" in str(exc).lower()


class ScopeCog(commands.Cog):
    def __init__(self, bot: MlBot):
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
            await guard.defer(ephemeral=private)
            check_csv_attachment(self.bot, file)
            await check_cooldown(self.bot, interaction.user, "scope", self.bot.settings.discord.scope_cooldown_seconds)
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
