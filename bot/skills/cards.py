"""Skill card schema and loader."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.errors import ConfigError
from bot.scoping.estimate import EstimateConfig, validate_estimate_block
from bot.yamlfile import config_error, read_mapping


def _compiles(pattern: str, what: str) -> None:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{what} pattern {pattern!r} is not a regular expression ({exc})") from None


class Skill(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{1,31}$")
    description: str = Field(min_length=10, max_length=300)
    examples: list[str] = Field(min_length=3)
    topics: list[str] = []
    instructions: str = Field(min_length=10)
    disclaimer: str | None = None
    private: bool = False  # answers of this skill are private (ephemeral / DM, short-lived conversation)
    declines: bool = False  # a card of questions outside the bot's remit: matching questions are declined
    # What a line asks for that a declining card declines whatever its topic ("... without them finding
    # out", "pass it off as my own"): regular expressions, case-insensitive (bot/knowledge/decide.py).
    intents: list[str] = []
    # A declining card whose questions always address something in particular (a jailbreak addresses the
    # bot, its rules or its prompt) may say so: a regular expression the line must match for the card to
    # decline it by meaning ("do i need to worry about the eu ai act" is near "act as an AI" in meaning
    # only). Its intents decline on their own.
    addressed: str | None = None
    estimate: EstimateConfig | None = None  # the scoping card's effort coefficients (bot/scoping/estimate.py)

    @field_validator("estimate", mode="before")
    @classmethod
    def _estimate(cls, v: Any) -> EstimateConfig | None:
        return v if v is None or isinstance(v, EstimateConfig) else validate_estimate_block(v)

    @field_validator("intents")
    @classmethod
    def _patterns(cls, v: list[str]) -> list[str]:
        for pattern in v:
            _compiles(pattern, "intent")
        return v

    @field_validator("addressed")
    @classmethod
    def _pattern(cls, v: str | None) -> str | None:
        if v is not None:
            _compiles(v, "addressed")
        return v

    @model_validator(mode="after")
    def _intents_decline(self) -> Skill:
        if (self.intents or self.addressed) and not self.declines:
            raise ValueError("only a card with declines: true may list intents or say what it is addressed to")
        return self

    def addresses(self, line: str) -> bool:
        """May this declining card decline the line by meaning (its `addressed` pattern, if any, matches)?"""
        return self.addressed is None or re.search(self.addressed, line, re.I) is not None

    @field_validator("examples")
    @classmethod
    def _non_empty(cls, v: list[str]) -> list[str]:
        if any(not e.strip() for e in v):
            raise ValueError("examples must be non-empty questions")
        return v


class SkillSet:
    """The loaded cards, by name, in a stable order."""

    def __init__(self, skills: list[Skill]):
        self._by_name = {s.name: s for s in sorted(skills, key=lambda s: s.name)}

    def __iter__(self):
        return iter(self._by_name.values())

    def __len__(self) -> int:
        return len(self._by_name)

    def __contains__(self, name: str) -> bool:
        return name in self._by_name

    def get(self, name: str) -> Skill | None:
        return self._by_name.get(name)

    def names(self) -> list[str]:
        return list(self._by_name)

    def answering(self) -> list[Skill]:
        """The skills that answer (not the cards that mark questions to decline)."""
        return [s for s in self._by_name.values() if not s.declines]

    def require(self, name: str) -> Skill:
        skill = self._by_name.get(name)
        if skill is None:
            from bot.errors import InputError

            raise InputError(f"unknown skill '{name}'.", hint=f"Known skills: {', '.join(self.names())}.")
        return skill


def load_skill(path: Path) -> Skill:
    data = read_mapping(path, "skill card", "keys (name, description, examples, ...)")
    data.setdefault("name", path.stem)
    if data["name"] != path.stem:
        raise ConfigError(f"skill card {path.name}: name '{data['name']}' must match the file name '{path.stem}'.")
    try:
        skill = Skill.model_validate(data)
    except ValidationError as exc:
        raise config_error(exc, f"skill card {path.name}", Skill) from None
    return skill


def load_skills(folder: Path) -> SkillSet:
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"skills folder {folder} does not exist.", hint="Set paths.skills in config.yaml.")
    return SkillSet([load_skill(p) for p in sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml"))])
