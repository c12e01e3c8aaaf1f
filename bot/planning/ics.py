"""The plan's milestones as an iCalendar file (RFC 5545): one all-day event per milestone.

Events carry stable UIDs (the scope id, the milestone's name and date hashed), so importing a revised
plan updates the events instead of duplicating them. Text is escaped (backslash, semicolon, comma,
newline), lines are folded at 75 octets without splitting a UTF-8 character, and lines end in CRLF.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bot.rates.fmt import percent

PRODID = "-//mlbot//project plan//EN"


def escape(text: str) -> str:
    return (str(text).replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n"))


def fold(line: str) -> list[str]:
    """Split a content line into pieces of at most 75 octets; continuation lines start with a space."""
    out, current, size = [], "", 0
    for ch in line:
        n = len(ch.encode("utf-8"))
        limit = 75 if not out else 74  # the leading space of a continuation line counts
        if size + n > limit:
            out.append(current)
            current, size = "", 0
        current += ch
        size += n
    out.append(current)
    return [out[0]] + [" " + piece for piece in out[1:]]


def _uid(plan: dict[str, Any], m: dict[str, Any]) -> str:
    scope = (plan.get("scope") or {}).get("id") or "file"
    digest = hashlib.sha256(f"{scope}|{m['kind']}|{m['name']}|{m.get('phase')}".encode()).hexdigest()[:24]
    return f"{digest}@mlbot"


def _description(plan: dict[str, Any], m: dict[str, Any]) -> str:
    parts = [f"Deliverable: {m['deliverable']}."]
    shares = {p["name"]: p["share"] for p in plan["payments"]}
    for name in m.get("payments") or []:
        parts.append(f"Invoice: {name} ({percent(shares[name], 2)} of the fee).")
    sid = (plan.get("scope") or {}).get("id")
    parts.append(f"From the mlbot plan of scope {sid}." if sid else "From an mlbot plan.")
    return " ".join(parts)


def plan_ics(plan: dict[str, Any], *, stamp: datetime | None = None) -> str:
    """The calendar text (CRLF line ends)."""
    stamp = stamp or datetime.now(UTC)
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN", "METHOD:PUBLISH",
             "X-WR-CALNAME:" + escape("Project plan")]
    for m in plan["milestones"]:
        day = date.fromisoformat(m["date"])
        lines += ["BEGIN:VEVENT", f"UID:{_uid(plan, m)}", f"DTSTAMP:{stamp.astimezone(UTC):%Y%m%dT%H%M%SZ}",
                  f"DTSTART;VALUE=DATE:{day:%Y%m%d}", f"DTEND;VALUE=DATE:{day + timedelta(days=1):%Y%m%d}",
                  "SUMMARY:" + escape(m["name"]), "DESCRIPTION:" + escape(_description(plan, m)),
                  "TRANSP:TRANSPARENT", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "".join(piece + "\r\n" for line in lines for piece in fold(line))
