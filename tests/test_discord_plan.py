"""SimCord end to end for /plan: private by default, the plan with its PNG and .ics attached, the share button
posting a version without figures, errors private and friendly."""

from __future__ import annotations

import copy
import io
from datetime import date

import pytest

from tests.test_discord_support import SETTLE, all_text, assert_no_pings
from tests.test_rates_quote import SCOPE

pytest_plugins = ["tests.test_discord_support"]
pytestmark = pytest.mark.simcord(settle_timeout=SETTLE)


def _messages(result):
    return [m for m in [result.response, *result.followups] if m is not None]


async def test_plan_is_private_with_png_ics_and_a_share_button(simcord_env, server):
    guild, channel, alice, bob = server
    core = simcord_env.bot.core
    sid = await simcord_env.bot.in_store(core.store.save_scope, str(alice.user.id), copy.deepcopy(SCOPE))
    result = await alice.slash(channel, "plan", start="2027-01-04", rate=600.0, unit="day", currency="GBP")
    assert result.ephemeral and all(m.ephemeral for m in _messages(result))
    pages = [m for m in _messages(result) if m.embeds]
    assert pages[0].embeds[0].title == "Project plan"
    text = all_text(result)
    assert "Mon 4 Jan 2027" in text and sid in text and "£" in text
    last = _messages(result)[-1]
    names = sorted(a.filename for a in last.attachments)
    assert names == ["plan.ics", "plan.md", "plan.png"]
    files = {a.filename: await a.read() for a in last.attachments}
    assert files["plan.png"][:8] == b"\x89PNG\r\n\x1a\n"
    icalendar = pytest.importorskip("icalendar")
    events = list(icalendar.Calendar.from_ical(files["plan.ics"].decode("utf-8")).walk("VEVENT"))
    assert events and events[0].decoded("DTSTART") == date(2027, 1, 4)
    assert [m for m in channel.history() if m.author.id == simcord_env.bot.user.id] == []  # nothing public yet
    shared = await alice.click(last, label="Share to channel")
    public = all_text(shared)
    assert not shared.ephemeral and "Project plan" in public and "alice" in public
    for private in ("600", "£", "churned", "cancel_date"):
        assert private not in public, private
    assert [a.filename for a in shared.response.attachments] == ["plan.png"]
    assert_no_pings(simcord_env)


async def test_plan_in_dms_and_for_a_named_scope(simcord_env, server):
    guild, channel, alice, bob = server
    core = simcord_env.bot.core
    first = await simcord_env.bot.in_store(core.store.save_scope, str(alice.user.id), copy.deepcopy(SCOPE))
    await simcord_env.bot.in_store(core.store.save_scope, str(alice.user.id), copy.deepcopy(SCOPE))
    result = await alice.user.slash("plan", scope=first)
    assert first in all_text(result) and "Shares of the fee" in all_text(result)
    labels = {c["label"] for m in _messages(result) for row in m.components for c in row["components"]}
    assert "Share to channel" not in labels  # nothing to share a DM to


async def test_plan_errors_are_private_and_friendly(simcord_env, server):
    guild, channel, alice, bob = server
    none = await alice.slash(channel, "plan")
    assert none.ephemeral and "no stored scope" in all_text(none)
    await simcord_env.bot.in_store(simcord_env.bot.core.store.save_scope, str(bob.user.id), copy.deepcopy(SCOPE))
    bad_date = await bob.slash(channel, "plan", start="04/01/2027")
    assert bad_date.ephemeral and "YYYY-MM-DD" in all_text(bad_date)
    no_currency = await bob.slash(channel, "plan", rate=600.0)
    assert no_currency.ephemeral and "currency" in all_text(no_currency)
    other = await bob.slash(channel, "plan", scope="s-notyours")
    assert other.ephemeral and "no scope" in all_text(other)
    assert [m for m in channel.history() if m.author.id == simcord_env.bot.user.id] == []


def test_plan_files_are_fresh_on_every_call():
    from bot.discord.cogs.plan import plan_files

    make = plan_files({"markdown": "# Plan", "chart_png": b"\x89PNG\r\n\x1a\n", "ics": "BEGIN:VCALENDAR\r\n"})
    first, second = make(), make()
    assert [f.filename for f in first] == ["plan.md", "plan.png", "plan.ics"]
    assert first[0].fp is not second[0].fp and isinstance(first[2].fp, io.BufferedIOBase | io.BytesIO)
