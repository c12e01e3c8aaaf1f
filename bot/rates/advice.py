"""Rate advice: the sourced range for a region, seniority, specialty and engagement, and why.

Resolution, most specific first:
1. the cell itself (region, seniority) → evidence "sourced". A seniority figure without a spread keeps
   the region's all-levels low and high when it falls inside them (the factor says so);
2. the region's all-levels figures → evidence "all_levels" (they cover every level, said plainly);
3. nothing for the region → evidence "nearest": low, typical and high are None and `nearest` points to
   the closest sourced figure (same region at another level, then the parent region). Never a made-up number.

A specialty or engagement moves the range only through a multiplier that carries its own source
(knowledge/rates/factors.yaml); otherwise the factor says there is no evidence and the range stays.
Warnings flag weak, undated or old sources (older than `rates.stale_after_months` today).
Conversions happen only when `rates.fx` is configured, and state their rate and date.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from bot.rates.cards import (
    BASE_ENGAGEMENT,
    BASE_SPECIALTY,
    ENGAGEMENTS,
    SENIORITIES,
    SPECIALTIES,
    Entry,
    Factor,
    RateBook,
    Source,
    source_date,
)
from bot.rates.fmt import money, money_range, num, percent, round_figure, signed_money

log = logging.getLogger(__name__)

NOTE = ("Advertised and surveyed market figures, not financial advice. Check the live source before quoting a "
        "figure to a client, and compare with your own floor from `rate calc`.")
CURRENCY_NOTE = "Figures keep the currency of their source; set rates.fx in config.yaml to show conversions."


@dataclass(frozen=True)
class _Range:
    low: float | None
    typical: float | None
    high: float | None
    currency: str
    unit: str

    @classmethod
    def of(cls, e: Entry) -> _Range:
        return cls(e.low, e.typical, e.high, e.currency, e.unit)

    def text(self) -> str:
        return money_range(self.low, self.typical, self.high, self.currency, self.unit)


class _Trail:
    """Collects the sources, warnings and factors of one piece of advice, without duplicates."""

    def __init__(self, book: RateBook, today: date):
        self.book, self.today = book, today
        self.sources: list[dict[str, Any]] = []
        self.warnings: list[dict[str, str]] = []
        self.factors: list[dict[str, str]] = []

    def source(self, src: Source, strength: str, used_for: str, *, figure: bool = True,
               caveats: list[str] | None = None) -> None:
        if not any(s["url"] == src.url and s["title"] == src.title for s in self.sources):
            self.sources.append({"title": src.title, "url": src.url, "date": src.date, "strength": strength,
                                 "used_for": used_for})
        if not figure:
            return
        if strength == "weak":
            self.warn("weak_evidence", f"'{src.title}' is weak evidence: use its figures as colour, not as a benchmark.")
        when = source_date(src.date)
        if when is None:
            self.warn("undated_evidence", f"'{src.title}' gives no date: the figures may be old.")
        else:
            months = (self.today.year - when.year) * 12 + self.today.month - when.month
            if months > self.book.stale_after_months:
                self.warn("old_evidence", f"'{src.title}' dates from {src.date}, about {months} months ago "
                          f"(over {self.book.stale_after_months}): rates may have moved since.")
        for caveat in caveats or []:
            self.warn("caveat", caveat)

    def warn(self, code: str, message: str) -> None:
        if not any(w["message"] == message for w in self.warnings):
            self.warnings.append({"code": code, "message": message})

    def factor(self, name: str, effect: str, why: str) -> None:
        self.factors.append({"name": name, "effect": effect, "why": why})


def advise(book: RateBook, *, region: str | None = None, seniority: str | None = None,
           specialty: str | None = None, engagement: str | None = None, today: date | None = None) -> dict[str, Any]:
    """The sourced rate range for one choice of region, seniority, specialty and engagement.

    Unknown values raise InputError listing the known ones. Returns the JSON of `mlbot rate --json`.
    """
    region = book.check("region", region or book.default_region, book.known_regions())
    seniority = book.check("seniority", seniority or book.default_seniority, SENIORITIES)
    specialty = book.check("specialty", specialty or BASE_SPECIALTY, SPECIALTIES)
    engagement = book.check("engagement", engagement or BASE_ENGAGEMENT, ENGAGEMENTS)
    trail = _Trail(book, today or date.today())
    name = book.regions[region].name

    rng, evidence, main = _resolve_level(book, trail, region, seniority, name)
    nearest = None
    if evidence == "nearest":
        nearest = _nearest(book, trail, region, seniority, name)
        for dim, value in _chosen(specialty, engagement):
            factor = book.factor(dim, value)
            trail.factor(dim, "not applied: there is no figure to adjust",
                         factor.why if factor else f"No evidence on how {value} work changes the rate.")
    else:
        rng, main = _adjust(book, trail, region, specialty, engagement, rng, main)

    for note in book.notes(region):
        trail.source(note.source, note.strength, "context", figure=False)
    result: dict[str, Any] = {
        "region": region,
        "region_name": name,
        "seniority": seniority,
        "specialty": specialty,
        "engagement": engagement,
        "currency": rng.currency if rng else None,
        "unit": rng.unit if rng else None,
        "low": num(rng.low) if rng else None,
        "typical": num(rng.typical) if rng else None,
        "high": num(rng.high) if rng else None,
        "evidence": evidence,
        "role": main.role if main else None,
        "basis": main.basis if main else None,
        "period": main.period if main else None,
        "factors": trail.factors,
        "sources": trail.sources,
        "warnings": trail.warnings,
        "context": [{"text": n.text, "strength": n.strength, "source": {"title": n.source.title,
                     "url": n.source.url, "date": n.source.date}} for n in book.notes(region)],
        "nearest": nearest,
        "conversions": _conversions(book, rng, trail) if rng else [],
        "currency_note": CURRENCY_NOTE,
        "note": NOTE,
    }
    log.info("rate advice served")
    return result


# Seniority ------------------------------------------------------------------------------------


def _resolve_level(book: RateBook, trail: _Trail, region: str, seniority: str, name: str):
    cell = book.entry(region, seniority)
    overall = book.entry(region, "all")
    if cell is not None:
        trail.source(cell.source, cell.strength, "figures", caveats=cell.caveats)
        rng = _Range.of(cell)
        why = f"{cell.source.title} ({cell.strength}, dated {cell.source.date}): {cell.basis}."
        if overall is None or (overall.currency, overall.unit) != (cell.currency, cell.unit):
            trail.factor("seniority", f"{seniority} figures: {rng.text()}", why)
            return rng, "sourced", cell
        base = _Range.of(overall)
        spread_kept = (cell.low is None and cell.high is None and cell.typical is not None
                       and overall.low is not None and overall.high is not None
                       and overall.low <= cell.typical <= overall.high)
        if spread_kept:
            rng = replace(rng, low=overall.low, high=overall.high)
            trail.source(overall.source, overall.strength, "low and high", caveats=overall.caveats)
            why += (f" No {seniority}-specific spread is published, so low and high stay at the all-levels "
                    f"figures ({overall.source.title}, {overall.strength}: {overall.basis}).")
        else:
            trail.source(overall.source, overall.strength, "comparison", figure=False)
        trail.factor("seniority", _level_effect(base, rng, spread_kept), why)
        return rng, "sourced", cell
    if overall is not None:
        trail.source(overall.source, overall.strength, "figures", caveats=overall.caveats)
        trail.warn("no_level_figure", f"No {seniority}-specific figure for {name}: the range covers all levels.")
        trail.factor("seniority", "none: the all-levels range is shown",
                     f"No source gives a {seniority} figure for {name}; {overall.source.title} "
                     f"({overall.strength}) covers all levels: {overall.basis}.")
        return _Range.of(overall), "all_levels", overall
    return None, "nearest", None


def _level_effect(base: _Range, rng: _Range, spread_kept: bool) -> str:
    cur = rng.currency
    if spread_kept and base.typical is not None:
        diff = rng.typical - base.typical
        return (f"typical {money(base.typical, cur)} → {money(rng.typical, cur)} ({signed_money(diff, cur)}, "
                f"{'+' if diff >= 0 else ''}{percent(diff / base.typical, 1)} against the all-levels median); "
                f"low and high kept at {money(base.low, cur)} and {money(base.high, cur)}")
    return f"all levels: {base.text()} → this level: {rng.text()}"


def _nearest(book: RateBook, trail: _Trail, region: str, seniority: str, name: str) -> dict[str, Any] | None:
    order = list(SENIORITIES)
    here = order.index(seniority)
    chain, r = [], region
    while r is not None and r not in chain:
        chain.append(r)
        r = book.regions[r].parent
    found: Entry | None = None
    for r in chain:
        levels = ([seniority, "all"] if r != region else []) + sorted(
            (s for s in order if s != seniority), key=lambda s: (abs(order.index(s) - here), -order.index(s)))
        found = next((e for s in levels if (e := book.entry(r, s)) is not None), None)
        if found:
            break
    if found is None:
        trail.warn("no_evidence", f"No sourced figure for {seniority} ML work ({name}), and none nearby.")
        trail.factor("seniority", "no figures", f"No source gives rates for {name}.")
        return None
    where = book.regions[found.region].name
    level = "all levels" if found.seniority == "all" else f"{found.seniority} level"
    rng = _Range.of(found)
    trail.source(found.source, found.strength, "nearest figure", caveats=found.caveats)
    message = (f"No sourced figure for {seniority} ML work ({name}). The nearest sourced figure is for {level} "
               f"({where}): {rng.text()} ({found.source.title}). It is shown for reference, not as your range.")
    trail.warn("no_evidence", message)
    trail.factor("seniority", "no figures for this level", message)
    return {"region": found.region, "region_name": where, "seniority": found.seniority, "currency": found.currency,
            "unit": found.unit, "low": num(found.low), "typical": num(found.typical), "high": num(found.high),
            "role": found.role, "basis": found.basis, "period": found.period, "strength": found.strength,
            "source": {"title": found.source.title, "url": found.source.url, "date": found.source.date}}


# Specialty and engagement ------------------------------------------------------------------------


def _chosen(specialty: str, engagement: str) -> list[tuple[str, str]]:
    """The non-base choices, in the order their factors are applied."""
    return [(dim, value) for dim, value, base in (("specialty", specialty, BASE_SPECIALTY),
                                                  ("engagement", engagement, BASE_ENGAGEMENT)) if value != base]


def _adjust(book: RateBook, trail: _Trail, region: str, specialty: str, engagement: str, rng: _Range, main: Entry):
    """Specialty and engagement: a sourced cell of their own wins; else each factor (multiplier or not)."""
    chosen = _chosen(specialty, engagement)
    specific = book.entry(region, main.seniority, engagement, specialty) if chosen else None  # same level as main
    if specific is not None:
        rng, main = _Range.of(specific), specific
        trail.source(specific.source, specific.strength, "figures", caveats=specific.caveats)
        for dim, value in chosen:
            trail.factor(dim, f"{value}: figures from their own entry, no multiplier",
                         f"{specific.source.title} ({specific.strength}): {specific.basis}.")
    else:
        for dim, value in chosen:
            rng = _apply_factor(book, trail, dim, value, rng)
    if rng.low is None or rng.high is None:
        trail.warn("no_range", "The source gives no spread here: only the figures shown exist.")
    return rng, main


def _apply_factor(book: RateBook, trail: _Trail, dim: str, value: str, rng: _Range) -> _Range:
    factor: Factor | None = book.factor(dim, value)
    if factor is None:
        trail.factor(dim, "none", f"No evidence on how {value} work changes the rate; the range is kept.")
        return rng
    if factor.source is not None:
        trail.source(factor.source, factor.strength, f"{dim} factor" if factor.multiplier else "context",
                     figure=factor.multiplier is not None)
    m = factor.multiplier
    if m is None:
        trail.factor(dim, "none", factor.why)
        return rng
    cur = rng.currency
    moved = replace(
        rng,
        low=round_figure(rng.low * m.low, rng.unit) if rng.low is not None else None,
        typical=round_figure(rng.typical * m.typical, rng.unit) if rng.typical is not None else None,
        high=round_figure(rng.high * m.high, rng.unit) if rng.high is not None else None,
    )
    parts = [f"{label} {money(a, cur)} → {money(b, cur)} (×{k:g})"
             for label, a, b, k in (("low", rng.low, moved.low, m.low), ("typical", rng.typical, moved.typical,
                                    m.typical), ("high", rng.high, moved.high, m.high)) if a is not None]
    trail.factor(dim, "; ".join(parts) + " (our arithmetic, rounded)", factor.why)
    return moved


# Currency --------------------------------------------------------------------------------------


def _conversions(book: RateBook, rng: _Range, trail: _Trail) -> list[dict[str, Any]]:
    fx = book.fx
    if fx is None:
        return []
    per_eur = {"EUR": 1.0, **fx.per_eur}
    if rng.currency not in per_eur:
        trail.warn("no_fx_rate", f"rates.fx has no rate for {rng.currency}: no conversion shown.")
        return []
    out = []
    for target in sorted(per_eur):
        if target == rng.currency:
            continue
        rate = per_eur[target] / per_eur[rng.currency]

        def conv(x: float | None, rate: float = rate) -> int | float | None:
            return round_figure(x * rate, rng.unit) if x is not None else None

        out.append({"currency": target, "low": conv(rng.low), "typical": conv(rng.typical), "high": conv(rng.high),
                    "rate": round(rate, 6), "date": fx.date, "source": fx.source,
                    "note": f"1 {rng.currency} = {rate:.4f} {target} ({fx.source}, {fx.date})"})
    return out
