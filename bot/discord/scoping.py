"""Scope helpers shared by /scope and by a CSV dropped in a DM: checking an attachment before reading it,
running one scope through the queue with its time limits, and the result as a message."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from bot.discord.common import uid
from bot.discord.front import Front
from bot.discord.jobs import MIN_JOB_SECONDS, Progress, progress_text
from bot.discord.render import COLOR_SCOPE, make_embed, png_file, shown, text_file, truncate
from bot.errors import Busy, InputError, LimitExceeded

CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv")
CSV_TYPES = ("text/csv", "text/plain", "text/tab-separated-values", "application/csv", "application/gzip",
             "application/x-gzip", "application/octet-stream", "application/vnd.ms-excel")
TARGET_WAIT_SECONDS = 120


def upload_limit_bytes(bot: Front) -> int:
    cfg = bot.settings
    return int(min(cfg.discord.max_upload_mb, cfg.scope.max_file_mb) * 1024 * 1024)


def check_csv_attachment(bot: Front, attachment: discord.Attachment) -> None:
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


async def read_capped(bot: Front, attachment: discord.Attachment) -> bytes:
    data = await attachment.read()
    limit = upload_limit_bytes(bot)
    if len(data) > limit:  # the declared size is the client's word; the bytes are not
        raise LimitExceeded(f"the file is over the {limit / 1048576:g} MB limit here.",
                            hint="Send a sample of the rows, or use `mlbot scope` locally.")
    return data


async def scope_job(bot: Front, user: discord.abc.User, *, data: bytes, filename: str, target: str | None,
                    budget: float | None, edit: Callable[[str], Awaitable[Any]],
                    seconds_left: Callable[[], float], terms: dict[str, Any] | None = None) -> dict[str, Any]:
    """One scope through the queue: a per-user slot, a place in the bounded queue, progress, time limits."""
    core = bot.core
    hard = bot.settings.scope.hard_timeout_seconds
    token = await bot.in_store(core.acquire_slot, uid(user), "scope", hard + 120)
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
        await bot.in_store(core.release_slot, uid(user), "scope", token)


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
