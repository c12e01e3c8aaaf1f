"""Effort estimate: hours by phase (low, high), each with the findings that drove it; with a rate,
a quote range.

Coefficients come from the `estimate:` block of skills/scoping.yaml (validated here by
`validate_estimate_block`, pydantic, unknown keys refused; the skill card schema types the block
with `EstimateConfig`), so a freelancer can calibrate them; the defaults below apply to anything the
block leaves out. The model:

    phase hours = base[phase] x size multipliers (rows, columns) + sum(driver hours x units)
    high end    x (1 + widening) when a leak was found or the data is small (the range says so)

The frame (forecasting, text, recommender) brings its own phases and replaces some base hours
(`frames:`). Drivers are findings of the scope: mostly-missing columns, data-quality issues, leakage
suspects, class imbalance, rare events, free-text / date / high-cardinality columns, wide data, a
small sample, weak lift over the dummy, a learning curve that is still rising, grouped or
time-ordered validation, many series, covariates, cold start, a large catalogue. Only the columns
the project works with count: a column the tool dropped (an ID, a constant, a leak) adds no hours.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from bot.errors import InputError

PHASES = ("discovery", "data_preparation", "modelling", "evaluation", "deployment_handover")
Phase = Literal["discovery", "data_preparation", "modelling", "evaluation", "deployment_handover"]
QUALITY_CODES = ("labels_merged", "mixed_types", "numbers_as_text", "encoding_fallback", "malformed_rows",
                 "duplicate_columns", "unnamed_columns", "formula_cells", "infinite_values", "numeric_overflow", "nul_bytes",
                 "preamble_skipped", "duplicate_rows", "long_cells", "missing_target", "duplicate_timestamps")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _range(v: Any) -> tuple[float, float]:
    if not isinstance(v, (list, tuple)) or len(v) != 2:
        raise ValueError("give hours as [low, high]")
    low, high = float(v[0]), float(v[1])
    if not (math.isfinite(low) and math.isfinite(high)) or low < 0 or high < low or high > 2000:
        raise ValueError("hours must be 0 <= low <= high <= 2000")
    return low, high


class Driver(_Strict):
    """Hours added per unit of a finding, by phase; at most `max_units` units count."""

    hours: dict[Phase, tuple[float, float]]
    max_units: int = Field(1, ge=1, le=100)

    @field_validator("hours", mode="before")
    @classmethod
    def _hours(cls, v: Any) -> dict:
        if not isinstance(v, dict) or not v:
            raise ValueError("hours maps a phase to [low, high]")
        return {k: _range(x) for k, x in v.items()}


class Drivers(_Strict):
    high_missing: Driver = Driver(hours={"data_preparation": (0.5, 1.5)}, max_units=8)
    quality_issue: Driver = Driver(hours={"data_preparation": (0.5, 1.5)}, max_units=10)
    leakage: Driver = Driver(hours={"discovery": (2, 4), "data_preparation": (1, 3), "evaluation": (1, 2)},
                             max_units=4)
    rare_events: Driver = Driver(hours={"modelling": (2, 5), "evaluation": (2, 4)})
    many_series: Driver = Driver(hours={"data_preparation": (1, 3), "modelling": (1, 3)}, max_units=4)
    covariates: Driver = Driver(hours={"data_preparation": (2, 4), "discovery": (1, 2)})
    high_frequency: Driver = Driver(hours={"data_preparation": (1, 2), "modelling": (2, 4)})
    cold_start: Driver = Driver(hours={"modelling": (3, 6), "evaluation": (1, 2)})
    large_catalogue: Driver = Driver(hours={"modelling": (2, 5), "deployment_handover": (2, 4)})
    class_imbalance: Driver = Driver(hours={"modelling": (2, 4), "evaluation": (1, 3)})
    multiclass: Driver = Driver(hours={"modelling": (1, 2), "evaluation": (1, 2)})
    free_text: Driver = Driver(hours={"data_preparation": (2, 4), "modelling": (3, 8)}, max_units=3)
    datetime: Driver = Driver(hours={"data_preparation": (1, 3)}, max_units=3)
    high_cardinality: Driver = Driver(hours={"data_preparation": (1, 2)}, max_units=5)
    id_groups: Driver = Driver(hours={"evaluation": (1, 2)})
    time_ordered: Driver = Driver(hours={"evaluation": (2, 4), "deployment_handover": (1, 3)})
    wide_data: Driver = Driver(hours={"data_preparation": (2, 6), "modelling": (2, 4)})
    small_sample: Driver = Driver(hours={"discovery": (2, 4)})
    weak_signal: Driver = Driver(hours={"discovery": (2, 4), "modelling": (4, 10)})
    more_data_helps: Driver = Driver(hours={"discovery": (1, 3)})


class Multiplier(_Strict):
    """Above `at` (rows or columns), multiply the listed phases' base hours by `factor`."""

    at: int = Field(ge=1)
    factor: float = Field(ge=1, le=10)


PhaseName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z_]{1,39}$")]


class FrameEstimate(_Strict):
    """A frame's own phases (after the five standard ones) and the standard phases whose base it replaces."""

    phases: dict[PhaseName, tuple[float, float]] = {}
    base: dict[Phase, tuple[float, float]] = {}

    @field_validator("phases", "base", mode="before")
    @classmethod
    def _hours(cls, v: Any) -> dict:
        if not isinstance(v, dict):
            raise ValueError("map a phase to [low, high]")
        return {k: _range(x) for k, x in v.items()}


class Frames(_Strict):
    forecasting: FrameEstimate = FrameEstimate(
        phases={"forecast_design": (3, 6)},                      # horizon, granularity, hierarchy, error cost
        base={"evaluation": (5, 10), "deployment_handover": (6, 14)})  # backtests; retraining and monitoring
    text: FrameEstimate = FrameEstimate(
        phases={"text_preparation": (6, 14)},                    # cleaning, language, labels review, tokenising
        base={"modelling": (8, 18)})                             # TF-IDF to fine-tuned embeddings
    recommender: FrameEstimate = FrameEstimate(
        phases={"interaction_data": (6, 12), "ranking_evaluation": (4, 10)},  # event logs; offline ranking, A/B
        base={"deployment_handover": (8, 16)})                   # candidate retrieval and serving
    tabular: FrameEstimate = FrameEstimate()


class Widening(_Strict):
    """Share added to every phase's high end: a leak found, or data under `small_data_rows` rows."""

    leak: float = Field(0.25, ge=0, le=2)
    small_data: float = Field(0.3, ge=0, le=2)
    small_data_rows: int = Field(100, ge=1)


class EstimateConfig(_Strict):
    base: dict[Phase, tuple[float, float]] = {
        "discovery": (4, 8), "data_preparation": (8, 18), "modelling": (6, 14), "evaluation": (3, 8),
        "deployment_handover": (4, 10),
    }
    drivers: Drivers = Drivers()
    frames: Frames = Frames()
    widening: Widening = Widening()
    large_catalogue_items: int = Field(10_000, ge=1)
    cold_start_share: float = Field(0.2, gt=0, le=1)
    rows_multipliers: list[Multiplier] = [Multiplier(at=100_000, factor=1.15), Multiplier(at=1_000_000, factor=1.35)]
    columns_multipliers: list[Multiplier] = [Multiplier(at=50, factor=1.1), Multiplier(at=200, factor=1.25)]
    size_phases: list[Phase] = ["data_preparation", "modelling", "deployment_handover"]
    weak_lift: float = Field(0.2, ge=0, le=1)
    round_to: float = Field(0.5, gt=0, le=8)
    hours_per_day: float | None = Field(None, gt=0, le=24)

    @field_validator("base", mode="before")
    @classmethod
    def _base(cls, v: Any) -> dict:
        if not isinstance(v, dict):
            raise ValueError("base maps every phase to [low, high]")
        return {k: _range(x) for k, x in v.items()}

    @model_validator(mode="after")
    def _all_phases(self) -> EstimateConfig:
        missing = [p for p in PHASES if p not in self.base]
        if missing:
            raise ValueError(f"base is missing phases: {', '.join(missing)}")
        return self


def validate_estimate_block(block: dict[str, Any] | None) -> EstimateConfig:
    """The `estimate:` block of skills/scoping.yaml as a checked config (None -> the defaults)."""
    if block is None:
        return EstimateConfig()
    if isinstance(block, EstimateConfig):  # already checked (the skill card's typed block)
        return block
    if not isinstance(block, dict):
        raise ValueError("the estimate block must be a mapping (base, drivers, ...)")
    data = dict(block)
    if "base" in data and isinstance(data["base"], dict):
        data["base"] = {**{p: v for p, v in EstimateConfig().base.items()}, **data["base"]}
    return EstimateConfig.model_validate(data)


# Estimating ----------------------------------------------------------------------------------


def estimate(findings: dict[str, Any], config: EstimateConfig) -> dict[str, Any]:
    """Hours by phase from the scope's findings (see `findings_from_report`)."""
    rows, cols = findings.get("rows", 0), findings.get("columns", 0)
    size_notes = []
    mult_rows = max([m.factor for m in config.rows_multipliers if rows >= m.at], default=1.0)
    mult_cols = max([m.factor for m in config.columns_multipliers if cols >= m.at], default=1.0)
    if mult_rows > 1:
        size_notes.append(f"{rows:,} rows (x{mult_rows:g})")
    if mult_cols > 1:
        size_notes.append(f"{cols:,} columns (x{mult_cols:g})")
    mult = mult_rows * mult_cols
    frame = getattr(config.frames, findings.get("frame") or "tabular", FrameEstimate())
    base = {**config.base, **frame.base}
    phases = {p: {"low": base[p][0], "high": base[p][1], "drivers": []} for p in PHASES}
    for p, (lo, hi) in frame.phases.items():
        phases[p] = {"low": lo, "high": hi, "drivers": [f"{findings.get('frame')} project"]}
    for p in PHASES:
        if p in frame.base:
            phases[p]["drivers"].append(f"{findings.get('frame')} project: base {_num(base[p][0])}-"
                                        f"{_num(base[p][1])} h")
    for p in config.size_phases:
        if mult > 1:
            phases[p]["low"] *= mult
            phases[p]["high"] *= mult
            phases[p]["drivers"].append("size: " + ", ".join(size_notes))
    for key, units, note in findings.get("drivers", []):
        driver: Driver = getattr(config.drivers, key)
        used = min(units, driver.max_units)
        if used <= 0:
            continue
        for p, (lo, hi) in driver.hours.items():
            phases[p]["low"] += lo * used
            phases[p]["high"] += hi * used
            phases[p]["drivers"].append(f"{note} (+{_num(lo * used)}-{_num(hi * used)} h)")
    for p, note in findings.get("notes", []):
        phases[p]["drivers"].append(note)
    widen, range_notes = _widening(findings, config.widening)
    out = []
    for p, v in phases.items():
        low, high = _round(v["low"], config.round_to), _round(v["high"] * (1 + widen), config.round_to)
        drivers = v["drivers"] or ["base effort for a clean single-table project"]
        out.append({"name": p, "hours_low": low, "hours_high": high, "drivers": drivers})
    result = {"phases": out, "hours_low": _round(sum(x["hours_low"] for x in out), config.round_to),
              "hours_high": _round(sum(x["hours_high"] for x in out), config.round_to)}
    if range_notes:
        result["range_notes"] = range_notes
    return result


def _widening(findings: dict[str, Any], w: Widening) -> tuple[float, list[str]]:
    share, notes = 0.0, []
    if findings.get("leaks", 0) and w.leak:
        share += w.leak
        notes.append(f"high end +{w.leak:.0%}: a leak was found, so the honest score and what the data means at "
                     "prediction time must be settled before the work can be sized tightly")
    rows = findings.get("rows", 0)
    if 0 < rows < w.small_data_rows and w.small_data:
        share += w.small_data
        notes.append(f"high end +{w.small_data:.0%}: only {rows:,} rows (under {w.small_data_rows:,}), so the "
                     "scores swing from fold to fold and more data may have to be found")
    return share, notes


def findings(report: dict[str, Any], *, lift: float | None, curve_rising: bool, leaks: int,
             kinds: dict[str, int], config: EstimateConfig, used: set[str] | None = None) -> dict[str, Any]:
    """Driver units from a report under construction (frame, warnings, validation, lift, learning curve).

    `used`: display names of the columns the project works with; a warning on any other column (one the
    tool dropped) adds no hours. File-level warnings (no column) always count."""
    codes: dict[str, int] = {}
    for w in report.get("warnings", []):
        if used is not None and w.get("column") is not None and w["column"] not in used:
            continue
        codes[w["code"]] = codes.get(w["code"], 0) + 1
    drivers: list[tuple[str, int, str]] = []

    def add(key: str, units: int, note: str) -> None:
        if units > 0:
            drivers.append((key, units, note))

    add("high_missing", codes.get("high_missing", 0), f"{codes.get('high_missing', 0)} mostly-missing column(s)")
    quality = sum(codes.get(c, 0) for c in QUALITY_CODES)
    add("quality_issue", quality, f"{quality} data-quality issue(s) to clean")
    add("leakage", leaks, f"{leaks} leakage suspect(s) to investigate")
    add("class_imbalance", codes.get("class_imbalance", 0), "class imbalance")
    add("multiclass", 1 if report.get("task") == "multiclass" else 0, "multiclass target")
    add("free_text", kinds.get("text", 0), f"{kinds.get('text', 0)} free-text column(s)")
    add("datetime", kinds.get("datetime", 0), f"{kinds.get('datetime', 0)} date/time column(s)")
    add("high_cardinality", codes.get("high_cardinality", 0),
        f"{codes.get('high_cardinality', 0)} high-cardinality column(s)")
    cv_kind = (report.get("cv") or {}).get("kind")
    by_id = cv_kind == "group_kfold" and (report.get("cv") or {}).get("column") is not None  # not copies of rows
    add("id_groups", 1 if by_id else 0, "repeated IDs (grouped validation)")
    add("time_ordered", 1 if cv_kind == "time_series" else 0, "time-ordered data (backtesting)")
    add("wide_data", codes.get("wide_data", 0), "wide data (more columns than rows)")
    add("small_sample", codes.get("small_sample", 0), "small sample")
    notes: list[tuple[str, str]] = []
    if lift is not None and lift < config.weak_lift:
        add("weak_signal", 1, f"weak lift over the dummy ({lift:.0%} of the possible gain)")
    elif lift is not None:
        notes.append(("modelling", f"lift over the dummy: {lift:.0%} of the possible gain (no extra hours)"))
    add("more_data_helps", 1 if curve_rising else 0, "learning curve still rising (more data helps)")
    frame = report.get("frame") or "tabular"
    details = report.get("frame_details") or {}
    if report.get("metric") == "pr_auc":
        add("rare_events", 1, f"rare positives ({details.get('base_rate', 0):.2%}): thresholds, costs, PR curves")
    if frame == "forecasting":
        series = int(details.get("n_series") or 1)
        add("many_series", math.ceil(math.log10(series)) if series > 1 else 0, f"{series:,} series to forecast")
        add("covariates", 1 if (report.get("features") or {}).get("used") else 0,
            "covariates to have in advance for the forecast period")
        add("high_frequency", 1 if details.get("frequency") == "hourly" else 0, "hourly data")
    if frame == "recommender":
        thin = max(details.get("users_under_3", 0), details.get("items_under_3", 0))
        add("cold_start", 1 if thin >= config.cold_start_share else 0, f"cold start ({thin:.0%} with under 3 ratings)")
        items = int(details.get("items") or 0)
        add("large_catalogue", 1 if items >= config.large_catalogue_items else 0, f"{items:,} items")
    return {"rows": report.get("rows", 0), "columns": report.get("columns", 0), "drivers": drivers, "notes": notes,
            "frame": frame, "leaks": leaks}


def lift_over_dummy(metric: str, best: float | None, dummy: float | None) -> float | None:
    """Share of the possible gain over the dummy that the best model achieved (0..1); see metrics.lift."""
    from bot.scoping.metrics import lift

    return lift(metric, best, dummy)


def quote(est: dict[str, Any], *, rate: float, unit: str, currency: str, hours_per_day: float) -> dict[str, Any]:
    """A quote range from the estimate; `unit` is hour or day (days = hours / hours_per_day)."""
    check_rate(rate, unit, currency)
    if unit == "hour":
        low, high = est["hours_low"] * rate, est["hours_high"] * rate
        units = {"hours_low": est["hours_low"], "hours_high": est["hours_high"]}
    else:
        days_low, days_high = est["hours_low"] / hours_per_day, est["hours_high"] / hours_per_day
        low, high = days_low * rate, days_high * rate
        units = {"days_low": round(days_low, 1), "days_high": round(days_high, 1), "hours_per_day": hours_per_day}
    return {"currency": currency.upper(), "unit": unit, "rate": rate, "low": round(low), "high": round(high), **units}


def check_rate(rate: float, unit: str, currency: str) -> None:
    if not isinstance(rate, (int, float)) or not math.isfinite(rate) or rate <= 0 or rate > 1_000_000:
        raise InputError("the rate must be a positive number.", hint="For example --rate 600 --unit day.")
    if unit not in ("hour", "day"):
        raise InputError("the unit must be hour or day.", hint="For example --unit day.")
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Za-z]{3}", currency):
        raise InputError("the currency must be a 3-letter code such as GBP, EUR or USD.", hint="For example --currency GBP.")


def _round(x: float, step: float) -> float:
    return round(round(x / step) * step, 2)


def _num(x: float) -> str:
    return f"{x:g}" if x == int(x) else f"{x:.1f}"
