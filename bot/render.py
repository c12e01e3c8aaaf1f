"""Transport-free text rendering of core results (markdown that reads well in a terminal and in Discord).

Feature packages render their own results (`bot.scoping.render`, `bot.rates.render`); this module
holds the knowledge-base ones and the help text shared by the console and Discord.
"""

from __future__ import annotations

from pathlib import PurePath, PureWindowsPath
from typing import Any

from bot.textsafe import display_cell, link_text, plain_url

HELP_COMMANDS = [
    ("/ask question", "a cited answer from the guides on rates, IP and contracts, ML methodology, scoping"),
    ("/scope file target=COL [budget=S] [rate=N unit=day currency=GBP]",
     "scope a CSV: data quality, baselines, learning curve, effort and quote range (private)"),
    ("/rate [region=uk] [seniority=senior] [specialty=llm] [engagement=contract]",
     "market rate ranges with sources and the factors behind them (private)"),
    ("/ratecalc income=80000 currency=GBP [overhead=12000] [tax=0.3] [billable_days=180]",
     "day and hour rate from a target income, every step shown (private)"),
    ("/quote [scope=ID] rate=600 unit=day currency=GBP", "a quote built from your latest scope (private)"),
    ("/plan [scope=ID] [start=YYYY-MM-DD] [rate=N unit=day currency=GBP]",
     "a dated project plan from your latest scope: phases, reviews, buffer, payments, Gantt chart and .ics (private)"),
    ("/forget", "delete your stored conversations, scope reports and feedback"),
    ("/kb list | /kb add | /kb remove | /kb reindex", "knowledge base (changes: bot owners only)"),
    ("/help", "this list"),
]

DROPPED_SHOWN = 20  # dropped sentences listed in an ingest report

WHAT_I_DO = ("I answer questions on freelance ML rates, IP and contracts, ML methodology, project scoping and "
             "planning, and finding clients and building a portfolio, from a set of sourced guides; I scope a CSV "
             "before you quote, plan the project, and give private rate advice.")


def help_text(prefix: str = "/") -> str:
    lines = [WHAT_I_DO, ""]
    for cmd, what in HELP_COMMANDS:
        lines.append(f"`{prefix}{cmd[1:]}`: {what}")
    lines.append("")
    lines.append("Answers come from the guides and cite them; I say so when the guides do not cover a question. "
                 "Nothing here is legal, tax or financial advice.")
    return "\n".join(lines)


def sources_lines(sources: list[dict[str, Any]], limit: int = 5) -> list[str]:
    """"[n] Title > Section (path) <url>": display-safe text (no markup, no masked link), the guide's path
    relative to the knowledge base (never a server path), and its URL only when it is one plain address."""
    lines = []
    for i, s in enumerate(sources[:limit], 1):
        where = display_cell(link_text(str(s.get("section") or s.get("title") or "")), 150)
        url = plain_url(s.get("url"))
        link = f" <{url}>" if url else ""
        lines.append(f"[{i}] {where} ({shown_path(s)}){link}")
    return lines


def shown_path(source: dict[str, Any]) -> str:
    """A guide's path as answers show it: the index's source key when it is relative to the config
    folder (knowledge/rates/uk.md), else only the file name: never a server path."""
    path = str(source.get("source") or "")
    if PurePath(path).is_absolute() or PureWindowsPath(path).is_absolute() or path.startswith(".."):
        path = PurePath(path.replace("\\", "/")).name
    return display_cell(path, 120)


def answer_text(result: dict[str, Any], *, show_conversation: bool = False) -> str:
    parts = [result["answer"].rstrip()]
    for note in result.get("notes", []):
        parts.append(f"_{note}_")
    if result.get("sources") and not result.get("declined"):
        parts.append("Sources:\n" + "\n".join(sources_lines(result["sources"])))
    elif result.get("sources"):
        parts.append("Closest passages found (not enough to answer):\n" + "\n".join(sources_lines(result["sources"], 3)))
    if show_conversation and result.get("conversation_id"):
        parts.append(f"(conversation {result['conversation_id']}: pass --conversation to ask a follow-up)")
    return "\n\n".join(parts)


def ingest_text(result: dict[str, Any]) -> str:
    lines = [
        f"Guides: {result['added']} added, {result['updated']} updated, {result['unchanged']} unchanged"
        + (f", {len(result['removed'])} removed" if result.get("removed") else "")
        + f"; {result['chunks_added']} chunks embedded, {result['chunks_total']} in the index "
        f"({result['model']}, {result['seconds']:.1f} s).",
    ]
    if result.get("ignored"):
        lines.append(f"Ignored {result['ignored']} file(s) of other types (e.g. rate-card YAML).")
    for item in result.get("failed", []):
        lines.append(f"Not ingested: {item['path']}: {item['reason']}")
    dropped = result.get("dropped", [])
    if dropped:
        lines.append(f"Not quoted ({len(dropped)} sentence(s) that are not advice, left out of the index):")
    for item in dropped[:DROPPED_SHOWN]:
        lines.append(f"- {display_cell(item['path'], 80)} › {display_cell(item['section'], 80)}: "
                     f"“{display_cell(item['text'], 160)}” ({item['reason']})")
    if len(dropped) > DROPPED_SHOWN:
        lines.append(f"- and {len(dropped) - DROPPED_SHOWN} more (see --json for all).")
    return "\n".join(lines)


def kb_list_text(result: dict[str, Any]) -> str:
    lines = [f"{len(result['guides'])} guides, {result['chunks_total']} chunks, embedding model {result['model']}."]
    for g in result["guides"]:
        flag = "" if g.get("complete", True) else " (incomplete: run ingest again)"
        lines.append(f"- {display_cell(g['title'], 80)}: {g['chunks']} chunks, {g['source']}{flag}")
    return "\n".join(lines)
