"""The Discord front: slash commands, mentions, DMs and buttons over the transport-free core.

`build_bot(settings=None, core=None)` makes the bot (used by `mlbot run` and by the tests alike);
`run_bot(core, sync_global=False)` connects it with DISCORD_TOKEN. Nothing here holds business logic:
cogs parse, call the core in a thread and render.
"""

from bot.discord.bot import build_bot, run_bot

__all__ = ["build_bot", "run_bot"]
