"""The AutoShardedBot switch under SimCord: two shards, a guild on shard 1, DMs on shard 0."""

from __future__ import annotations

import discord
import pytest

from bot.discord import build_bot
from tests.test_discord_support import SETTLE, all_text

pytest_plugins = ["tests.test_discord_support"]
pytestmark = pytest.mark.simcord(settle_timeout=SETTLE)


@pytest.fixture
def simcord_bot(discord_settings, discord_core):
    discord_settings.discord.sharded = True
    bot = build_bot(discord_settings, discord_core, sync="global", warm=False)
    bot.shard_count = 2
    return bot


async def test_sharded_bot_answers_on_every_shard_and_shares_cooldowns(simcord_env):
    bot = simcord_env.bot
    assert isinstance(bot, discord.AutoShardedClient) and len(bot.shards) == 2
    guild = simcord_env.create_guild("Shard one", shard_id=1)
    channel = guild.create_text_channel("general")
    alice = guild.add_member(simcord_env.create_user("alice"))
    answer = await alice.slash(channel, "ask", question="why start with a dummy baseline?")
    assert "Sources:" in answer.response.content
    await alice.user.send_dm("which dummy should I use for regression?")
    assert alice.user.dm_channel.last_message.author.id == bot.user.id
    bot.settings.discord.ask_cooldown_seconds = 60
    await alice.slash(channel, "ask", question="why start with a dummy baseline?")
    again = await alice.user.slash("ask", question="why start with a dummy baseline?")
    assert "slow down" in all_text(again)  # the cooldown lives in the store, shared by every shard and process
