"""Plans from a scope: dates skip weekends and holidays, phases follow their dependencies, a review closes each
phase, the buffer comes from the estimate's range, payments add up to the quote; the PNG and the .ics parse."""

from __future__ import annotations

import copy
import io
import json
import random
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from bot.errors import InputError, LimitExceeded
from bot.planning import build_plan
from bot.planning.gantt import plan_chart
from bot.planning.ics import fold, plan_ics
from bot.planning.render import plan_markdown, plan_share_markdown
from bot.planning.workdays import (
    count_working_days,
    is_working_day,
    next_monday,
    next_working_day,
    skip_working_days,
    span_end,
)
from bot.rates.quote import build_quote
from tests.test_rates_quote import SCOPE

TERMS = {"hours_per_day": 7.5, "buffer_share": 0.5, "review_days": 0, "holidays": [], "deposit": 0.3,
         "contingency": 0.15}
TODAY = date(2026, 12, 1)  # a Tuesday


def _plan(scope=None, **kw):
    args = {**TERMS, "start": date(2026, 12, 7), "today": TODAY, **kw}
    return build_plan(copy.deepcopy(SCOPE if scope is None else scope), **args)


def D(x) -> Decimal:
    return Decimal(str(x))


def _frame_scope(phases):
    """A scope whose estimate uses another frame's phase names (as project frames will)."""
    return {"id": "s-frame", "task": "multiclass", "target": "label", "warnings": [],
            "estimate": {"phases": phases, "hours_low": sum(p["hours_low"] for p in phases),
                         "hours_high": sum(p["hours_high"] for p in phases)}}


def check_plan(plan, holidays=()):
    """The invariants of every plan."""
    day = date.fromisoformat
    ends = {p["name"]: day(p["end"]) for p in plan["phases"]}
    previous_end = None
    for p in plan["phases"]:
        start, end = day(p["start"]), day(p["end"])
        assert is_working_day(start, holidays) and is_working_day(end, holidays), p
        assert count_working_days(start, end, holidays) == p["days"], p
        for dep in p["depends_on"]:
            assert start > ends[dep], (p["name"], dep)
        if previous_end is not None:
            assert start == skip_working_days(previous_end, plan["review_days"], holidays)  # no idle days
        previous_end = end
    reviews = [m for m in plan["milestones"] if m["kind"] == "review"]
    assert [(m["phase"], m["date"]) for m in reviews] == [(p["name"], p["end"]) for p in plan["phases"]]
    assert sum(D(p["share"]) for p in plan["payments"]) == 1
    if plan["money"]:
        assert sum(D(p["amount_low"]) for p in plan["payments"]) == D(plan["money"]["total_low"])
        assert sum(D(p["amount_high"]) for p in plan["payments"]) == D(plan["money"]["total_high"])
    invoiced = [name for m in plan["milestones"] for name in m["payments"]]
    assert sorted(invoiced) == sorted(p["name"] for p in plan["payments"])  # each payment lands on one milestone
    assert plan["working_days"] == count_working_days(day(plan["start"]), day(plan["end"]), holidays)


# Working days --------------------------------------------------------------------------------------


def test_working_days_skip_weekends_and_holidays():
    friday = date(2026, 12, 4)
    assert next_working_day(friday) == date(2026, 12, 7)
    assert span_end(friday, 2) == date(2026, 12, 7)  # Friday + Monday
    assert span_end(date(2026, 12, 7), 5) == date(2026, 12, 11)  # one working week
    christmas = [date(2026, 12, 25), date(2026, 12, 28)]
    assert span_end(date(2026, 12, 24), 2, christmas) == date(2026, 12, 29)
    assert next_monday(TODAY) == date(2026, 12, 7) and next_monday(date(2026, 12, 7)) == date(2026, 12, 14)
    assert count_working_days(date(2026, 12, 1), date(2026, 12, 31), christmas) == 21


# The plan --------------------------------------------------------------------------------------------


def test_worked_plan_dates_buffer_and_payments():
    plan = _plan(rate=600, currency="GBP")
    check_plan(plan)
    # 7.5 h a day; low hours 7.5/15/22.5/7.5/7.5 -> 1, 2, 3, 1, 1 days from Monday 7 December
    assert [(p["start"], p["end"]) for p in plan["phases"]] == [
        ("2026-12-07", "2026-12-07"), ("2026-12-08", "2026-12-09"), ("2026-12-10", "2026-12-14"),
        ("2026-12-15", "2026-12-15"), ("2026-12-16", "2026-12-16")]
    # spread 120 - 60 = 60 h; half of it = 30 h = 4 days, after the last phase
    assert plan["buffer"] == {"days": 4, "share": 0.5, "spread_hours": 60, "start": "2026-12-17",
                              "end": "2026-12-22"}
    assert plan["end"] == "2026-12-22" and plan["working_days"] == 12
    quote = build_quote(copy.deepcopy(SCOPE), rate=600, unit="day", currency="GBP", contingency=0.15, deposit=0.3,
                        hours_per_day=7.5)
    assert [(p["name"], p["share"], p["amount_low"], p["amount_high"]) for p in plan["payments"]] == [
        (m["name"], m["share"], m["amount_low"], m["amount_high"]) for m in quote["milestones"]]
    due = {p["name"]: p["due_date"] for p in plan["payments"]}
    assert due == {"Deposit": "2026-12-07", "Problem and data report": "2026-12-09",
                   "Model and evaluation report": "2026-12-15", "Handover": "2026-12-16"}
    assert plan["money"]["total_low"] == 5520 and plan["money"]["total_high"] == 11040


def test_without_a_rate_payments_are_shares_only():
    plan = _plan()
    check_plan(plan)
    assert plan["money"] is None and all("amount_low" not in p for p in plan["payments"])
    assert "Shares of the fee" in plan_markdown(plan)


def test_start_on_a_weekend_moves_to_monday_and_holidays_are_skipped():
    plan = _plan(start=date(2026, 12, 19), holidays=[date(2026, 12, 25), date(2026, 12, 28)])
    assert plan["start"] == "2026-12-21" and "not a working day" in plan["notes"][0]
    check_plan(plan, holidays={date(2026, 12, 25), date(2026, 12, 28)})
    assert plan["holidays"] == ["2026-12-25", "2026-12-28"]
    assert "2026-12-25" in plan["assumptions"][0]


def test_review_days_leave_a_gap_between_phases():
    plan = _plan(review_days=2)
    check_plan(plan)
    first, second = plan["phases"][:2]
    assert (first["end"], second["start"]) == ("2026-12-07", "2026-12-10")


def test_phases_are_read_generically_and_follow_depends_on():
    phases = [
        {"name": "problem_framing", "hours_low": 4, "hours_high": 8, "drivers": []},
        {"name": "labelling_guide", "hours_low": 6, "hours_high": 12, "drivers": [], "depends_on": ["problem_framing"]},
        {"name": "text_cleaning", "hours_low": 10, "hours_high": 20, "drivers": [], "depends_on": ["problem_framing"]},
        {"name": "fine_tuning", "hours_low": 15, "hours_high": 40, "drivers": [],
         "depends_on": ["text_cleaning", "labelling_guide"], "deliverable": "a fine-tuned classifier"},
        {"name": "error_analysis", "hours_low": 5, "hours_high": 10, "drivers": []},
    ]
    plan = _plan(_frame_scope(phases))
    check_plan(plan)
    assert [p["name"] for p in plan["phases"]] == [p["name"] for p in phases]
    assert plan["phases"][3]["depends_on"] == ["text_cleaning", "labelling_guide"]
    assert plan["phases"][3]["deliverable"] == "a fine-tuned classifier"
    assert plan["phases"][4]["depends_on"] == ["fine_tuning"]  # no depends_on: the phase before
    assert plan["phases"][0]["label"] == "Problem framing"
    # A phase listed before what it depends on is scheduled after it.
    reordered = [phases[3], {**phases[0], "depends_on": []}, *phases[1:3], {**phases[4], "depends_on": ["fine_tuning"]}]
    plan = _plan(_frame_scope(reordered))
    check_plan(plan)
    names = [p["name"] for p in plan["phases"]]
    assert names.index("fine_tuning") > names.index("text_cleaning")


@pytest.mark.parametrize("change, message", [
    (lambda ps: ps[1].update(depends_on=["nowhere"]), "unknown phase"),
    (lambda ps: ps[0].update(depends_on=[ps[1]["name"]]), "cycle"),
    (lambda ps: ps[1].update(name=ps[0]["name"]), "unique"),
    (lambda ps: ps[1].update(depends_on=7), "list of phase names"),
])
def test_bad_dependencies_are_clear_errors(change, message):
    scope = copy.deepcopy(SCOPE)
    change(scope["estimate"]["phases"])
    with pytest.raises(InputError, match=message):
        _plan(scope)


def test_a_phase_without_hours_is_left_out_and_its_dependants_keep_their_order():
    scope = copy.deepcopy(SCOPE)
    scope["estimate"]["phases"][2].update(hours_low=0, hours_high=0)
    plan = _plan(scope)
    check_plan(plan)
    assert "modelling" not in [p["name"] for p in plan["phases"]]
    assert plan["phases"][2]["name"] == "evaluation" and plan["phases"][2]["depends_on"] == ["data_preparation"]
    assert "Modelling" in plan["notes"][0]


def test_limits_are_errors_not_crashes():
    huge = copy.deepcopy(SCOPE)
    huge["estimate"]["phases"][0]["hours_low"] = huge["estimate"]["phases"][0]["hours_high"] = 1e9
    with pytest.raises(LimitExceeded, match="working days"):
        _plan(huge)
    many = _frame_scope([{"name": f"p{i}", "hours_low": 1, "hours_high": 2} for i in range(60)])
    with pytest.raises(LimitExceeded, match="phases"):
        _plan(many)
    with pytest.raises(InputError, match="currency"):
        _plan(rate=600)
    with pytest.raises(InputError, match="no estimate"):
        _plan({"warnings": []})


@pytest.mark.parametrize("seed", range(25))
def test_random_estimates_keep_every_invariant(seed):
    rng = random.Random(seed)
    n = rng.randint(1, 9)
    phases = []
    for i in range(n):
        low = rng.choice([0.5, 3, 7.5, 12, 40, 90])
        phase = {"name": f"phase_{i}", "hours_low": low, "hours_high": low + rng.choice([0, 1, 8, 30])}
        if i and rng.random() < 0.5:
            phase["depends_on"] = rng.sample([f"phase_{j}" for j in range(i)], rng.randint(1, i))
        phases.append(phase)
    holidays = [date(2027, 1, 1) + timedelta(days=rng.randint(0, 60)) for _ in range(4)]
    start = date(2026, 12, 1) + timedelta(days=rng.randint(0, 40))
    plan = _plan(_frame_scope(phases), start=start, holidays=holidays, review_days=rng.randint(0, 2),
                 buffer_share=rng.choice([0, 0.5, 1]), deposit=rng.choice([0, 0.25, 0.3]),
                 **({"rate": rng.choice([55.5, 600]), "currency": "EUR", "unit": rng.choice(["hour", "day"])}
                    if rng.random() < 0.5 else {}))
    check_plan(plan, holidays=set(holidays))
    spread = sum(p["hours_high"] - p["hours_low"] for p in phases)
    share = plan["buffer"]["share"]
    assert plan["buffer"]["days"] * 7.5 >= share * spread > (plan["buffer"]["days"] - 1) * 7.5 or (
        plan["buffer"]["days"] == 0 and share * spread == 0)


# Documents -------------------------------------------------------------------------------------------


def test_markdown_and_share_version():
    plan = _plan(rate=600, currency="GBP")
    text = plan_markdown(plan)
    for part in ("# Project plan", "Mon 7 Dec 2026", "Review: Data preparation", "£5,520", "Assumptions",
                 "cancel_date"):
        assert part in text, part
    shared = plan_share_markdown(plan)
    assert "Project plan" in shared and "30%" in shared and "Mon 7 Dec 2026" in shared
    for private in ("600", "5,520", "£", "churned", "cancel_date", "last_login"):
        assert private not in shared, private


def test_gantt_png_is_a_valid_image_of_the_plan():
    from PIL import Image

    plan = _plan(_frame_scope([{"name": "cost_$_usd_$", "hours_low": 8, "hours_high": 30},
                               {"name": "a, b; c", "hours_low": 30, "hours_high": 31}]))
    png = plan_chart(plan)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(io.BytesIO(png))
    image.verify()
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size[0] == 1000 and image.size[1] >= 300
    assert len(set(image.convert("RGB").getdata())) > 20  # drawn, not blank


def test_ics_parses_with_one_event_per_milestone():
    icalendar = pytest.importorskip("icalendar")
    phases = [{"name": "discovery", "hours_low": 8, "hours_high": 16},
              {"name": "données, nettoyage; étape\\1", "hours_low": 300, "hours_high": 400}]
    plan = _plan(_frame_scope(phases), rate=600, currency="EUR")
    text = plan_ics(plan, stamp=datetime(2026, 12, 1, 12, 0))
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    assert all(len(line.encode("utf-8")) <= 75 for line in text.split("\r\n"))
    cal = icalendar.Calendar.from_ical(text)
    events = list(cal.walk("VEVENT"))
    assert [(str(e["SUMMARY"]), e.decoded("DTSTART")) for e in events] == [
        (m["name"], date.fromisoformat(m["date"])) for m in plan["milestones"]]
    assert all(e.decoded("DTEND") - e.decoded("DTSTART") == timedelta(days=1) for e in events)
    assert len({str(e["UID"]) for e in events}) == len(events)
    assert "Invoice: Deposit (30% of the fee)" in str(events[0]["DESCRIPTION"])
    assert "Review: Données, nettoyage; étape\\1" in [str(e["SUMMARY"]) for e in events]
    # Stable ids: the same plan a week later updates the same events.
    later = plan_ics(_plan(_frame_scope(phases), start=date(2026, 12, 14)), stamp=datetime(2026, 12, 8))
    assert [str(e["UID"]) for e in icalendar.Calendar.from_ical(later).walk("VEVENT")] == [
        str(e["UID"]) for e in events]


def test_fold_never_splits_a_character():
    line = "SUMMARY:" + "é" * 100
    pieces = fold(line)
    assert "".join(p[1:] if i else p for i, p in enumerate(pieces)) == line
    assert all(len(p.encode("utf-8")) <= 75 for p in pieces)


# Through the core and the fronts ---------------------------------------------------------------------


def test_core_plans_the_users_latest_or_named_scope(tmp_path):
    from tests.conftest import make_core

    core = make_core(tmp_path / "data")
    older = core.store.save_scope("u1", copy.deepcopy(SCOPE))
    latest_scope = copy.deepcopy(SCOPE)
    latest_scope["estimate"]["phases"][0]["hours_low"] = 15
    latest = core.store.save_scope("u1", latest_scope)
    result = core.plan(user_id="u1", today=TODAY, chart=True, ics=True)
    assert result["plan"]["scope"]["id"] == latest and result["plan"]["start"] == "2026-12-07"  # next Monday
    assert result["plan"]["phases"][0]["days"] == 2
    assert result["chart_png"][:4] == b"\x89PNG" and result["ics"].startswith("BEGIN:VCALENDAR")
    named = core.plan(scope=older, user_id="u1", today=TODAY)
    assert named["plan"]["scope"]["id"] == older and named["chart_png"] is None and named["ics"] is None
    from bot.errors import NotFound

    with pytest.raises(NotFound):
        core.plan(scope=older, user_id="someone-else", today=TODAY)


def test_cli_plan_writes_json_png_and_ics(tmp_path):
    from tests.test_cli import mlbot

    scope = tmp_path / "scope.json"
    scope.write_text(json.dumps(SCOPE), encoding="utf-8")
    png, ics = tmp_path / "out" / "plan.png", tmp_path / "out" / "plan.ics"
    res = mlbot("plan", "--scope", str(scope), "--start", "2027-01-04", "--rate", "600", "--currency", "GBP",
                "--plot", str(png), "--ics", str(ics), "--json", data_dir=tmp_path / "data")
    assert res.returncode == 0, res.stderr
    plan = json.loads(res.stdout)
    assert plan["start"] == "2027-01-04" and plan["money"]["currency"] == "GBP"
    assert png.read_bytes()[:4] == b"\x89PNG" and ics.read_bytes().startswith(b"BEGIN:VCALENDAR\r\n")
    bad = mlbot("plan", "--scope", str(scope), "--start", "4 January", data_dir=tmp_path / "data")
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    unwritable = mlbot("plan", "--scope", str(scope), "--plot", str(blocker / "plan.png"), data_dir=tmp_path / "data")
    assert unwritable.returncode == 2 and "could not write" in unwritable.stderr
    none = mlbot("plan", "--json", data_dir=tmp_path / "data")
    assert none.returncode == 2 and json.loads(none.stdout)["error"]["code"] == "not_found"


def test_console_plan(tmp_path):
    from bot.console import run_console
    from tests.conftest import make_core

    core = make_core(tmp_path / "data")
    core.store.save_scope("console", copy.deepcopy(SCOPE))
    out = io.StringIO()
    png = tmp_path / "c.png"
    run_console(core, stdin=io.StringIO(f"/plan start=2027-01-04 plot={png}\n/plan start=soon\n"), out=out)
    text = out.getvalue()
    assert "# Project plan" in text and "Mon 4 Jan 2027" in text and f"Written to {png}" in text
    assert png.read_bytes()[:4] == b"\x89PNG" and "YYYY-MM-DD" in text
