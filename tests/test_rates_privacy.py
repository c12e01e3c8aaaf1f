"""Nothing of a person's inputs or figures reaches the log file: only that a calculation happened."""

from __future__ import annotations

import logging

import pytest
import yaml

from bot.config import PROJECT_ROOT, load_settings
from bot.errors import InputError
from bot.logs import setup_logging
from bot.rates.advice import advise
from bot.rates.calc import rate_calc
from bot.rates.cards import RateBook
from bot.rates.quote import build_quote

SCOPE = {
    "id": "s-private", "task": "regression", "target": "secret_margin", "metric": "r2",
    "best": {"model": "ridge", "score": 0.6173}, "dummy": {"model": "dummy", "score": -0.0042},
    "warnings": [{"code": "high_missing", "column": "client_payroll", "message": "client_payroll: 77 missing."}],
    "estimate": {"phases": [
        {"name": "discovery", "hours_low": 13.75, "hours_high": 21.25, "drivers": ["client_payroll"]},
        {"name": "modelling", "hours_low": 31.5, "hours_high": 48.25, "drivers": []},
    ]},
}


@pytest.fixture
def logged(tmp_path):
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump({"paths": {"rate_cards": str(PROJECT_ROOT / "knowledge" / "rates")},
                                   "logging": {"level": "DEBUG"}}), encoding="utf-8")
    settings = load_settings(cfg, env={}, data_dir=tmp_path / "data")
    root = logging.getLogger()
    before = set(root.handlers)
    setup_logging(settings, verbose=True, stderr=False)
    yield settings
    for handler in set(root.handlers) - before:
        handler.flush()
        root.removeHandler(handler)
        handler.close()


def _log_text(settings) -> str:
    for handler in logging.getLogger().handlers:
        handler.flush()
    return settings.log_file.read_text(encoding="utf-8")


def test_rates_and_quotes_log_no_figures(logged):
    settings = logged
    book = RateBook.load(settings.rate_cards_dir, settings)
    advice = advise(book, region="fr-paris", seniority="lead", specialty="mlops")
    calc = rate_calc(income=83417, currency="CHF", overhead=12345.67, tax=0.2718, billable_days=171.5,
                     hours_per_day=7.25)
    quote = build_quote(SCOPE, rate=617.5, unit="day", currency="CHF", contingency=0.17, deposit=0.35,
                        hours_per_day=7.25)
    with pytest.raises(InputError):
        rate_calc(income=-98765, currency="CHF")
    text = _log_text(settings)
    assert "rate calculation done" in text and "quote built" in text and "rate advice served" in text
    needles = ["83417", "83,417", "12345", "0.2718", "171.5", "617.5", "-98765", "fr-paris", "mlops",
               f"{calc['day_rate']:.2f}", f"{calc['hour_rate']:.2f}", f"{calc['revenue']:.2f}",
               str(quote["total_high"]), str(quote["total_low"]), "secret_margin", "client_payroll", "0.6173",
               str(advice["high"]), "CHF"]
    for needle in needles:
        assert needle not in text, f"{needle!r} reached the log"
