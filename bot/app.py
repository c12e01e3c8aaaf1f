"""The core: one object built from Settings, driven by every front (CLI, console, Discord).

This is the one place where clients and stores are made. Components are created lazily, so a
command only pays for what it uses (`/help` needs no index; `rate calc` loads no model), and once
each however many threads ask at the same time (`bot.lazy`). Fronts call these methods only, never
the components themselves.
Methods take plain values and return JSON-ready dicts; they raise `UserError` kinds for bad input.
Nothing here imports `discord`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.config import Settings
from bot.errors import InputError, LimitExceeded, NotFound, UserError
from bot.lazy import lazy

if TYPE_CHECKING:
    from bot.store import Store

log = logging.getLogger(__name__)

Progress = Callable[[str, dict[str, Any]], None]


class Core:
    def __init__(self, settings: Settings, *, one_shot: bool = False):
        """`one_shot`: the process serves one command and exits (the CLI); workers start lean."""
        self.settings = settings
        self.one_shot = one_shot
        self._lock = threading.RLock()

    # Components ------------------------------------------------------------------------
    @lazy
    def store(self) -> Store:
        from bot.store import Store

        cfg = self.settings
        return Store(cfg.store.url or cfg.data_dir / "state.sqlite3", pool_size=cfg.store.pool_size,
                     ttl_seconds=cfg.conversations.ttl_days * 86400)

    @lazy
    def skills(self):
        from bot.skills import load_skills

        return load_skills(self.settings.skills_dir)

    @lazy
    def knowledge(self):
        from bot.knowledge.service import KnowledgeBase

        return KnowledgeBase(self.settings, self.store, self.skills)

    @lazy
    def ratebook(self):
        from bot.rates.cards import RateBook

        return RateBook.load(self.settings.rate_cards_dir, self.settings)

    @lazy
    def scoper(self):
        """Where scopes run: this machine's isolated runner, or Celery workers (`scope.engine`)."""
        if self.settings.scope.engine == "celery":
            from bot.scale.client import CeleryScopeEngine

            return CeleryScopeEngine(self.settings)
        from bot.scoping.worker import ScopeRunner

        return ScopeRunner(self.settings, one_shot=self.one_shot)

    def warm(self) -> None:
        """Load the embedding model, open the index and read the rate cards (long-running fronts call
        this at start)."""
        with self._lock:
            self.knowledge.warm()
        self.ratebook  # noqa: B018 - rate cards for /rate and its region autocomplete

    def warm_scoper(self) -> None:
        """Start the scope worker's forkserver now (it imports the heavy libraries once)."""
        self.scoper.warm()

    def close(self) -> None:
        if "knowledge" in self.__dict__:
            self.knowledge.close()
        if "scoper" in self.__dict__:
            self.scoper.close()
        if "store" in self.__dict__:
            self.store.close()

    # Ask and the knowledge base ----------------------------------------------------------
    def ask(self, question: str, *, user_id: str = "local", skill: str | None = None,
            conversation_id: str | None = None, private: bool = False) -> dict[str, Any]:
        """A cited answer: {answer, mode, skill, declined, sources[], conversation_id, answer_id?, notes[]}."""
        return self.knowledge.ask(question, user_id=str(user_id), skill=skill,
                                  conversation_id=conversation_id, private=private)

    def ingest(self, paths: list[Path], *, prune: bool = False, progress: Progress | None = None) -> dict[str, Any]:
        return self.knowledge.ingest([Path(p) for p in paths], prune=prune, progress=progress)

    def kb_list(self) -> dict[str, Any]:
        return self.knowledge.list_guides()

    def kb_remove(self, source: str) -> dict[str, Any]:
        return self.knowledge.remove(source)

    def kb_reindex(self, progress: Progress | None = None) -> dict[str, Any]:
        return self.knowledge.reindex(progress=progress)

    def kb_add(self, filename: str, data: bytes, *, progress: Progress | None = None) -> dict[str, Any]:
        """Add an uploaded guide: checked (format, size), stored in the data dir's `guides` folder, ingested."""
        cfg = self.settings.ingest
        name = Path(filename).name
        suffix = Path(name).suffix.lower()
        if not name or suffix not in {e.lower() for e in cfg.extensions}:
            raise InputError(f"{name[:60] or 'the file'} is not a guide format I can read.",
                             hint=f"Use one of {', '.join(cfg.extensions)}.")
        if len(data) > cfg.max_file_mb * 1024 * 1024:
            raise LimitExceeded(f"the file is over the {cfg.max_file_mb:g} MB limit.")
        path = self.settings.data_dir / "guides" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_suffix(path.suffix + ".part")
        part.write_bytes(data)
        part.replace(path)
        return self.ingest([path], progress=progress)

    def feedback(self, answer_id: str, user_id: str, vote: str) -> bool:
        return self.store.add_feedback(answer_id, str(user_id), vote)

    def feedback_summary(self) -> dict[str, Any]:
        from bot.knowledge import evaluate

        return evaluate.feedback_summary(self.store)

    # Per-user limits (shared by every process through the store) -------------------------
    def cooldown(self, user_id: str, command: str, seconds: float) -> float:
        """Start a cooldown; the seconds left when one is already running (0 when the command may run)."""
        return self.store.cooldown(str(user_id), command, seconds)

    def acquire_slot(self, user_id: str, kind: str, lease: float) -> str | None:
        """One job of a kind per user at a time: a token, or None when the user already has one running."""
        return self.store.acquire_slot(str(user_id), kind, lease)

    def release_slot(self, user_id: str, kind: str, token: str) -> None:
        self.store.release_slot(str(user_id), kind, token)

    # Scope -------------------------------------------------------------------------------
    def scope(self, *, path: Path | None = None, data: bytes | None = None, filename: str | None = None,
              target: str | None = None, task: str = "auto", budget: float | None = None,
              rate: float | None = None, unit: str = "day", currency: str = "GBP",
              user_id: str = "local", progress: Progress | None = None,
              timeout: float | None = None, cv: str = "auto", chart: bool = True,
              frame: str = "auto", cancel: threading.Event | None = None) -> dict[str, Any]:
        """Run a scope in an isolated worker; store the report (never the data) under an id for the user.
        Setting `cancel` stops the job (Cancelled is raised).

        Returns {"report": <scope JSON>, "chart_png": bytes | None, "scope_id": str}.
        """
        from bot.scoping.worker import ScopeRequest

        if path is None and data is None:
            raise InputError("give a CSV file to scope.")
        if path is not None:
            path = Path(path)
            if not path.is_file():
                raise NotFound(f"file not found: {path}.", hint="Check the path and try again.")
        request = ScopeRequest(
            path=str(path) if path else None, data=data, filename=filename or (path.name if path else "upload.csv"),
            target=target, task=task, budget=budget, rate=rate, unit=unit, currency=currency,
            estimate=self._estimate_block(), cv=cv, chart=chart, frame=frame,
        )
        started = time.monotonic()
        result = self.scoper.run(request, progress=progress, timeout=timeout, cancel=cancel, user_id=str(user_id))
        report = result.report
        scope_id = result.scope_id or self.store.save_scope(str(user_id), report,
                                                            keep_days=self.settings.scope.keep_reports_days)
        report["id"] = scope_id
        log.info("scope done id=%s rows=%s cols=%s seconds=%.2f", scope_id, report.get("rows"),
                 report.get("columns"), time.monotonic() - started)
        return {"report": report, "chart_png": result.chart_png, "scope_id": scope_id}

    def _estimate_block(self) -> dict[str, Any] | None:
        card = self.skills.get("scoping") if self.skills else None
        if card is None or card.estimate is None:
            return None
        return card.estimate.model_dump(mode="json")  # plain data for the worker; validated again there

    def latest_scope(self, user_id: str) -> tuple[str, dict[str, Any]] | None:
        return self.store.latest_scope(str(user_id))

    def list_scopes(self, user_id: str, limit: int = 10) -> list[dict[str, Any]]:
        return self.store.list_scopes(str(user_id), limit)

    # Rates and quotes --------------------------------------------------------------------
    def rate(self, *, region: str | None = None, seniority: str | None = None, specialty: str | None = None,
             engagement: str | None = None) -> dict[str, Any]:
        from bot.rates.advice import advise

        return advise(self.ratebook, region=region, seniority=seniority, specialty=specialty, engagement=engagement)

    def known_regions(self) -> list[str]:
        return self.ratebook.known_regions()

    def rate_calc(self, **kwargs: Any) -> dict[str, Any]:
        from bot.rates.calc import rate_calc

        kwargs.setdefault("hours_per_day", self.settings.estimate_defaults.hours_per_day)
        return rate_calc(**kwargs)

    def quote(self, *, scope: str | None, rate: float, unit: str, currency: str, user_id: str = "local",
              contingency: float | None = None, deposit: float | None = None) -> dict[str, Any]:
        """A quote from a stored scope id (the user's own), a scope JSON file, or the user's latest scope."""
        from bot.rates.quote import build_quote

        report = self._find_scope(scope, str(user_id))
        return build_quote(
            report, rate=rate, unit=unit, currency=currency,
            contingency=self.settings.quote.contingency if contingency is None else contingency,
            deposit=self.settings.quote.deposit if deposit is None else deposit,
            hours_per_day=self.settings.estimate_defaults.hours_per_day,
        )

    def plan(self, *, scope: str | None = None, start: date | None = None, rate: float | None = None,
             unit: str = "day", currency: str | None = None, user_id: str = "local", chart: bool = False,
             ics: bool = False, today: date | None = None) -> dict[str, Any]:
        """A dated plan from a stored scope id (the user's own), a scope JSON file, or the user's latest scope.

        Returns {"plan": <plan JSON>, "markdown": str, "chart_png": bytes | None, "ics": str | None}.
        """
        from bot.planning import build_plan
        from bot.planning.render import plan_markdown
        from bot.planning.workdays import next_monday

        report = self._find_scope(scope, str(user_id))
        today = today or date.today()
        cfg = self.settings.plan
        plan = build_plan(report, start=start or next_monday(today), today=today,
                          hours_per_day=self.settings.estimate_defaults.hours_per_day,
                          buffer_share=cfg.buffer_share, review_days=cfg.review_days, holidays=cfg.holidays,
                          deposit=self.settings.quote.deposit, contingency=self.settings.quote.contingency,
                          rate=rate, unit=unit, currency=currency)
        out: dict[str, Any] = {"plan": plan, "markdown": plan_markdown(plan), "chart_png": None, "ics": None}
        if chart:
            from bot.planning.gantt import plan_chart

            out["chart_png"] = plan_chart(plan)
        if ics:
            from bot.planning.ics import plan_ics

            out["ics"] = plan_ics(plan)
        log.info("plan built phases=%d working_days=%d", len(plan["phases"]), plan["working_days"])
        return out

    def _find_scope(self, scope: str | None, user_id: str) -> dict[str, Any]:
        if not scope:
            latest = self.store.latest_scope(user_id)
            if latest is None:
                raise NotFound("you have no stored scope yet.", hint="Run a scope on a CSV first, or pass --scope FILE.")
            latest[1]["id"] = latest[0]
            return latest[1]
        found = self.store.get_scope(scope, user_id=user_id)
        if found is not None:
            found["id"] = scope
            return found
        path = Path(scope).expanduser()
        if path.suffix.lower() == ".json" and path.is_file():
            import json

            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise InputError(f"{path.name} is not a readable scope JSON file ({exc.__class__.__name__}).",
                                 hint="Use the output of `mlbot scope FILE --json`.") from None
            if not isinstance(data, dict) or "estimate" not in data:
                raise InputError(f"{path.name} does not look like a scope report (no 'estimate').",
                                 hint="Use the output of `mlbot scope FILE --json`.")
            return data
        raise NotFound(f"no scope '{scope}' found for you.",
                       hint="Use an id from your scopes (the id is printed with every scope) or a scope JSON file.")

    # Privacy -----------------------------------------------------------------------------
    def forget(self, user_id: str) -> dict[str, int]:
        return self.store.forget(str(user_id))

    # The state database ------------------------------------------------------------------
    def store_version(self) -> dict[str, Any]:
        """Bring the state database's schema up to date; its (password-masked) URL and version."""
        from bot.store import shown_url

        self.store.ensure_schema()
        return {"url": shown_url(self.store.url), "version": self.store.schema_version()}

    def store_copy(self, url: str) -> dict[str, Any]:
        """Copy every row of the state database into the empty database at `url` (e.g. PostgreSQL)."""
        from bot.store import Store, shown_url

        target = Store(url)
        try:
            return {"to": shown_url(target.url), "copied": self.store.copy_to(target)}
        finally:
            target.close()


__all__ = ["Core", "UserError"]
