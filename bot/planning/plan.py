"""A dated project plan from a scope report: phases in working days, dependencies, a review milestone at
the end of each phase, a buffer sized from the estimate's range, payment milestones and assumptions.

Phases are read generically from `report["estimate"]["phases"]` (any names, in their order). A phase may
carry `depends_on` (a list of phase names); otherwise it depends on the phase before it. One person does
the work, so phases run one after another in dependency order. A phase lasts the low end of its estimate
(whole working days); the buffer at the end covers `buffer_share` of the gap between the high and the low
totals. Payments are the quote's milestones (same shares as `mlbot quote` with the same terms), each due on
the review date of the last phase it pays for; the deposit is due at the start. Transport-free, pure.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from bot.errors import InputError, LimitExceeded
from bot.planning.workdays import count_working_days, first_working_day, skip_working_days, span_end
from bot.textsafe import display_cell

MAX_PHASES = 40
MAX_WORKING_DAYS = 2600  # about ten years: a plan longer than that is a broken estimate
SCOPE_HINT = "Use the output of `mlbot scope FILE --json` (or a stored scope id)."
# What the review at the end of a phase accepts, for the phases of the default estimate; other phases
# (project frames name their own) get a generic line unless the estimate gives a `deliverable`.
DELIVERABLES = {
    "discovery": "agreed problem statement, success metric and confirmed data access",
    "data_preparation": "data-quality report and the prepared dataset",
    "modelling": "baseline and tuned models with their validation scores",
    "evaluation": "evaluation report against the success criteria",
    "deployment_handover": "deployed model or package, its documentation and a handover session",
}


def build_plan(report: dict[str, Any], *, start: date | None, today: date, hours_per_day: float,
               buffer_share: float, review_days: int, holidays: list[date], deposit: float, contingency: float,
               rate: float | None = None, unit: str = "day", currency: str | None = None) -> dict[str, Any]:
    """The plan JSON of `mlbot plan --json` (dates as ISO strings)."""
    from bot.rates.quote import build_quote

    if rate is not None and not currency:
        raise InputError("a rate needs its currency.", hint="For example --rate 600 --unit day --currency GBP.")
    priced = rate is not None
    # The quote validates the phases and computes the payment shares; without a rate, shares come from hours.
    quote = build_quote(report, rate=rate if priced else 1, unit=unit if priced else "hour",
                        currency=currency if priced else "XXX", contingency=contingency, deposit=deposit,
                        hours_per_day=hours_per_day)
    raw = report["estimate"]["phases"]
    if len(raw) > MAX_PHASES:
        raise LimitExceeded(f"the estimate has {len(raw)} phases; a plan takes at most {MAX_PHASES}.",
                            hint=SCOPE_HINT)
    phases = [{**p, "raw": r} for p, r in zip(quote["phases"], raw, strict=True)]
    notes: list[str] = []
    deps = _dependencies(phases)
    dropped = [p["name"] for p in phases if p["hours_high"] <= 0]
    if dropped:
        deps = _drop(deps, dropped)
        notes.append("No hours estimated, left out of the schedule: " + ", ".join(_label(p) for p in phases
                                                                                  if p["name"] in dropped) + ".")
    by_name = {p["name"]: p for p in phases if p["name"] not in dropped}
    order = _order([n for n in (p["name"] for p in phases) if n in by_name], deps)

    _check_length(list(by_name.values()), hours_per_day, buffer_share, review_days)
    holiday_set = set(holidays)
    requested = start or today
    first = first_working_day(requested, holiday_set)
    if start is not None and first != start:
        notes.append(f"{start.isoformat()} is not a working day: the plan starts on {first.isoformat()}.")
    scheduled = _schedule(order, by_name, deps, first, hours_per_day, review_days, holiday_set)
    buffer = _buffer(scheduled, first, hours_per_day, buffer_share, holiday_set)
    end = buffer["end"] or scheduled[-1]["end"]
    total_days = count_working_days(first, end, holiday_set)
    off_days = sorted(d for d in holiday_set if first <= d <= end)
    payments = _payments(quote["milestones"], scheduled, first, priced)
    milestones = _milestones(scheduled, buffer, first, payments)
    plan: dict[str, Any] = {
        "scope": quote["scope"],
        "start": first.isoformat(),
        "finish_planned": scheduled[-1]["end"].isoformat(),
        "end": end.isoformat(),
        "working_days": total_days,
        "hours_per_day": quote["hours_per_day"],
        "review_days": review_days,
        "phases": [_phase_json(p) for p in scheduled],
        "buffer": {**buffer, "start": _iso(buffer["start"]), "end": _iso(buffer["end"])},
        "milestones": milestones,
        "payments": payments,
        "money": _money(quote) if priced else None,
        "holidays": [d.isoformat() for d in off_days],
        "assumptions": _assumptions(first, quote, buffer, review_days, off_days) + quote["assumptions"],
        "notes": notes,
        "prepared": today.isoformat(),
    }
    return plan


# Dependencies --------------------------------------------------------------------------------------


def _label(p: dict[str, Any]) -> str:
    return display_cell(p["label"], 40)


def _dependencies(phases: list[dict[str, Any]]) -> dict[str, list[str]]:
    names = [p["name"] for p in phases]
    if len(set(names)) != len(names):
        raise InputError("the estimate names a phase twice; phase names must be unique.", hint=SCOPE_HINT)
    deps: dict[str, list[str]] = {}
    for i, p in enumerate(phases):
        given = p["raw"].get("depends_on") if isinstance(p["raw"], dict) else None
        if given is None:
            deps[p["name"]] = [names[i - 1]] if i else []
            continue
        if isinstance(given, str):
            given = [given]
        if not isinstance(given, list) or not all(isinstance(d, str) for d in given):
            raise InputError(f"depends_on of phase '{_label(p)}' must be a list of phase names.", hint=SCOPE_HINT)
        unknown = [d for d in given if d.strip() not in names or d.strip() == p["name"]]
        if unknown:
            raise InputError(f"phase '{_label(p)}' depends on an unknown phase '{display_cell(unknown[0], 40)}'.",
                             hint=f"Known phases: {', '.join(display_cell(n, 40) for n in names)}.")
        deps[p["name"]] = list(dict.fromkeys(d.strip() for d in given))
    return deps


def _drop(deps: dict[str, list[str]], dropped: list[str]) -> dict[str, list[str]]:
    """Remove phases from the graph; whoever depended on one now depends on what it depended on."""
    def resolve(name: str, seen: frozenset[str]) -> list[str]:
        if name not in dropped:
            return [name]
        if name in seen:
            return []
        return [x for d in deps[name] for x in resolve(d, seen | {name})]

    return {n: list(dict.fromkeys(x for d in ds for x in resolve(d, frozenset()))) for n, ds in deps.items()
            if n not in dropped}


def _order(names: list[str], deps: dict[str, list[str]]) -> list[str]:
    """Dependency order; among phases that are ready, the estimate's own order. A cycle is an error."""
    done: list[str] = []
    left = list(names)
    while left:
        ready = next((n for n in left if all(d in done for d in deps[n])), None)
        if ready is None:
            raise InputError("the phases' depends_on form a cycle: " + ", ".join(display_cell(n, 40) for n in left)
                             + ".", hint="Each phase may only depend on phases that can finish before it.")
        done.append(ready)
        left.remove(ready)
    return done


# Dates ---------------------------------------------------------------------------------------------


def _check_length(phases: list[dict[str, Any]], hpd: float, buffer_share: float, review_days: int) -> None:
    """Refuse a plan longer than MAX_WORKING_DAYS before any date is computed (dates end in year 9999)."""
    low = sum(p["hours_low"] for p in phases)
    high = sum(p["hours_high"] for p in phases)
    days = sum(_days(p["hours_low"], hpd) for p in phases) + review_days * len(phases) \
        + math.ceil(buffer_share * (high - low) / hpd)
    if days > MAX_WORKING_DAYS:
        raise LimitExceeded(f"the plan would run about {days:,} working days; at most {MAX_WORKING_DAYS:,} are "
                            "planned.", hint="Check the scope's estimate hours.")


def _days(hours: float, hours_per_day: float) -> int:
    return max(1, math.ceil(hours / hours_per_day - 1e-9))


def _schedule(order, by_name, deps, first: date, hpd: float, review_days: int, holidays) -> list[dict[str, Any]]:
    ends: dict[str, date] = {}
    out: list[dict[str, Any]] = []
    for name in order:
        p = by_name[name]
        earliest = first if not out else skip_working_days(out[-1]["end"], review_days, holidays)
        for d in deps[name]:
            earliest = max(earliest, skip_working_days(ends[d], review_days, holidays))
        begin = first_working_day(earliest, holidays)
        days = _days(p["hours_low"], hpd)
        end = span_end(begin, days, holidays)
        ends[name] = end
        raw = p["raw"] if isinstance(p["raw"], dict) else {}
        deliverable = raw.get("deliverable") if isinstance(raw.get("deliverable"), str) else None
        out.append({**p, "start": begin, "end": end, "days": days, "days_high": _days(p["hours_high"], hpd),
                    "depends_on": deps[name],
                    "deliverable": display_cell(deliverable, 120) if deliverable else DELIVERABLES.get(
                        name, f"the {_label(p).lower()} deliverables listed in the statement of work")})
    return out


def _buffer(scheduled, first: date, hpd: float, share: float, holidays) -> dict[str, Any]:
    spread = sum(p["hours_high"] for p in scheduled) - sum(p["hours_low"] for p in scheduled)
    days = math.ceil(share * spread / hpd - 1e-9) if spread > 0 and share > 0 else 0
    begin = skip_working_days(scheduled[-1]["end"], 0, holidays) if days else None
    return {"days": days, "share": share, "spread_hours": round(spread, 2), "start": begin,
            "end": span_end(begin, days, holidays) if begin else None}


def _payments(milestones, scheduled, first: date, priced: bool) -> list[dict[str, Any]]:
    ends = {p["name"]: p["end"] for p in scheduled}
    last = scheduled[-1]["end"]
    out = []
    for m in milestones:
        covered = [ends[n] for n in m.get("phases") or [] if n in ends]
        due = max(covered) if covered else (first if m["name"] == "Deposit" else last)
        row = {"name": m["name"], "deliverable": m["deliverable"], "share": m["share"], "due_date": due.isoformat(),
               "due": m["due"], "phases": [n for n in m.get("phases") or [] if n in ends]}
        if priced:
            row["amount_low"], row["amount_high"] = m["amount_low"], m["amount_high"]
        out.append(row)
    return out


def _milestones(scheduled, buffer, first: date, payments) -> list[dict[str, Any]]:
    due: dict[str, list[str]] = {}
    for pay in payments:
        due.setdefault(pay["due_date"], []).append(pay["name"])
    rows = [{"kind": "start", "name": "Kick-off", "date": first.isoformat(), "phase": None,
             "deliverable": "signed agreement, data access and the first working session"}]
    for p in scheduled:
        rows.append({"kind": "review", "name": f"Review: {_label(p)}", "date": p["end"].isoformat(),
                     "phase": p["name"], "deliverable": p["deliverable"]})
    if buffer["end"]:
        rows.append({"kind": "buffer_end", "name": "End of buffer (latest planned finish)",
                     "date": buffer["end"].isoformat(), "phase": None,
                     "deliverable": "any remaining deliverables, if the work ran to the high end of the estimate"})
    for r in rows:  # a payment is invoiced at the first milestone of its due date
        r["payments"] = due.pop(r["date"], [])
    return rows


# JSON ----------------------------------------------------------------------------------------------


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def _phase_json(p: dict[str, Any]) -> dict[str, Any]:
    return {"name": p["name"], "label": p["label"], "hours_low": p["hours_low"], "hours_high": p["hours_high"],
            "days": p["days"], "days_high": p["days_high"], "start": p["start"].isoformat(),
            "end": p["end"].isoformat(), "depends_on": p["depends_on"], "deliverable": p["deliverable"]}


def _money(quote: dict[str, Any]) -> dict[str, Any]:
    keys = ("currency", "unit", "rate", "subtotal_low", "subtotal_high", "contingency", "total_low", "total_high")
    return {k: quote[k] for k in keys}


def _assumptions(first: date, quote, buffer, review_days: int, holidays: list[date]) -> list[str]:
    off = (f"weekends and {', '.join(d.isoformat() for d in holidays)} are" if holidays else "weekends are")
    out = [f"Work starts on {first.isoformat()} and runs Monday to Friday, {quote['hours_per_day']:g} hours a day, "
           f"one person; {off} not working days. Phases run one after another in dependency order.",
           "Each phase is planned at the low end of its estimate; "
           + (f"the buffer of {buffer['days']} working day(s) at the end covers {buffer['share']:.0%} of the "
              f"{buffer['spread_hours']:g} hours between the low and the high estimate."
              if buffer["days"] else "the estimate has no range, so the plan has no buffer.")]
    if review_days:
        out.append(f"The client reviews each phase's deliverable within {review_days} working day(s), before the "
                   "next phase starts; a later review or late data moves every date after it.")
    else:
        out.append("The client reviews each phase's deliverable on its review date and the next phase starts the "
                   "next working day; a later review or late data moves every date after it.")
    return out
