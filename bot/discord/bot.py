"""The bot factory: one `commands.Bot` (or `AutoShardedBot`) around the core, cogs added in setup_hook.

`build_bot()` with no arguments loads the default settings (MLBOT_CONFIG, MLBOT_DATA_DIR) and builds the
core; it needs no token. `run_bot(core)` is what `mlbot run` calls: it connects with DISCORD_TOKEN and
syncs the slash commands to `discord.dev_guild_id` at start (instant), or globally with --sync-global.

Blocking work never runs on the event loop: core calls go to a small thread pool (`in_thread`), store
calls to another (`in_store`), scopes to the bounded scope queue (jobs.py).
"""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import Core
from bot.config import Settings, load_settings
from bot.discord.cogs import COGS
from bot.discord.common import report
from bot.discord.jobs import ScopeQueue
from bot.discord.render import NO_MENTIONS
from bot.discord.views import FeedbackButton
from bot.errors import ConfigError, UsageError

log = logging.getLogger("bot.discord")

SyncMode = Literal["dev", "global"] | None


def intents_for(settings: Settings) -> discord.Intents:
    """The minimum: guilds, guild and DM messages. Content of mentions, replies to the bot and DMs
    arrives without the privileged message-content intent; enable `discord.message_content` only to
    follow up in bot threads without a mention."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.dm_messages = True
    intents.message_content = settings.discord.message_content
    return intents


def freeze_heap() -> None:
    """Move everything loaded at start (model, index, libraries) out of the cyclic GC's reach.

    A full collection walks every object and holds the GIL: measured here at 100-450 ms with the model
    and chroma loaded, which stalled the event loop. Frozen objects are never scanned again.
    """
    gc.collect()
    gc.freeze()


def lower_thread_priority() -> None:
    """Let the OS prefer the event-loop thread over CPU-bound core threads (Linux: per-thread nice).

    Measured with evals/bench_discord.py on a busy 2-core host (load 4): p99 loop lag 50-53 ms, not 62 ms.
    """
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):
        pass


def prestart_threads(pool: ThreadPoolExecutor, n: int) -> None:
    """Start a pool's threads now: starting one later waits for it on the event loop thread."""
    for _ in range(n):
        pool.submit(time.sleep, 0.05)


class _Front:
    """What the bot adds to discord.py's client: the core, its pools, owners and start-up (the members
    cogs use are the `bot.discord.front.Front` protocol)."""

    settings: Settings
    core: Core

    def __init__(self, settings: Settings, core: Core, *, sync: SyncMode = None, warm: bool = True, **kwargs: Any):
        super().__init__(  # type: ignore[call-arg]
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=intents_for(settings),
            allowed_mentions=NO_MENTIONS,
            **kwargs,
        )
        self.settings = settings
        self.core = core
        self.sync_mode = sync
        self.warm_on_start = warm
        self.core_pool = ThreadPoolExecutor(max_workers=settings.discord.core_threads, thread_name_prefix="mlbot-core",
                                            initializer=lower_thread_priority)
        self.store_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="mlbot-store")
        self.jobs = ScopeQueue(settings.discord.scope_workers, settings.discord.scope_queue)
        self.app_owner_ids: set[int] = set()
        self.warm_thread: threading.Thread | None = None

    # Blocking work off the loop ----------------------------------------------------------------
    async def in_thread(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        """Run a core call (retrieval, rates, ingest) in the core pool."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.core_pool, functools.partial(fn, *args, **kwargs))

    async def in_store(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        """Run a quick store call (cooldowns, slots, feedback) apart from the core's longer calls."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.store_pool, functools.partial(fn, *args, **kwargs))

    # Owners ------------------------------------------------------------------------------------
    def is_kb_owner(self, user_id: int) -> bool:
        """The knowledge base is shared by every server: only the application owner(s) and
        `discord.owner_ids` may change it. Server admins are not enough."""
        return user_id in self.app_owner_ids or user_id in set(self.settings.discord.owner_ids)

    async def _load_owners(self) -> None:
        try:
            app = await self.application_info()  # type: ignore[attr-defined]
        except discord.HTTPException as exc:
            log.warning("could not read the application owner status=%s; only discord.owner_ids may change the "
                        "knowledge base", exc.status)
            return
        if app.team:
            self.app_owner_ids = {m.id for m in app.team.members}
        elif app.owner:
            self.app_owner_ids = {app.owner.id}

    # Start-up ------------------------------------------------------------------------------------
    async def setup_hook(self) -> None:
        for cog in COGS:
            await self.add_cog(cog(self))  # type: ignore[attr-defined]
        self.add_dynamic_items(FeedbackButton)  # type: ignore[attr-defined]
        self.tree.on_error = self._on_tree_error  # type: ignore[attr-defined]
        await self._load_owners()
        if self.warm_on_start:
            self.start_warm()
        prestart_threads(self.core_pool, self.settings.discord.core_threads)
        prestart_threads(self.store_pool, 2)
        prestart_threads(self.jobs.executor(), self.settings.discord.scope_workers)
        await self.sync_commands(self.sync_mode)

    def start_warm(self) -> None:
        """Load the embedding model, open the index and start the scope worker, off the loop."""
        if self.warm_thread is None:
            self.warm_thread = threading.Thread(target=self._warm, name="mlbot-warm", daemon=True)
            self.warm_thread.start()

    def _warm(self) -> None:
        try:
            self.core.warm()
        except Exception as exc:  # noqa: BLE001 - the first request will try again and report properly
            log.warning("warm-up of the knowledge base failed class=%s", exc.__class__.__name__)
        try:
            self.core.warm_scoper()
        except Exception as exc:  # noqa: BLE001
            log.warning("warm-up of the scope worker failed class=%s", exc.__class__.__name__)
        freeze_heap()

    async def sync_commands(self, mode: SyncMode) -> None:
        tree: app_commands.CommandTree = self.tree  # type: ignore[attr-defined]
        if mode == "global":
            synced = await tree.sync()
            log.info("synced %d commands globally", len(synced))
        elif mode == "dev":
            guild_id = self.settings.discord.dev_guild_id
            if guild_id is None:
                log.warning("discord.dev_guild_id is not set: commands were not synced (use --sync-global once)")
                return
            guild = discord.Object(id=guild_id)
            tree.copy_global_to(guild=guild)
            synced = await tree.sync(guild=guild)
            log.info("synced %d commands to the dev guild", len(synced))

    async def on_ready(self) -> None:
        log.info("connected guilds=%d", len(self.guilds))  # type: ignore[attr-defined]

    async def on_message(self, message: discord.Message) -> None:
        """No prefix commands: mentions, replies and DMs are handled by the events cog."""

    async def _on_tree_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        if isinstance(original, app_commands.CheckFailure | app_commands.TransformerError):
            original = UsageError(str(original) or "this command cannot be used here.")
        await report(interaction, original)

    async def close(self) -> None:
        await super().close()  # type: ignore[misc]
        self.jobs.close()
        self.core_pool.shutdown(wait=False, cancel_futures=True)
        self.store_pool.shutdown(wait=False, cancel_futures=True)


class MlBot(_Front, commands.Bot):
    pass


class MlShardedBot(_Front, commands.AutoShardedBot):
    pass


def build_bot(settings: Settings | None = None, core: Core | None = None, *, sync: SyncMode = None,
              warm: bool = True) -> commands.Bot:
    """The bot, ready for `bot.start(token)` or SimCord. No token needed to build it.

    `sync` ("dev" or "global") syncs the slash commands in setup_hook; `warm` loads the model and the
    scope worker in a background thread at start so the first answer is quick.
    """
    if settings is None:
        settings = core.settings if core is not None else load_settings()
    core = core or Core(settings)
    cfg = settings.discord
    if not cfg.sharded:
        return MlBot(settings, core, sync=sync, warm=warm)
    shards = {}
    if cfg.shard_ids:
        if not cfg.shard_count or any(not 0 <= i < cfg.shard_count for i in cfg.shard_ids):
            raise ConfigError("discord.shard_ids needs discord.shard_count, and every id below it.",
                              hint="E.g. shard_count: 4 with shard_ids: [0, 1] here and [2, 3] in the other process.")
        shards = {"shard_count": cfg.shard_count, "shard_ids": cfg.shard_ids}
    return MlShardedBot(settings, core, sync=sync, warm=warm, **shards)


def run_bot(core: Core, sync_global: bool = False) -> None:
    """Connect with DISCORD_TOKEN and serve until interrupted (called by `mlbot run`)."""
    token = core.settings.secret("discord_token")
    if not token:
        raise ConfigError("DISCORD_TOKEN is not set: the Discord bot cannot start.",
                          hint="Set it in the environment or a .env file, or try `mlbot console` offline.")
    bot = build_bot(core.settings, core, sync="global" if sync_global else "dev")
    # Logging is already configured by the CLI (file in the data dir, redaction of secrets).
    bot.run(token, log_handler=None)
