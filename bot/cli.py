"""`mlbot`: thin commands over the core. Parse, call, print; `--json` everywhere.

With `--json`, stdout carries exactly one JSON document; logs and progress go to stderr.
A `UserError` exits 2 with `error: ...` (or `{"error": {...}}`); anything else exits 1 with an
apology and an error id, the traceback going to the log file only.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import date
from pathlib import Path
from typing import Any

from bot.errors import InputError, UsageError, UserError

log = logging.getLogger("bot.cli")

COMMANDS = [
    ("ask", "Answer a question from the guides, with citations."),
    ("scope", "Scope a CSV: data quality, baselines, learning curve, effort and quote range."),
    ("rate", "Private rate advice: ranges with sources and factors (`rate calc` for the calculator)."),
    ("quote", "Build a quote from a stored scope (by id) or a scope JSON file."),
    ("plan", "A dated project plan from a scope: phases, reviews, buffer, payments; Gantt PNG and .ics."),
    ("ingest", "Add guides (.md .rst .txt .html .pdf, files or folders) to the knowledge index."),
    ("kb", "Knowledge base: list guides, remove a guide, rebuild the index."),
    ("eval", "Evaluate retrieval and answers on the question sets; summarise feedback."),
    ("console", "Interactive terminal front speaking the Discord commands (/ask, /scope, ...)."),
    ("run", "Start the Discord bot (needs DISCORD_TOKEN), else point to the console."),
    ("worker", "Run a scope worker for scope.engine: celery (Celery through Redis; see README Scaling out)."),
    ("store", "The shared state database: schema version, copy into another database (e.g. PostgreSQL)."),
]


class _Parser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of printing and exiting."""

    def error(self, message: str):  # noqa: D401
        raise UsageError(f"{message}.", hint=f"See `{self.prog} --help`.")


def _common(json_flag: bool = True) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    if json_flag:
        p.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    p.add_argument("--config", default=argparse.SUPPRESS, help="config file (default: MLBOT_CONFIG or config.yaml)")
    p.add_argument("--data-dir", dest="data_dir", default=argparse.SUPPRESS,
                   help="where the index and state live (default: MLBOT_DATA_DIR or ./data)")
    p.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="debug logs on stderr")
    return p


def _number(low: float, high: float | None, what: str):
    """An argparse type for a number in (low, high) with a message saying what is allowed."""
    def parse(v: str) -> float:
        from bot.terminal import read_number

        try:
            x = read_number(v, "the value")
        except InputError:
            raise argparse.ArgumentTypeError(f"'{v}' is not a number") from None
        if not (x > low if high is None else low <= x < high):
            raise argparse.ArgumentTypeError(f"'{v}' must be {what}")
        return x

    return parse


def _iso_date(v: str) -> date:
    try:
        return date.fromisoformat(v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{v}' is not a date as YYYY-MM-DD") from None


_positive = _number(0, None, "greater than 0")
_share = _number(0, 1, "a share between 0 and 1 (e.g. 0.15)")


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = _Parser(prog="mlbot", description="An assistant for ML freelancers: cited answers on rates, IP and "
                     "methodology; CSV scoping; private rate advice and quotes.", parents=[_common(json_flag=False)])
    parser.set_defaults(config=None, data_dir=None, verbose=False, json=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    helps = dict(COMMANDS)

    p = sub.add_parser("ask", parents=[common], help=helps["ask"], description=helps["ask"])
    p.add_argument("question", nargs="+", help="the question (quote it or not)")
    p.add_argument("--skill", help="answer with this skill (default: routed by the question)")
    p.add_argument("--conversation", help="conversation id for follow-up questions")
    p.add_argument("--private", action="store_true", help="treat as a private conversation (expires after an hour)")
    p.add_argument("--user", default="local", help=argparse.SUPPRESS)
    p.set_defaults(handler=cmd_ask)

    p = sub.add_parser("scope", parents=[common], help=helps["scope"], description=helps["scope"])
    p.add_argument("file", help="a .csv or .csv.gz file")
    p.add_argument("--target", help="the column to predict (default: inferred)")
    p.add_argument("--task", choices=["auto", "binary", "multiclass", "regression"], default="auto")
    p.add_argument("--cv", choices=["auto", "kfold", "time", "group"], default="auto",
                   help="validation: auto (time-ordered or grouped when the data says so, else shuffled k-fold) "
                        "or force one")
    p.add_argument("--frame", choices=["auto", "tabular", "forecasting", "text", "recommender"], default="auto",
                   help="project frame: auto (detected from the data) or force one")
    p.add_argument("--budget", type=_positive, help="seconds for baselines (default from config)")
    p.add_argument("--rate", type=_positive, help="your rate, to add a quote range")
    p.add_argument("--unit", choices=["hour", "day"], default="day")
    p.add_argument("--currency", default="GBP")
    p.add_argument("--plot", type=Path, help="write the PNG chart here")
    p.add_argument("--user", default="local", help=argparse.SUPPRESS)
    p.set_defaults(handler=cmd_scope)

    p = sub.add_parser("rate", parents=[common], help=helps["rate"], description=helps["rate"])
    p.add_argument("--region", help="uk, us, de, fr, ... (default from config)")
    p.add_argument("--seniority", help="junior, mid, senior, lead")
    p.add_argument("--specialty", help="nlp, cv, timeseries, mlops, llm, general")
    p.add_argument("--engagement", help="contract, advisory, fixed")
    p.set_defaults(handler=cmd_rate)
    rsub = p.add_subparsers(dest="rate_command", metavar="calc", parser_class=_Parser)
    c = rsub.add_parser("calc", parents=[common], help="Day and hour rate from a target income.",
                        description="Day and hour rate from a target yearly income: revenue = (income + overhead) / "
                        "(1 - tax); day rate = revenue / billable days; hour rate = day rate / hours per day.")
    c.add_argument("--income", type=_positive, required=True, help="target yearly profit before personal tax")
    c.add_argument("--currency", required=True, help="3-letter code, e.g. GBP")
    g = c.add_mutually_exclusive_group()
    g.add_argument("--overhead", type=float, help="yearly business costs (an amount)")
    g.add_argument("--overhead-share", dest="overhead_share", type=_share, help="yearly costs as a share of income")
    c.add_argument("--tax", type=_share, default=0.0, help="share of revenue lost to social or self-employment charges")
    c.add_argument("--billable-days", dest="billable_days", type=_positive, default=180)
    c.add_argument("--hours-per-day", dest="hours_per_day", type=_positive, default=None)
    c.set_defaults(handler=cmd_rate_calc)

    p = sub.add_parser("quote", parents=[common], help=helps["quote"], description=helps["quote"])
    p.add_argument("--scope", help="a scope id (yours) or a scope JSON file (default: your latest scope)")
    p.add_argument("--rate", type=_positive, required=True)
    p.add_argument("--unit", choices=["hour", "day"], required=True)
    p.add_argument("--currency", required=True)
    p.add_argument("--contingency", type=_share, help="share added for risk (default from config)")
    p.add_argument("--deposit", type=_share, help="share paid upfront (default from config)")
    p.add_argument("--format", choices=["md", "json"], default="md")
    p.add_argument("--user", default="local", help=argparse.SUPPRESS)
    p.set_defaults(handler=cmd_quote)

    p = sub.add_parser("plan", parents=[common], help=helps["plan"], description=helps["plan"])
    p.add_argument("--scope", help="a scope id (yours) or a scope JSON file (default: your latest scope)")
    p.add_argument("--start", type=_iso_date, help="first working day, YYYY-MM-DD (default: next Monday)")
    p.add_argument("--rate", type=_positive, help="your rate, to add amounts to the payments")
    p.add_argument("--unit", choices=["hour", "day"], default="day")
    p.add_argument("--currency", help="3-letter code, e.g. GBP (needed with --rate)")
    p.add_argument("--plot", type=Path, help="write the Gantt chart (PNG) here")
    p.add_argument("--ics", type=Path, help="write the milestones as an iCalendar file here")
    p.add_argument("--user", default="local", help=argparse.SUPPRESS)
    p.set_defaults(handler=cmd_plan)

    p = sub.add_parser("ingest", parents=[common], help=helps["ingest"], description=helps["ingest"])
    p.add_argument("paths", nargs="+", type=Path, help="files or folders")
    p.add_argument("--prune", action="store_true", help="also remove indexed guides under these folders that no longer exist")
    p.set_defaults(handler=cmd_ingest)

    p = sub.add_parser("kb", parents=[common], help=helps["kb"], description=helps["kb"])
    ksub = p.add_subparsers(dest="kb_command", metavar="{list,remove,reindex}", parser_class=_Parser, required=True)
    k = ksub.add_parser("list", parents=[common], help="guides, chunk counts and the embedding model")
    k.set_defaults(handler=cmd_kb_list)
    k = ksub.add_parser("remove", parents=[common], help="delete a guide from the index")
    k.add_argument("source", help="the guide's path (or its file name when unique)")
    k.set_defaults(handler=cmd_kb_remove)
    k = ksub.add_parser("reindex", parents=[common], help="rebuild the index from the stored guide files")
    k.set_defaults(handler=cmd_kb_reindex)

    p = sub.add_parser("eval", parents=[common], help=helps["eval"], description=helps["eval"])
    esub = p.add_subparsers(dest="eval_command", metavar="{retrieval,answers,users,feedback}", parser_class=_Parser,
                            required=True)
    for name, text in (("retrieval", "recall@1, recall@5, MRR, decline accuracy"),
                       ("answers", "share of must-mention facts present, decline accuracy")):
        e = esub.add_parser(name, parents=[common], help=text, description=text)
        e.add_argument("--questions", type=Path, help="a question file or folder (default: evals/questions)")
        e.add_argument("--out", type=Path, help="write the JSON results here (default: evals/results/)")
        e.set_defaults(handler=cmd_eval)
    text = ("questions and conversations as users type them, scored like ../shared/devsets/ask "
            "(a folder with questions.yaml and/or conversations.yaml; default evals/questions/blind)")
    e = esub.add_parser("users", parents=[common], help=text, description=text)
    e.add_argument("--questions", type=Path, help="the set's folder (default: evals/questions/blind)")
    e.add_argument("--only", help="comma-separated question or conversation ids")
    e.add_argument("--out", type=Path, help="write the JSON results here (default: evals/results/users.json)")
    e.set_defaults(handler=cmd_eval)
    e = esub.add_parser("feedback", parents=[common], help="summarise feedback votes")
    e.set_defaults(handler=cmd_eval)

    p = sub.add_parser("console", parents=[common], help=helps["console"],
                       description=helps["console"] + " With --json, one JSON line per input line.")
    p.add_argument("--user", default="console", help=argparse.SUPPRESS)
    p.set_defaults(handler=cmd_console)

    p = sub.add_parser("run", parents=[common], help=helps["run"], description=helps["run"])
    p.add_argument("--sync-global", action="store_true", help="sync slash commands globally (once per deploy)")
    p.set_defaults(handler=cmd_run)

    p = sub.add_parser("worker", parents=[common], help=helps["worker"], description=helps["worker"])
    p.add_argument("--concurrency", type=int, default=1, help="scopes at once in this worker (default 1 per core)")
    p.add_argument("--name", help="node name (default mlbot@HOST); `--stop NAME` stops it")
    p.add_argument("--stop", metavar="NAME", help="ask the named worker (or `all`) to finish its jobs and stop")
    p.set_defaults(handler=cmd_worker)

    p = sub.add_parser("store", parents=[common], help=helps["store"], description=helps["store"])
    ssub = p.add_subparsers(dest="store_command", metavar="{version,migrate}", parser_class=_Parser, required=True)
    s = ssub.add_parser("version", parents=[common], help="bring the schema up to date and print its version")
    s.set_defaults(handler=cmd_store_version)
    s = ssub.add_parser("migrate", parents=[common], help="copy every row into an empty database at URL")
    s.add_argument("--to", required=True, metavar="URL", help="e.g. postgresql://mlbot@db-host/mlbot")
    s.set_defaults(handler=cmd_store_migrate)
    return parser


# Output ---------------------------------------------------------------------------------


def emit(args: argparse.Namespace, result: Any, text: str | None) -> None:
    if args.json:
        sys.stdout.write(json.dumps(result, ensure_ascii=False, default=str) + "\n")
    elif text is not None:
        from bot.terminal import printable

        sys.stdout.write(printable(text.rstrip()) + "\n")


def _stderr_progress(args: argparse.Namespace):
    if not sys.stderr.isatty():
        return None
    from bot.scoping.render import leader_text

    def progress(stage: str, info: dict) -> None:
        detail = ""
        if "i" in info and "n" in info:
            detail = f" {info['i']}/{info['n']}"
        if info.get("model"):
            detail += f" {info['model']}"
        if stage == "baselines":
            detail += leader_text(info.get("best"))
        sys.stderr.write(f"\r\033[K{stage}{detail}")
        sys.stderr.flush()
        if stage == "done":
            sys.stderr.write("\r\033[K")

    return progress


# Handlers ------------------------------------------------------------------------------


def cmd_ask(args, core) -> int:
    from bot.render import answer_text

    question = " ".join(args.question)
    result = core.ask(question, user_id=args.user, skill=args.skill, conversation_id=args.conversation,
                      private=args.private)
    emit(args, result, answer_text(result, show_conversation=True))
    return 0


def cmd_scope(args, core) -> int:
    from bot.scoping.render import scope_markdown

    result = core.scope(path=Path(args.file), target=args.target, task=args.task, budget=args.budget,
                        rate=args.rate, unit=args.unit, currency=args.currency, user_id=args.user,
                        progress=_stderr_progress(args), cv=args.cv, chart=bool(args.plot),
                        frame=args.frame)
    if args.plot and result.get("chart_png"):
        from bot.terminal import write_chart

        write_chart(args.plot, result["chart_png"], result["scope_id"], option="--plot")
    report = result["report"]
    text = scope_markdown(report) + f"\n\nScope id: {result['scope_id']} (use it with `mlbot quote --scope`)."
    emit(args, report, text)
    return 0


def cmd_rate(args, core) -> int:
    from bot.rates.render import rate_markdown

    result = core.rate(region=args.region, seniority=args.seniority, specialty=args.specialty,
                       engagement=args.engagement)
    emit(args, result, rate_markdown(result))
    return 0


def cmd_rate_calc(args, core) -> int:
    from bot.rates.render import calc_markdown

    kwargs = {"income": args.income, "currency": args.currency, "tax": args.tax, "billable_days": args.billable_days}
    if args.overhead is not None:
        kwargs["overhead"] = args.overhead
    if args.overhead_share is not None:
        kwargs["overhead_share"] = args.overhead_share
    if args.hours_per_day is not None:
        kwargs["hours_per_day"] = args.hours_per_day
    result = core.rate_calc(**kwargs)
    emit(args, result, calc_markdown(result))
    return 0


def cmd_quote(args, core) -> int:
    from bot.rates.render import quote_markdown

    result = core.quote(scope=args.scope, rate=args.rate, unit=args.unit, currency=args.currency,
                        user_id=args.user, contingency=args.contingency, deposit=args.deposit)
    if args.format == "json" and not args.json:
        args.json = True
    payload = {k: v for k, v in result.items() if k != "markdown"}
    emit(args, payload, quote_markdown(result))
    return 0


def cmd_plan(args, core) -> int:
    if args.rate is not None and not args.currency:
        raise UsageError("--rate needs --currency.", hint="For example --rate 600 --unit day --currency GBP.")
    result = core.plan(scope=args.scope, start=args.start, rate=args.rate, unit=args.unit, currency=args.currency,
                       user_id=args.user, chart=bool(args.plot), ics=bool(args.ics))
    from bot.terminal import write_output

    written = [str(write_output(path, data, option=option))
               for path, data, option in ((args.plot, result["chart_png"], "--plot"), (args.ics, result["ics"], "--ics"))
               if path is not None]
    text = result["markdown"] + "".join(f"\nWritten: {w}" for w in written)
    emit(args, result["plan"], text)
    return 0


def cmd_ingest(args, core) -> int:
    from bot.render import ingest_text

    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        raise InputError(f"not found: {', '.join(missing)}.", hint="Give existing files or folders.")
    result = core.ingest(args.paths, prune=args.prune, progress=_ingest_progress())
    emit(args, result, ingest_text(result))
    return 0


def _ingest_progress():
    if not sys.stderr.isatty():
        return None

    def progress(stage: str, info: dict) -> None:
        done, total = info.get("done", 0), max(info.get("total", 1), 1)
        width = 30
        fill = int(width * done / total)
        sys.stderr.write(f"\r{stage} [{'#' * fill}{'.' * (width - fill)}] {done}/{total}")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return progress


def cmd_kb_list(args, core) -> int:
    from bot.render import kb_list_text

    result = core.kb_list()
    emit(args, result, kb_list_text(result))
    return 0


def cmd_kb_remove(args, core) -> int:
    result = core.kb_remove(args.source)
    emit(args, result, f"Removed {result['source']} ({result['chunks']} chunks).")
    return 0


def cmd_kb_reindex(args, core) -> int:
    from bot.render import ingest_text

    result = core.kb_reindex(progress=_ingest_progress())
    emit(args, result, ingest_text(result))
    return 0


def cmd_eval(args, core) -> int:
    from bot.knowledge import evaluate

    if args.eval_command == "feedback":
        result = core.feedback_summary()
        emit(args, result, evaluate.feedback_table(result))
        return 0
    questions = args.questions or Path(__file__).resolve().parent.parent / "evals" / "questions"
    if args.eval_command == "users":
        from bot.knowledge import usereval

        only = {x.strip() for x in args.only.split(",")} if args.only else None
        result = usereval.run(core, args.questions or questions / "blind", only=only)
        table = usereval.table
    else:
        result = evaluate.run(core, args.eval_command, questions)
        table = evaluate.table
    out = args.out or Path(__file__).resolve().parent.parent / "evals" / "results" / f"{args.eval_command}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    result["written_to"] = str(out)
    emit(args, result, table(result) + f"\n\nWritten to {out}")
    return 0


def cmd_console(args, core) -> int:
    from bot.console import run_console

    return run_console(core, user_id=args.user, json_mode=args.json)


def cmd_run(args, core) -> int:
    token = core.settings.secret("discord_token")
    if not token:
        msg = "DISCORD_TOKEN is not set: the Discord bot cannot start. Try the same commands offline with `mlbot console`."
        if args.json:
            emit(args, {"started": False, "message": msg}, None)
        else:
            sys.stdout.write(msg + "\n")
        return 0
    from bot.discord.bot import run_bot

    run_bot(core, sync_global=args.sync_global)
    return 0


def cmd_worker(args, core) -> int:
    from bot.scale import worker

    if args.stop:
        stopped = worker.stop(core.settings, args.stop)
        emit(args, {"stopped": stopped}, f"stopping: {', '.join(stopped) or 'no worker answered'}")
        return 0 if stopped else 2
    if not 1 <= args.concurrency <= 64:
        raise UsageError("--concurrency must be between 1 and 64.")
    worker.serve(core, concurrency=args.concurrency, name=args.name)
    return 0


def cmd_store_version(args, core) -> int:
    result = core.store_version()
    emit(args, result, f"{result['url']}: schema {result['version']}")
    return 0


def cmd_store_migrate(args, core) -> int:
    result = core.store_copy(args.to)
    lines = [f"copied into {result['to']}:"] + [f"  {name}: {n}" for name, n in result["copied"].items()]
    lines.append("Now set store.url (or MLBOT_STORE__URL) to it on every bot process and worker.")
    emit(args, result, "\n".join(lines))
    return 0


# Entry point ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    json_mode = "--json" in argv
    parser = build_parser()
    core = None
    try:
        args = parser.parse_args(argv)
        if not getattr(args, "command", None):
            parser.print_help()
            return 0
        if not hasattr(args, "handler"):  # e.g. `mlbot rate calc` parsed without a leaf handler
            raise UsageError("missing a subcommand.", hint=f"See `mlbot {args.command} --help`.")
        if args.command == "scope" and Path(args.file).is_file():
            from bot.scoping.worker import prestart

            prestart()  # the worker's imports overlap with settings and logging here
        from bot.app import Core
        from bot.config import load_settings
        from bot.logs import setup_logging

        settings = load_settings(args.config, data_dir=args.data_dir)
        setup_logging(settings, verbose=args.verbose)
        core = Core(settings, one_shot=args.command not in ("console", "run"))
        log.info("command %s", args.command)
        return args.handler(args, core) or 0
    except UserError as exc:
        _print_error(exc.to_dict(), json_mode)
        return exc.exit_code
    except KeyboardInterrupt:
        _print_error({"code": "interrupted", "message": "interrupted."}, json_mode)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: log it with its traceback, show an id
        from bot.logs import new_error_id

        error_id = new_error_id()
        log.error("unexpected error id=%s class=%s", error_id, exc.__class__.__name__, exc_info=True)
        _print_error({"code": "internal", "id": error_id,
                      "message": f"sorry, something went wrong on our side (error id {error_id}); "
                                 "the details are in the log file."}, json_mode)
        return 1
    finally:
        if core is not None:
            core.close()


def _print_error(error: dict, json_mode: bool) -> None:
    if json_mode:
        sys.stdout.write(json.dumps({"error": error}, ensure_ascii=False) + "\n")
    else:
        sys.stderr.write(f"error: {error['message']}\n")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
