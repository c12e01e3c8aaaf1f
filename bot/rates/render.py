"""Markdown for the fronts, transport-free: rate advice, the calculator and quotes.

Messages (`rate_markdown`, `calc_markdown`, the `*_share_*` versions) use lists, not tables, because Discord
messages do not render tables. The quote document (`quote_document`) is a file to attach: aligned tables that
read well as plain text, every cell passed through `spreadsheet_safe` and with pipes escaped.
Share versions are fit for a public channel: market figures only, or a plan without rate or prices.
"""

from __future__ import annotations

from typing import Any

from bot.rates.fmt import money, money_range, percent
from bot.rates.fmt import money as _money
from bot.textsafe import display_cell, spreadsheet_safe

MAX_CONTEXT = 3
MESSAGE_BUDGET = 1900  # Discord messages hold 2,000 characters; fronts page anything longer


def _cell(value: Any) -> str:
    text = " ".join(str(value).split())
    return spreadsheet_safe(text.replace("|", "\\|"))


def table(headers: list[str], rows: list[list[Any]], right: tuple[int, ...] = ()) -> str:
    """An aligned markdown table; every cell formula-safe and pipe-safe."""
    cells = [[_cell(h) for h in headers]] + [[_cell(c) for c in row] for row in rows]
    widths = [max(3, *(len(r[i]) for r in cells)) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        return "| " + " | ".join(c.rjust(w) if i in right else c.ljust(w)
                                 for i, (c, w) in enumerate(zip(row, widths, strict=True))) + " |"

    sep = "| " + " | ".join("-" * (w - 1) + ":" if i in right else "-" * w for i, w in enumerate(widths)) + " |"
    return "\n".join([line(cells[0]), sep, *(line(r) for r in cells[1:])])


def _url(url: str) -> str:
    return f"<{url}>"


def _days(low: float, high: float) -> str:
    return f"{low:g}" if low == high else f"{low:g}–{high:g}"


# Rate advice -----------------------------------------------------------------------------------


def _headline(r: dict[str, Any]) -> str:
    level = r["seniority"]
    extra = [x for x in (r.get("specialty"), r.get("engagement")) if x not in (None, "general", "contract")]
    tail = f" ({', '.join(extra)})" if extra else ""
    return f"{level.capitalize()} ML work, {r['region_name']}{tail}"


def _range_line(r: dict[str, Any]) -> str:
    if r.get("evidence") == "nearest":
        return "**No sourced figure** for this choice."
    return f"**{money_range(r['low'], r['typical'], r['high'], r['currency'], r['unit'])}**"


def _nearest_line(r: dict[str, Any]) -> str | None:
    n = r.get("nearest")
    if not n:
        return None
    level = "all levels" if n["seniority"] == "all" else n["seniority"]
    return (f"Nearest sourced figure ({level}, {n['region_name']}, {n['strength']}): "
            f"{money_range(n['low'], n['typical'], n['high'], n['currency'], n['unit'])}, {n['source']['title']}, "
            "shown for reference only.")


def _sources_lines(r: dict[str, Any], *, context: bool) -> list[str]:
    lines = []
    for s in r.get("sources", []):
        if s.get("used_for") == "context" and not context:
            continue
        lines.append(f"- [{s['strength']}] {s['title']} ({s['date']}) {_url(s['url'])}")
    return lines


def rate_markdown(result: dict[str, Any]) -> str:
    """Private rate advice: range, factors, warnings, sources and context."""
    r = result
    out = [f"**{_headline(r)}**", _range_line(r)]
    if r.get("evidence") == "all_levels":
        out.append("_All levels: no figure for this level alone._")
    nearest = _nearest_line(r)
    if nearest:
        out.append(nearest)
    for c in r.get("conversions") or []:
        out.append(f"≈ {money_range(c['low'], c['typical'], c['high'], c['currency'], r['unit'])} ({c['note']})")
    if r.get("factors"):
        out += ["", "**What moved the range**"]
        for f in r["factors"]:
            out.append(f"- {f['name'].capitalize()}: {f['effect']}. {f['why']}")
    warnings = [w for w in r.get("warnings", []) if not (nearest and w["code"] == "no_evidence")]
    if warnings:
        out += ["", "**Warnings**"]
        out += [f"- {w['message']}" for w in warnings]
    out += ["", "**Sources**", *_sources_lines(r, context=False)]
    tail = ["", f"_{r.get('note', '')}_ {r.get('currency_note', '')}".rstrip()]
    context = ["", "**Context**"] + [f"- {c['text']} ({c['source']['title']}, {c['source']['date']}, {c['strength']})"
                                     for c in r.get("context", [])[:MAX_CONTEXT]]
    while len(context) > 2 and len("\n".join(out + context + tail)) > MESSAGE_BUDGET:
        context.pop()  # context is secondary: keep one Discord message where it fits
    return "\n".join(out + (context if len(context) > 2 else []) + tail)


def rate_share_markdown(result: dict[str, Any]) -> str:
    """Market figures fit for a public channel: nothing about the person who asked."""
    r = result
    out = [f"**Market figures: {_headline(r)}**", _range_line(r)]
    nearest = _nearest_line(r)
    if nearest:
        out.append(nearest)
    moved = [f for f in r.get("factors", []) if f["effect"] not in ("none",)]
    if moved:
        out += [f"- {f['name'].capitalize()}: {f['effect']}" for f in moved]
    thin = sorted({w["code"] for w in r.get("warnings", []) if w["code"] in
                   ("weak_evidence", "old_evidence", "undated_evidence", "no_evidence", "no_range")})
    if thin:
        out.append("_Thin evidence: " + ", ".join(c.replace("_", " ") for c in thin) + "._")
    out += ["**Sources**", *_sources_lines(r, context=False)]
    out.append("_Advertised and surveyed figures, not advice._")
    return "\n".join(out)


# Calculator ------------------------------------------------------------------------------------


def calc_markdown(result: dict[str, Any]) -> str:
    r, cur = result, result["currency"]
    a = r["assumptions"]
    places = r.get("minor_unit", 2)
    out = [f"**Rate from a target income** ({cur})",
           f"Day rate **{money(r['day_rate'], cur, places=places)}** · hour rate **{money(r['hour_rate'], cur, places=places)}**",
           "", "**Steps**"]
    for i, s in enumerate(r["steps"], 1):
        out.append(f"{i}. {s['label']}: {s['formula']} = **{money(s['value'], cur, cents=True)}**")
    overhead = (f"{percent(a['overhead_share'], 1)} of income ({money(a['overhead'], cur)})"
                if a.get("overhead_share") is not None else money(a["overhead"], cur))
    out += ["", f"**Assumptions**: {a['billable_days']:g} billable days, {a['hours_per_day']:g} hours a day "
            f"({a['billable_hours']:,g} billable hours), tax and charges {percent(a['tax'], 1)} of revenue, "
            f"overhead {overhead}."]
    out += ["", *[f"_{n}_" for n in r.get("notes", [])]]
    return "\n".join(out)


# Quotes ----------------------------------------------------------------------------------------


def quote_document(q: dict[str, Any]) -> str:
    """The quote as a markdown file to attach (aligned tables, formula-safe cells)."""
    cur, unit = q["currency"], q["unit"]
    values = [q["total_low"], q["total_high"], q["rate"], *(p[k] for p in q["phases"] for k in ("price_low", "price_high")),
              *(m[k] for m in q["milestones"] for k in ("amount_low", "amount_high"))]
    cents = any(not float(v).is_integer() for v in values)

    def money(x: float, currency: str) -> str:  # one money format for the whole document
        return _money(x, currency, cents=cents)

    scope = q.get("scope") or {}
    what = f"{scope['task']} model" if scope.get("task") else "machine-learning project"
    title = f"# Quote: {what}" + (f" for '{scope['target']}'" if scope.get("target") else "")
    ref = f" from scope {scope['id']}" if scope.get("id") else ""
    per = "an hour" if unit == "hour" else "a day"
    out = [title, "", f"Prepared {q['prepared']}{ref}. Rate: {money(q['rate'], cur)} {per} "
                      f"({q['hours_per_day']:g}-hour days). Prices in {cur}."]
    rows = []
    for p in q["phases"]:
        row = [p["label"], _days(p["days_low"], p["days_high"])]
        if unit == "hour":
            row.append(_days(p["hours_low"], p["hours_high"]))
        row += [money(p["price_low"], cur), money(p["price_high"], cur), "; ".join(p["drivers"][:3]) or "—"]
        rows.append(row)
    blank = ["", ""] if unit == "hour" else [""]
    hours_low = sum(p["hours_low"] for p in q["phases"])
    hours_high = sum(p["hours_high"] for p in q["phases"])
    if unit == "day":  # the billed days are the rounded phase days
        sub_days = [_days(round(sum(p["days_low"] for p in q["phases"]), 1),
                          round(sum(p["days_high"] for p in q["phases"]), 1))]
    else:
        hpd = q["hours_per_day"]
        sub_days = [_days(round(hours_low / hpd, 1), round(hours_high / hpd, 1)), _days(hours_low, hours_high)]
    rows.append(["Subtotal", *sub_days, money(q["subtotal_low"], cur), money(q["subtotal_high"], cur), ""])
    c = q["contingency"]
    rows.append([f"Contingency ({percent(c['share'], 1)})", *blank, money(c["low"], cur), money(c["high"], cur),
                 "risk found in the scope"])
    rows.append(["Total", *blank, money(q["total_low"], cur), money(q["total_high"], cur), ""])
    headers = ["Phase", "Days"] + (["Hours"] if unit == "hour" else []) + ["Price (low)", "Price (high)",
                                                                          "What drives it"]
    n = len(headers)
    out += ["", "## Phases and prices", "", table(headers, rows, right=tuple(range(1, n - 1)))]

    mrows = [[m["name"], m["due"], percent(m["share"], 2), money(m["amount_low"], cur), money(m["amount_high"], cur)]
             for m in q["milestones"]]
    out += ["", "## Payment milestones", "",
            "Payment is tied to deliverables, not dates; each invoice is payable within the term the contract states.",
            "", table(["Milestone", "Due", "Share", "Amount (low)", "Amount (high)"], mrows, right=(2, 3, 4))]
    out += ["", "## Success criteria", "", *[f"- {s}" for s in q["success_criteria"]]]
    out += ["", "## Assumptions", "", *[f"- {s}" for s in q["assumptions"]]]
    out += ["", "## Exclusions", "", *[f"- {s}" for s in q["exclusions"]]]
    ip = q["ip_option"]
    out += ["", "## Intellectual property", ""]
    for o in ip["options"]:
        lead = "Proposed" if o["name"] == ip["recommended"] else "Alternative"
        out.append(f"- {lead}: **{o['label']}.** {o['text']}")
    out.append(f"- Assets to name in the contract: {', '.join(ip['assets'])}.")
    out += ["", f"_{ip['note']}_ See the guides: {', '.join(ip['guides'])}."]
    out += ["", "## Reading the range", "",
            "The low and high totals bracket the work found in the scope. Quote a fixed price from within the "
            "range (nearer the high total when the scope is uncertain), or bill time and materials with the high "
            "total as a cap."]
    return "\n".join(out) + "\n"


def quote_markdown(result: dict[str, Any]) -> str:
    return result.get("markdown") or quote_document(result)


def quote_share_markdown(result: dict[str, Any]) -> str:
    """The plan for a public channel: phases, days and milestone shares; no rate, no prices, no column names."""
    q = result
    low = round(sum(p["days_low"] for p in q["phases"]), 1)
    high = round(sum(p["days_high"] for p in q["phases"]), 1)
    out = [f"**Project plan**: {len(q['phases'])} phases, {_days(low, high)} days before contingency"]
    out += [f"- {display_cell(p['label'], 40)}: {_days(p['days_low'], p['days_high'])} days" for p in q["phases"]]
    out.append("**Payment milestones**")
    out += [f"- {m['name']}: {percent(m['share'], 2)}, {m['due']}" for m in q["milestones"]]
    return "\n".join(out)
