"""Rate cards: `knowledge/rates/*.yaml` validated into one `RateBook`.

A card file holds any of four lists (see the comment at the top of each shipped card):
- `regions`: code -> {name, parent}; a parent is where a sub-region (uk-london) falls back to.
- `entries`: one sourced figure set per cell (region, seniority, engagement, specialty): currency, unit,
  low/typical/high (a figure the source does not give is left out, never filled in), what the figures are
  (`basis`), the data `period`, a `strength` (strong | fair | weak, from FACTS' [A]/[B]/[C]) and a
  `source` {title, url, date}. `seniority: all` is the all-levels figure of a region.
- `context`: sourced notes shown beside a region's figures (older snapshots, hourly medians, caveats).
- `factors`: what a specialty or engagement does to a range. A `multiplier` needs its own source; a
  factor without evidence has no multiplier and says so in `why`.

Cards are data: validated with pydantic (extra keys forbidden); errors name the file and the key.
"""

from __future__ import annotations

import calendar
import re
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.errors import ConfigError, InputError
from bot.yamlfile import config_error, read_mapping

SENIORITIES = ("junior", "mid", "senior", "lead")
SPECIALTIES = ("general", "nlp", "cv", "timeseries", "mlops", "llm")
ENGAGEMENTS = ("contract", "advisory", "fixed")
STRENGTHS = ("strong", "fair", "weak")
BASE_SPECIALTY = "general"
BASE_ENGAGEMENT = "contract"

Strength = Literal["strong", "fair", "weak"]
_DATE = re.compile(r"^(?:c\. )?(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Model):
    title: str = Field(min_length=3, max_length=200)
    url: str = Field(pattern=r"^https?://\S+$", max_length=500)
    date: str = Field(description="YYYY, YYYY-MM or YYYY-MM-DD (optionally 'c. ' first), or 'n.d.'")

    @field_validator("date")
    @classmethod
    def _date(cls, v: str) -> str:
        if v != "n.d." and source_date(v) is None:
            raise ValueError("use YYYY, YYYY-MM or YYYY-MM-DD (optionally 'c. YYYY'), or 'n.d.' when undated")
        return v


class Region(_Model):
    name: str = Field(min_length=2, max_length=80)
    parent: str | None = None


class Entry(_Model):
    region: str
    seniority: Literal["all", "junior", "mid", "senior", "lead"]
    engagement: Literal["contract", "advisory", "fixed"] = "contract"
    specialty: Literal["general", "nlp", "cv", "timeseries", "mlops", "llm"] = "general"
    role: str = Field(min_length=3, max_length=200, description="what the figures describe")
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    unit: Literal["hour", "day"]
    low: float | None = None
    typical: float | None = None
    high: float | None = None
    basis: str = Field(min_length=3, max_length=300, description="what low, typical and high are")
    period: str = Field(min_length=2, max_length=80, description="the data period as the source gives it")
    strength: Strength
    source: Source
    caveats: list[str] = []

    @model_validator(mode="after")
    def _figures(self) -> Entry:
        figures = [x for x in (self.low, self.typical, self.high) if x is not None]
        if not figures:
            raise ValueError("give at least one of low, typical, high (only figures the source gives)")
        if any(x <= 0 for x in figures):
            raise ValueError("figures must be positive")
        if figures != sorted(figures):
            raise ValueError("figures must be ordered low <= typical <= high")
        return self

    @property
    def cell(self) -> tuple[str, str, str, str]:
        return (self.region, self.seniority, self.engagement, self.specialty)


class Note(_Model):
    region: str
    text: str = Field(min_length=10, max_length=400)
    strength: Strength
    source: Source


class Multiplier(_Model):
    low: float = Field(gt=0, le=5)
    typical: float = Field(gt=0, le=5)
    high: float = Field(gt=0, le=5)

    @model_validator(mode="after")
    def _ordered(self) -> Multiplier:
        if not self.low <= self.typical <= self.high:
            raise ValueError("multipliers must be ordered low <= typical <= high")
        return self


class Factor(_Model):
    name: Literal["specialty", "engagement"]
    value: str
    why: str = Field(min_length=10, max_length=600)
    multiplier: Multiplier | None = None
    strength: Strength | None = None
    source: Source | None = None

    @model_validator(mode="after")
    def _sourced(self) -> Factor:
        known = SPECIALTIES if self.name == "specialty" else ENGAGEMENTS
        if self.value not in known:
            raise ValueError(f"unknown {self.name} '{self.value}' (known: {', '.join(known)})")
        if (self.source is None) != (self.strength is None):
            raise ValueError("give source and strength together")
        if self.multiplier is not None and self.source is None:
            raise ValueError("a multiplier needs a source and a strength; without evidence leave it out")
        return self


class RateCard(_Model):
    regions: dict[str, Region] = {}
    entries: list[Entry] = []
    context: list[Note] = []
    factors: list[Factor] = []

    @field_validator("regions")
    @classmethod
    def _codes(cls, v: dict[str, Region]) -> dict[str, Region]:
        bad = [k for k in v if not re.fullmatch(r"[a-z][a-z0-9-]{1,23}", k)]
        if bad:
            raise ValueError(f"region codes are lower-case letters, digits and '-' (check {', '.join(bad)})")
        return v


def source_date(text: str) -> date | None:
    """The latest day a source date can mean ('2022' -> 31 Dec 2022); None for 'n.d.' or a bad date."""
    m = _DATE.match(text.strip())
    if not m:
        return None
    year = int(m.group(1))
    month = int(m.group(2)) if m.group(2) else 12
    if not 1 <= month <= 12:
        return None
    last = calendar.monthrange(year, month)[1]
    day = int(m.group(3)) if m.group(3) else last
    if not 1 <= day <= last:
        return None
    return date(year, month, day)


class RateBook:
    """Every shipped card, indexed by cell, plus the rate settings advice needs (staleness, FX)."""

    def __init__(self, regions: dict[str, Region], entries: list[Entry], context: list[Note],
                 factors: list[Factor], *, stale_after_months: int = 18, fx: Any = None,
                 default_region: str = "uk", default_seniority: str = "senior"):
        self.regions = regions
        self.entries = entries
        self.context = context
        self.factors = {(f.name, f.value): f for f in factors}
        self.stale_after_months = stale_after_months
        self.fx = fx
        self.default_region = default_region
        self.default_seniority = default_seniority
        self._by_cell = {e.cell: e for e in entries}

    @classmethod
    def load(cls, folder: Path, settings: Any) -> RateBook:
        folder = Path(folder)
        if not folder.is_dir():
            raise ConfigError(f"rate cards folder {folder} does not exist.", hint="Set paths.rate_cards in config.yaml.")
        files = sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml"))
        if not files:
            raise ConfigError(f"rate cards folder {folder} has no .yaml cards.",
                              hint="Restore knowledge/rates/*.yaml or set paths.rate_cards in config.yaml.")
        regions: dict[str, Region] = {}
        origin: dict[str, str] = {}
        loaded: list[tuple[Path, RateCard]] = []
        for path in files:
            card = _load_card(path)
            for code, region in card.regions.items():
                if code in regions:
                    raise ConfigError(f"rate card {path.name}: region '{code}' is already defined in {origin[code]}.")
                regions[code], origin[code] = region, path.name
            loaded.append((path, card))
        entries, context, factors = _cross_check(loaded, regions)
        rates = settings.rates
        if rates.default_region not in regions:
            raise ConfigError(f"rates.default_region '{rates.default_region}' has no rate card "
                              f"(known regions: {', '.join(sorted(regions))}).")
        return cls(regions, entries, context, factors, stale_after_months=rates.stale_after_months, fx=rates.fx,
                   default_region=rates.default_region, default_seniority=rates.default_seniority)

    # Look-ups --------------------------------------------------------------------------------
    def known_regions(self) -> list[str]:
        return sorted(self.regions)

    def entry(self, region: str, seniority: str, engagement: str = BASE_ENGAGEMENT,
              specialty: str = BASE_SPECIALTY) -> Entry | None:
        return self._by_cell.get((region, seniority, engagement, specialty))

    def region_entries(self, region: str) -> list[Entry]:
        return [e for e in self.entries if e.region == region]

    def notes(self, region: str) -> list[Note]:
        return [n for n in self.context if n.region == region]

    def factor(self, name: str, value: str) -> Factor | None:
        return self.factors.get((name, value))

    def check(self, name: str, value: str, known: list[str] | tuple[str, ...]) -> str:
        """Normalise a user's choice; an unknown value raises InputError listing the known ones."""
        cleaned = str(value).strip().lower()
        if cleaned not in known:
            shown = cleaned[:30] if cleaned.isprintable() else ascii(cleaned)[:30]
            raise InputError(f"unknown {name} '{shown}'.", hint=f"Known {name}s: {', '.join(known)}.")
        return cleaned


def _load_card(path: Path) -> RateCard:
    data = read_mapping(path, "rate card", "regions, entries, context or factors")
    try:
        return RateCard.model_validate(data)
    except ValidationError as exc:
        raise config_error(exc, f"rate card {path.name}", RateCard) from None


def _cross_check(loaded: list[tuple[Path, RateCard]], regions: dict[str, Region]):
    entries: list[Entry] = []
    context: list[Note] = []
    factors: list[Factor] = []
    cells: dict[tuple, str] = {}
    named: dict[tuple, str] = {}
    known = ", ".join(sorted(regions))
    for path, card in loaded:
        for code, region in card.regions.items():
            if region.parent is not None and region.parent not in regions:
                raise ConfigError(f"rate card {path.name}: 'regions.{code}.parent': unknown region "
                                  f"'{region.parent}' (known: {known}).")
        for i, e in enumerate(card.entries):
            if e.region not in regions:
                raise ConfigError(f"rate card {path.name}: 'entries.{i}.region': unknown region '{e.region}' "
                                  f"(known: {known}; declare it under regions).")
            if e.cell in cells:
                raise ConfigError(f"rate card {path.name}: 'entries.{i}': the cell {'/'.join(e.cell)} is already "
                                  f"filled in {cells[e.cell]}; keep one entry per cell and put the other in context.")
            cells[e.cell] = path.name
            entries.append(e)
        for i, n in enumerate(card.context):
            if n.region not in regions:
                raise ConfigError(f"rate card {path.name}: 'context.{i}.region': unknown region '{n.region}' "
                                  f"(known: {known}).")
            context.append(n)
        for i, f in enumerate(card.factors):
            key = (f.name, f.value)
            if key in named:
                raise ConfigError(f"rate card {path.name}: 'factors.{i}': {f.name} '{f.value}' is already "
                                  f"described in {named[key]}.")
            named[key] = path.name
            factors.append(f)
    return entries, context, factors
