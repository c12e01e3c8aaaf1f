"""`mlbot console`: a terminal front that speaks the Discord commands, one line at a time.

`/ask ...`, `/scope path.csv target=col`, `/rate region=uk`, `/ratecalc income=80000 currency=GBP`,
`/quote rate=600 unit=day currency=GBP`, `/plan start=2027-01-04 plot=plan.png ics=plan.ics`, `/forget`, `/kb list`, `/help`; a line without a slash is a
question (like a DM), and follow-ups share the session's conversation until `/new` starts another. Reads stdin, so a pipe can
drive it; at the end of input it exits 0. With `--json` every input line gives one JSON line out.
"""

from __future__ import annotations

import shlex
import sys
import uuid
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from bot.app import Core
from bot.errors import InputError, UsageError, UserError
from bot.logs import new_error_id
from bot.render import answer_text, help_text, ingest_text, kb_list_text
from bot.scoping.render import leader_text
from bot.terminal import printable, read_number, write_chart, write_output

PROMPT = "mlbot> "


class Console:
    def __init__(self, core: Core, *, user_id: str = "console", out: TextIO | None = None, json_mode: bool = False):
        self.core = core
        self.user_id = user_id
        self.out = out or sys.stdout
        self.json_mode = json_mode
        self.conversation = "console-" + uuid.uuid4().hex[:8]

    def handle(self, line: str) -> bool:
        """Run one line; False means quit."""
        line = line.strip()
        if not line:
            return True
        if line.lower() in ("/quit", "/exit", "quit", "exit"):
            return False
        try:
            payload, text = self._dispatch(line)
            self._emit(payload, text)
        except UserError as exc:
            self._emit({"error": exc.to_dict()}, f"error: {exc}")
        except Exception:  # keep serving: log it, show an id
            import logging

            error_id = new_error_id()
            logging.getLogger(__name__).error("console error id=%s", error_id, exc_info=True)
            self._emit({"error": {"code": "internal", "id": error_id, "message": "sorry, something went wrong"}},
                       f"sorry, something went wrong on our side (error id {error_id}).")
        return True

    def _emit(self, payload: dict[str, Any], text: str) -> None:
        if self.json_mode:
            import json

            self.out.write(json.dumps(payload, ensure_ascii=False, default=str) + "\n")
            self.out.flush()
        else:
            self._say(text)

    # Dispatch ---------------------------------------------------------------------------
    def _dispatch(self, line: str) -> tuple[dict[str, Any], str]:
        if not line.startswith("/"):
            return self._ask(line)
        name, _, rest = line[1:].partition(" ")
        name = name.lower()
        handler = getattr(self, f"_cmd_{name}", None)
        if handler is None:
            raise UsageError(f"unknown command /{name}.", hint="Type /help for the list.")
        return handler(rest.strip())

    def _cmd_help(self, rest: str):
        text = help_text() + "\n`/new`: start a new conversation (follow-ups no longer refer to earlier questions)"
        return {"help": text}, text

    def _cmd_ask(self, rest: str):
        if not rest:
            raise UsageError("ask what?", hint="Example: /ask how do I price a fixed-scope NLP project?")
        return self._ask(rest)

    def _ask(self, question: str):
        result = self.core.ask(question, user_id=self.user_id, conversation_id=self.conversation)
        return result, answer_text(result)

    def _cmd_scope(self, rest: str):
        from bot.scoping.render import scope_markdown

        args, opts = _parse(rest, {"target", "budget", "rate", "unit", "currency", "task", "cv", "public", "plot",
                                    "frame"})
        if len(args) != 1:
            raise UsageError("give one CSV path.", hint="Example: /scope data/clients.csv target=churned")
        result = self.core.scope(
            path=Path(args[0]).expanduser(), target=opts.get("target"), task=opts.get("task", "auto"),
            budget=_num(opts, "budget"), rate=_num(opts, "rate"), unit=opts.get("unit", "day"),
            currency=opts.get("currency", "GBP"), user_id=self.user_id,
            progress=self._progress, cv=opts.get("cv", "auto"), chart=bool(opts.get("plot")),
            frame=opts.get("frame", "auto"),
        )
        text = scope_markdown(result["report"]) + f"\n\nScope id: {result['scope_id']} (use it with /quote)."
        if opts.get("plot") and result.get("chart_png"):
            try:
                chart = write_chart(Path(opts["plot"]), result["chart_png"], result["scope_id"], option="plot=")
                text += f"\nChart written to {chart}."
            except InputError as exc:  # the report is still worth showing
                text += f"\nNote: {exc}"
        return result["report"], text

    def _progress(self, stage: str, info: dict[str, Any]) -> None:
        if self.json_mode:
            return
        if stage == "baselines" and "i" in info:
            self._say(f"... baselines {info['i']}/{info.get('n', '?')}: {info.get('model', '')}"
                      f"{leader_text(info.get('best'))}")
        elif stage not in ("done",):
            self._say(f"... {stage}")

    def _cmd_rate(self, rest: str):
        from bot.rates.render import rate_markdown

        _, opts = _parse(rest, {"region", "seniority", "specialty", "engagement"}, positional=False)
        result = self.core.rate(**opts)
        return result, rate_markdown(result)

    def _cmd_ratecalc(self, rest: str):
        from bot.rates.render import calc_markdown

        _, opts = _parse(rest, {"income", "currency", "overhead", "overhead_share", "tax", "billable_days",
                                "hours_per_day"}, positional=False)
        if "income" not in opts or "currency" not in opts:
            raise UsageError("income and currency are required.", hint="Example: /ratecalc income=80000 currency=GBP")
        kwargs: dict[str, Any] = {"currency": opts.pop("currency")}
        for key, value in opts.items():
            kwargs[key] = _num({key: value}, key)
        result = self.core.rate_calc(**kwargs)
        return result, calc_markdown(result)

    def _cmd_quote(self, rest: str):
        from bot.rates.render import quote_markdown

        _, opts = _parse(rest, {"scope", "rate", "unit", "currency", "contingency", "deposit"}, positional=False)
        missing = [k for k in ("rate", "unit", "currency") if k not in opts]
        if missing:
            raise UsageError(f"missing {', '.join(missing)}.", hint="Example: /quote rate=600 unit=day currency=GBP")
        result = self.core.quote(scope=opts.get("scope"), rate=_num(opts, "rate"), unit=opts["unit"],
                                 currency=opts["currency"], user_id=self.user_id,
                                 contingency=_num(opts, "contingency"), deposit=_num(opts, "deposit"))
        return {k: v for k, v in result.items() if k != "markdown"}, quote_markdown(result)

    def _cmd_new(self, rest: str):
        """Start a new conversation: later questions no longer follow up on earlier ones."""
        self.conversation = "console-" + uuid.uuid4().hex[:8]
        return {"conversation_id": self.conversation}, "New conversation: follow-ups start from here."

    def _cmd_plan(self, rest: str):
        _, opts = _parse(rest, {"scope", "start", "rate", "unit", "currency", "plot", "ics"}, positional=False)
        rate = _num(opts, "rate")
        if rate is not None and not opts.get("currency"):
            raise UsageError("rate needs currency.", hint="Example: /plan rate=600 unit=day currency=GBP")
        start = None
        if opts.get("start"):
            try:
                start = date.fromisoformat(opts["start"])
            except ValueError:
                raise InputError(f"start must be a date as YYYY-MM-DD (got '{opts['start'][:20]}').") from None
        result = self.core.plan(scope=opts.get("scope"), start=start, rate=rate, unit=opts.get("unit", "day"),
                                currency=opts.get("currency"), user_id=self.user_id, chart=bool(opts.get("plot")),
                                ics=bool(opts.get("ics")))
        text = result["markdown"]
        for key, data in (("plot", result["chart_png"]), ("ics", result["ics"])):
            if opts.get(key):
                text += f"\nWritten to {write_output(Path(opts[key]), data, option=key + '=')}."
        return result["plan"], text

    def _cmd_forget(self, rest: str):
        counts = self.core.forget(self.user_id)
        return {"deleted": counts}, "Deleted: " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items()) + "."

    def _cmd_kb(self, rest: str):
        sub, _, arg = rest.partition(" ")
        sub = sub.lower()
        if sub == "list":
            result = self.core.kb_list()
            return result, kb_list_text(result)
        if sub == "add":
            paths = [Path(p).expanduser() for p in shlex.split(arg)]
            if not paths:
                raise UsageError("give a guide file or folder.", hint="Example: /kb add my-guides/")
            result = self.core.ingest(paths)
            return result, ingest_text(result)
        if sub == "remove":
            result = self.core.kb_remove(arg.strip())
            return result, f"Removed {result['source']} ({result['chunks']} chunks)."
        if sub == "reindex":
            result = self.core.kb_reindex()
            return result, ingest_text(result)
        raise UsageError("use /kb list, /kb add PATH, /kb remove SOURCE or /kb reindex.")

    def _say(self, text: str) -> None:
        self.out.write(printable(text.rstrip()) + "\n")
        self.out.flush()


def _parse(rest: str, keys: set[str], *, positional: bool = True) -> tuple[list[str], dict[str, str]]:
    try:
        tokens = shlex.split(rest)
    except ValueError as exc:
        raise UsageError(f"could not read the options ({exc}).", hint="Check the quotes.") from None
    args, opts = [], {}
    for tok in tokens:
        key, eq, value = tok.partition("=")
        if eq:
            key = key.strip().lower().replace("-", "_")
            if key not in keys:
                raise UsageError(f"unknown option '{key}'.", hint=f"Known: {', '.join(sorted(keys))}.")
            opts[key] = value
        elif positional:
            args.append(tok)
        else:
            raise UsageError(f"options are key=value (got '{tok}').", hint=f"Known: {', '.join(sorted(keys))}.")
    return args, opts


def _num(opts: dict[str, str], key: str) -> float | None:
    if key not in opts or opts[key] == "":
        return None
    return read_number(opts[key], key)


def run_console(core: Core, *, user_id: str = "console", stdin: TextIO | None = None,
                out: TextIO | None = None, json_mode: bool = False) -> int:
    stdin = stdin or sys.stdin
    console = Console(core, user_id=user_id, out=out, json_mode=json_mode)
    interactive = stdin.isatty() and not json_mode
    if interactive:
        console._say("mlbot console: the Discord commands offline. /help for the list, /quit to leave.")
    while True:
        if interactive:
            console.out.write(PROMPT)
            console.out.flush()
        line = stdin.readline()
        if not line:
            break
        if not console.handle(line):
            break
    return 0
