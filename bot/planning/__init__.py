"""Project plans from a scope: dated phases in working days, dependencies, review milestones, a buffer
from the estimate's range, payment milestones and assumptions; as JSON, markdown, a Gantt-style PNG and
an iCalendar file of the milestones. Transport-free (no discord, no CLI)."""

from bot.planning.plan import build_plan

__all__ = ["build_plan"]
