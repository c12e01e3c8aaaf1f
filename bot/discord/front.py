"""`Front`: what the cogs, views and helpers need from the bot, as a small protocol.

The bot (`bot.discord.bot.MlBot`) implements it; cogs type against it, so no module of the front imports
the bot module back (no import circle), and a test can hand a cog anything with these members.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import discord

from bot.app import Core
from bot.config import Settings
from bot.discord.jobs import ScopeQueue


class Front(Protocol):
    settings: Settings
    core: Core
    jobs: ScopeQueue

    @property
    def user(self) -> discord.ClientUser | None: ...

    async def in_thread(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Run a core call (retrieval, rates, ingest) off the event loop."""

    async def in_store(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Run a quick core call (cooldowns, slots, feedback) off the event loop, apart from the long ones."""

    def is_kb_owner(self, user_id: int) -> bool:
        """Whether this user may change the shared knowledge base."""

    async def wait_for(self, event: str, /, *, check: Callable[..., bool] | None = None,
                       timeout: float | None = None) -> Any: ...
