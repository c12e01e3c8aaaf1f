"""Cogs: one per feature. Each command parses its options, calls the core off the loop and renders."""

from bot.discord.cogs.ask import AskCog
from bot.discord.cogs.events import EventsCog
from bot.discord.cogs.general import GeneralCog
from bot.discord.cogs.kb import KnowledgeCog
from bot.discord.cogs.plan import PlanCog
from bot.discord.cogs.rates import RatesCog
from bot.discord.cogs.scope import ScopeCog

COGS = (AskCog, ScopeCog, RatesCog, PlanCog, KnowledgeCog, GeneralCog, EventsCog)

__all__ = ["COGS"]
