"""SimCord end to end for scoping: /scope by option, a CSV dropped in a DM, limits, privacy, queue, quote."""

from __future__ import annotations

import time

import discord
import pytest

from bot.scoping.worker import run_job as default_entry
from tests import scope_hooks
from tests.test_discord_support import (
    CSV_EVERYONE,
    CSV_NO_TARGET,
    CSV_SIMPLE,
    SETTLE,
    all_text,
    assert_no_pings,
)

pytest_plugins = ["tests.test_discord_support"]
pytestmark = pytest.mark.simcord(settle_timeout=SETTLE)


def _latest_interaction(env):
    return max(env.backend.interactions.values(), key=lambda r: r.id)


def _files(message) -> list[str]:
    return sorted(a.filename for a in message.attachments)


async def test_scope_defers_before_the_work_shows_progress_then_the_report(simcord_env, server, monkeypatch):
    guild, channel, alice, bob = server
    core = simcord_env.bot.core
    real_scope = core.scope
    seen = {}

    def observed_scope(**kwargs):  # the real scope, made slow, noting whether Discord was answered first
        record = _latest_interaction(simcord_env)
        seen["acknowledged_before_work"] = record.responded
        time.sleep(0.5)
        return real_scope(**kwargs)

    monkeypatch.setattr(core, "scope", observed_scope)
    result = await alice.slash(channel, "scope", file=("leads.csv", CSV_SIMPLE.encode()), target="churned")
    assert seen["acknowledged_before_work"] is True
    callbacks = [r.json for r in simcord_env.http_requests if r.path.endswith("/callback")]
    assert callbacks[0]["type"] == 5 and callbacks[0]["data"]["flags"] & 64  # deferred, ephemeral
    progress = [r.json.get("content") for r in simcord_env.http_requests
                if r.method == "PATCH" and r.path.endswith("@original") and r.json and r.json.get("content")]
    assert progress and progress[0].startswith("⏳")
    assert result.ephemeral
    message = result.response
    [embed] = message.embeds
    assert embed.title == "Scope report" and "churned" in embed.description
    assert embed.image.url.startswith("attachment://scope-")
    assert any(n.endswith(".png") for n in _files(message)) and any(n.endswith(".md") for n in _files(message))
    assert [m for m in channel.history() if m.author.id == simcord_env.bot.user.id] == []  # nothing public
    assert_no_pings(simcord_env)

    quote = await alice.slash(channel, "quote", rate=600.0, unit="day", currency="GBP")
    last = (quote.followups or [quote.response])[-1]
    assert quote.ephemeral and last.attachments[0].filename == "quote.md"
    # A long quote is paged over several messages: the first carries the title, the last the file and buttons.
    pages = [m for m in [quote.response, *quote.followups] if m is not None and m.embeds]
    assert any(p.embeds[0].title == "Quote" for p in pages)
    shared = await alice.click(last, label="Share to channel")
    plan = all_text(shared)
    assert not shared.ephemeral and "Project plan" in plan and "600" not in plan and "churned" not in plan


async def test_scope_public_posts_the_report_in_the_channel(simcord_env, server):
    guild, channel, alice, bob = server
    result = await alice.slash(channel, "scope", file=("leads.csv", CSV_SIMPLE.encode()), target="churned",
                               public=True)
    assert not result.ephemeral and result.response.embeds[0].title == "Scope report"


async def test_attachment_checked_before_it_is_read(simcord_env, server, monkeypatch):
    guild, channel, alice, bob = server
    reads = []
    real_read = discord.Attachment.read

    async def spy(self, *args, **kwargs):
        reads.append(self.filename)
        return await real_read(self, *args, **kwargs)

    monkeypatch.setattr(discord.Attachment, "read", spy)
    image = await alice.slash(channel, "scope", file=("chart.png", b"\x89PNG\r\n\x1a\n" + b"0" * 100))
    assert image.ephemeral and "not a CSV" in all_text(image)
    simcord_env.bot.settings.discord.max_upload_mb = 0.001
    big = await alice.slash(channel, "scope", file=("big.csv", CSV_SIMPLE.encode() * 3))
    assert "limit" in all_text(big)
    assert reads == []


async def test_column_names_with_mentions_ping_nobody(simcord_env, server):
    guild, channel, alice, bob = server
    result = await alice.slash(channel, "scope", file=("names.csv", CSV_EVERYONE.encode()), target="churned",
                               public=True)
    assert result.response.embeds
    assert_no_pings(simcord_env)


async def test_one_scope_per_user_and_a_crash_is_reported_to_that_user_only(simcord_env, server, monkeypatch):
    guild, channel, alice, bob = server
    core = simcord_env.bot.core
    token = core.store.acquire_slot(str(alice.id), "scope", 60)  # alice has a scope running elsewhere
    busy = await alice.slash(channel, "scope", file=("leads.csv", CSV_SIMPLE.encode()), target="churned")
    assert busy.ephemeral and "already have a scope running" in all_text(busy)
    core.store.release_slot(str(alice.id), "scope", token)

    monkeypatch.setattr(core.scoper, "entry", scope_hooks.exit_entry)  # the worker process dies
    crashed = await alice.slash(channel, "scope", file=("leads.csv", CSV_SIMPLE.encode()), target="churned")
    assert "stopped unexpectedly" in all_text(crashed) and crashed.ephemeral
    monkeypatch.setattr(core.scoper, "entry", default_entry)
    ok = await bob.slash(channel, "scope", file=("leads.csv", CSV_SIMPLE.encode()), target="churned")
    assert ok.response.embeds[0].title == "Scope report"
    assert simcord_env.bot.jobs.running == 0 and core.store.acquire_slot(str(alice.id), "scope", 1)


async def test_csv_in_a_dm_with_target_is_scoped(simcord_env, server):
    guild, channel, alice, bob = server
    dm = alice.user.dm_channel
    files = simcord_env.backend.store_attachments(dm.id, [("leads.csv", CSV_SIMPLE.encode())])
    await alice.user.send_dm("target=churned", attachments=files)
    report = [m for m in dm.history() if m.embeds]
    assert report and report[-1].embeds[0].title == "Scope report"
    assert "Scope done" in dm.history()[-1].content or any("Scope done" in m.content for m in dm.history())


async def test_csv_in_a_dm_without_a_target_asks_for_it(simcord_env, server):
    guild, channel, alice, bob = server
    dm = alice.user.dm_channel
    files = simcord_env.backend.store_attachments(dm.id, [("data.csv", CSV_NO_TARGET.encode())])
    await alice.user.send_dm("", attachments=files)
    assert any("Which column should I predict?" in m.content for m in dm.history())
    await alice.user.send_dm("gamma")
    assert any(m.embeds and m.embeds[0].title == "Scope report" for m in dm.history())
    assert_no_pings(simcord_env)
