"""Skill cards: one declarative YAML file per skill in `skills/`, validated by a schema.

A card says what the skill covers (examples used for routing), which guide topics to boost,
how to answer (instructions for the model mode) and what disclaimer to add. Adding a skill is
adding a file; the file stem is the skill's name.
"""

from bot.skills.cards import Skill, SkillSet, load_skills

__all__ = ["Skill", "SkillSet", "load_skills"]
