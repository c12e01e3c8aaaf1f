"""The plan as markdown: the private document (dates, payments with amounts when priced, assumptions) and
the version for a public channel (phases, dates and payment shares; no rate, amounts, target or columns)."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.rates.fmt import money, percent
from bot.rates.render import table
from bot.textsafe import display_cell


def day(iso: str) -> str:
    """'2026-12-07' -> 'Mon 7 Dec 2026'."""
    d = date.fromisoformat(iso)
    return f"{d:%a} {d.day} {d:%b %Y}"


def _days(p: dict[str, Any]) -> str:
    return str(p["days"]) if p["days"] == p["days_high"] else f"{p['days']} (up to {p['days_high']})"


def _headline(plan: dict[str, Any]) -> str:
    buffer = plan["buffer"]
    line = (f"Starts **{day(plan['start'])}**, planned finish **{day(plan['finish_planned'])}**")
    if buffer["days"]:
        line += f", latest finish with the {buffer['days']}-day buffer **{day(plan['end'])}**"
    return line + f" ({plan['working_days']} working days)."


def _phase_rows(plan: dict[str, Any]) -> list[list[Any]]:
    labels = {p["name"]: display_cell(p["label"], 40) for p in plan["phases"]}
    rows = [[labels[p["name"]], day(p["start"]), day(p["end"]), _days(p),
             ", ".join(labels.get(d, display_cell(d, 40)) for d in p["depends_on"]) or "-"] for p in plan["phases"]]
    if plan["buffer"]["days"]:
        b = plan["buffer"]
        rows.append(["Buffer", day(b["start"]), day(b["end"]), str(b["days"]), "all phases"])
    return rows


def plan_markdown(plan: dict[str, Any]) -> str:
    scope = plan.get("scope") or {}
    out = ["# Project plan", ""]
    what = ", ".join(x for x in (scope.get("task"), f"predicting `{scope['target']}`" if scope.get("target") else None)
                     if x)
    if scope.get("id") or what:
        out.append(f"From scope {scope.get('id') or '(file)'}" + (f": {what}." if what else "."))
    out += [_headline(plan), ""]
    out += ["## Phases", "", table(["Phase", "Starts", "Ends", "Working days", "Depends on"], _phase_rows(plan),
                                   right=(3,)), ""]
    out += ["## Milestones", "", table(["Date", "Milestone", "Deliverable"],
                                       [[day(m["date"]), display_cell(m["name"], 60), m["deliverable"]]
                                        for m in plan["milestones"]]), ""]
    out += ["## Payments", "", _payments_table(plan), ""]
    if plan.get("notes"):
        out += ["## Notes", ""] + [f"- {n}" for n in plan["notes"]] + [""]
    out += ["## Assumptions", ""] + [f"- {a}" for a in plan["assumptions"]]
    out += ["", f"Prepared {plan['prepared']} by mlbot. Dates skip weekends"
            + (" and holidays" if plan.get("holidays") else "") + "; working days are Monday to Friday."]
    return "\n".join(out)


def _payments_table(plan: dict[str, Any]) -> str:
    m = plan.get("money")
    headers = ["Due", "Payment", "Share", "For"]
    if m:
        headers.insert(3, f"Amount ({m['currency']})")
    rows = []
    for p in plan["payments"]:
        row = [day(p["due_date"]), p["name"], percent(p["share"], 2), p["deliverable"]]
        if m:
            low, high = money(p["amount_low"], m["currency"]), money(p["amount_high"], m["currency"])
            row.insert(3, low if low == high else f"{low} to {high}")
        rows.append(row)
    text = table(headers, rows, right=(2, 3) if m else (2,))
    if m:
        text += (f"\n\nTotal {money(m['total_low'], m['currency'])} to {money(m['total_high'], m['currency'])}, "
                 f"contingency of {percent(m['contingency']['share'], 2)} included (rate "
                 f"{money(m['rate'], m['currency'])} per {m['unit']}).")
    else:
        text += "\n\nShares of the fee; add `--rate N --unit day --currency C` for amounts."
    return text


def plan_share_markdown(plan: dict[str, Any]) -> str:
    """For a public channel: phases, dates and payment shares; no rate, amounts, target or column names."""
    out = [f"**Project plan**: {len(plan['phases'])} phases, {plan['working_days']} working days from "
           f"{day(plan['start'])} to {day(plan['end'])}"
           + (f" ({plan['buffer']['days']}-day buffer included)" if plan["buffer"]["days"] else "")]
    out += [f"- {display_cell(p['label'], 40)}: {day(p['start'])} to {day(p['end'])}, review on {day(p['end'])}"
            for p in plan["phases"]]
    out.append("**Payment milestones**")
    out += [f"- {p['name']}: {percent(p['share'], 2)}, due {day(p['due_date'])}" for p in plan["payments"]]
    return "\n".join(out)
