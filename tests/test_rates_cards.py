"""Rate cards: every shipped entry is sourced and dated; advice carries its sources; unknown values list the known."""

from __future__ import annotations

import itertools
import re
from datetime import date
from pathlib import Path

import pytest
import yaml

from bot.config import PROJECT_ROOT, Settings, load_settings
from bot.errors import ConfigError, InputError
from bot.rates.advice import advise
from bot.rates.cards import ENGAGEMENTS, SENIORITIES, SPECIALTIES, RateBook
from bot.rates.render import rate_markdown, rate_share_markdown

CARDS = PROJECT_ROOT / "knowledge" / "rates"
FACTS = PROJECT_ROOT.parent / "shared" / "FACTS.md"
TODAY = date(2026, 11, 26)


def _settings(tmp_path: Path, **overrides) -> Settings:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump({"paths": {"rate_cards": str(CARDS)}}), encoding="utf-8")
    return load_settings(cfg, env={}, data_dir=tmp_path / "data", overrides=overrides)


@pytest.fixture
def book(tmp_path) -> RateBook:
    s = _settings(tmp_path)
    return RateBook.load(s.rate_cards_dir, s)


def _card_files():
    return sorted(CARDS.glob("*.yaml"))


def test_every_shipped_entry_has_source_date_period_and_strength():
    files = _card_files()
    assert files, "no rate cards shipped"
    seen = 0
    for path in files:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for i, e in enumerate(data.get("entries", [])):
            where = f"{path.name} entries.{i}"
            assert e["source"]["title"] and e["source"]["url"].startswith("http"), where
            assert e["source"]["date"], where
            assert e["period"], where
            assert e["strength"] in ("strong", "fair", "weak"), where
            assert e["currency"] and e["unit"] in ("hour", "day"), where
            assert any(e.get(k) is not None for k in ("low", "typical", "high")), where
            seen += 1
        for i, f in enumerate(data.get("factors", [])):
            if f.get("multiplier"):
                assert f["source"]["url"] and f["source"]["date"] and f["strength"], f"{path.name} factors.{i}"
    assert seen >= 10


def test_cards_cover_the_required_regions_and_levels(book):
    for region in ("uk", "us", "de", "fr"):
        assert region in book.known_regions()
    levels = {e.seniority for e in book.entries}
    assert {"junior", "mid", "senior", "lead"} <= levels


@pytest.mark.skipif(not FACTS.is_file(), reason="shared/FACTS.md is not beside the repository")
def test_every_card_figure_appears_in_facts():
    """Never an invented number: each low/typical/high is a figure FACTS.md gives."""
    text = FACTS.read_text(encoding="utf-8")
    for path in _card_files():
        for i, e in enumerate(yaml.safe_load(path.read_text(encoding="utf-8")).get("entries", [])):
            for key in ("low", "typical", "high"):
                x = e.get(key)
                if x is None:
                    continue
                forms = {f"{x:g}", f"{x:,g}", f"{x:,.0f}" if float(x).is_integer() else f"{x:,.2f}"}
                assert any(re.search(rf"(?<![\d.,]){re.escape(f)}(?![\d])", text) for f in forms), \
                    f"{path.name} entries.{i}.{key} = {x} is not in FACTS.md"


def test_shipped_config_default_region_has_a_card():
    raw = yaml.safe_load((PROJECT_ROOT / "config.yaml").read_text(encoding="utf-8"))
    settings = Settings.model_validate({"rates": raw.get("rates") or {}, "paths": {"rate_cards": str(CARDS)}})
    book = RateBook.load(settings.rate_cards_dir, settings)
    assert settings.rates.default_region in book.known_regions()


def test_every_choice_carries_sources_and_dates(book):
    for region, level, specialty, engagement in itertools.product(book.known_regions(), SENIORITIES, SPECIALTIES,
                                                                  ENGAGEMENTS):
        r = advise(book, region=region, seniority=level, specialty=specialty, engagement=engagement, today=TODAY)
        label = f"{region}/{level}/{specialty}/{engagement}"
        assert r["sources"], label
        for s in r["sources"]:
            assert s["title"] and s["url"].startswith("http") and s["date"], label
            assert s["strength"] in ("strong", "fair", "weak"), label
        figures = [r[k] for k in ("low", "typical", "high")]
        if r["evidence"] == "nearest":
            assert figures == [None, None, None], label
            assert r["nearest"]["source"]["date"], label
            assert any(w["code"] == "no_evidence" for w in r["warnings"]), label
        else:
            assert any(x is not None for x in figures), label
            assert r["currency"] and r["unit"] in ("hour", "day"), label
            assert any(s["used_for"] == "figures" for s in r["sources"]), label
            present = [x for x in figures if x is not None]
            assert present == sorted(present), label
        assert {"name", "effect", "why"} <= set(r["factors"][0]), label


def test_uk_senior_keeps_the_all_levels_spread_and_says_why(book):
    r = advise(book, region="uk", seniority="senior", today=TODAY)
    assert (r["currency"], r["unit"]) == ("GBP", "day")
    assert (r["low"], r["typical"], r["high"]) == (475, 625, 700)
    assert r["evidence"] == "sourced"
    seniority = r["factors"][0]
    assert seniority["name"] == "seniority" and "£570 → £625" in seniority["effect"]
    titles = {s["title"]: s for s in r["sources"]}
    assert titles["ITJobsWatch: Machine Learning contracts, UK"]["date"] == "2026-01-27"
    assert any(w["code"] == "weak_evidence" for w in r["warnings"])
    assert not any(w["code"] == "old_evidence" for w in r["warnings"])  # 10 months old, under 18


def test_defaults_come_from_settings(book):
    r = advise(book, today=TODAY)
    assert (r["region"], r["seniority"], r["specialty"], r["engagement"]) == ("uk", "senior", "general", "contract")


def test_premium_multiplier_is_sourced_and_explained(book):
    r = advise(book, region="uk", seniority="senior", specialty="llm", today=TODAY)
    # 475 x 1.25 = 593.75, 625 x 1.25 = 781.25, 700 x 1.60 = 1,120
    assert (r["low"], r["typical"], r["high"]) == (594, 781, 1120)
    factor = next(f for f in r["factors"] if f["name"] == "specialty")
    assert "25-60%" in factor["why"] and "Weak" in factor["why"]
    assert any(s["used_for"] == "specialty factor" and s["strength"] == "weak" for s in r["sources"])


@pytest.mark.parametrize("specialty, engagement", [("nlp", "contract"), ("cv", "contract"), ("timeseries", "contract"),
                                                   ("general", "advisory"), ("general", "fixed")])
def test_no_evidence_means_no_multiplier(book, specialty, engagement):
    base = advise(book, region="fr", seniority="senior", today=TODAY)
    r = advise(book, region="fr", seniority="senior", specialty=specialty, engagement=engagement, today=TODAY)
    assert (r["low"], r["typical"], r["high"]) == (base["low"], base["typical"], base["high"])
    factor = next(f for f in r["factors"] if f["name"] in ("specialty", "engagement"))
    assert factor["effect"] == "none" and "No source" in factor["why"]


def test_cell_without_evidence_points_to_the_nearest_figure(book):
    r = advise(book, region="us", seniority="junior", today=TODAY)
    assert r["evidence"] == "nearest"
    assert (r["low"], r["typical"], r["high"]) == (None, None, None)
    assert r["nearest"]["seniority"] == "senior" and (r["nearest"]["low"], r["nearest"]["high"]) == (900, 1300)
    assert "No sourced figure" in rate_markdown(r)


def test_all_levels_fallback_is_said_plainly(book):
    r = advise(book, region="uk", seniority="mid", today=TODAY)
    assert r["evidence"] == "all_levels" and (r["low"], r["typical"], r["high"]) == (475, 570, 700)
    assert any(w["code"] == "no_level_figure" for w in r["warnings"])


def test_old_and_undated_sources_warn(book):
    de = advise(book, region="de", seniority="senior", today=TODAY)
    assert any(w["code"] == "old_evidence" and "2020" in w["message"] for w in de["warnings"])
    fr = advise(book, region="fr", seniority="mid", today=TODAY)
    assert any(w["code"] == "undated_evidence" for w in fr["warnings"])
    later = advise(book, region="uk", seniority="mid", today=date(2028, 1, 1))
    assert any(w["code"] == "old_evidence" for w in later["warnings"])


@pytest.mark.parametrize("field, value, known", [
    ("region", "mars", "uk"), ("seniority", "wizard", "junior"), ("specialty", "quantum", "nlp"),
    ("engagement", "barter", "advisory"),
])
def test_unknown_values_list_the_known_ones(book, field, value, known):
    with pytest.raises(InputError) as err:
        advise(book, **{field: value})
    text = str(err.value)
    assert value in text and known in text and "Known" in text


def test_currency_is_kept_and_conversions_state_rate_and_date(tmp_path):
    plain = _settings(tmp_path)
    r = advise(RateBook.load(plain.rate_cards_dir, plain), region="de", seniority="senior", today=TODAY)
    assert r["currency"] == "EUR" and r["conversions"] == []
    fx = {"date": "2026-11-02", "source": "test table", "per_eur": {"GBP": 0.8, "USD": 1.25}}
    s = _settings(tmp_path, **{"rates.fx": fx})
    r = advise(RateBook.load(s.rate_cards_dir, s), region="de", seniority="senior", today=TODAY)
    assert r["currency"] == "EUR" and r["typical"] == 93  # the source figure is unchanged
    gbp = next(c for c in r["conversions"] if c["currency"] == "GBP")
    assert gbp["typical"] == 74.4 and gbp["rate"] == 0.8 and gbp["date"] == "2026-11-02"
    assert "2026-11-02" in gbp["note"] and "test table" in gbp["note"]
    assert "2026-11-02" in rate_markdown(r)


def test_share_markdown_has_market_figures_only(book):
    r = advise(book, region="uk", seniority="senior", today=TODAY)
    md = rate_share_markdown(r)
    assert "£475" in md and "ITJobsWatch" in md
    assert "your" not in md.lower() and "rate calc" not in md


# Card validation -----------------------------------------------------------------------------------

GOOD = {
    "regions": {"xx": {"name": "Test land"}},
    "entries": [{
        "region": "xx", "seniority": "all", "role": "test roles", "currency": "GBP", "unit": "day", "typical": 500,
        "basis": "a median", "period": "2026", "strength": "fair",
        "source": {"title": "A source", "url": "https://example.org/a", "date": "2026-01"},
    }],
}


def _load_card(tmp_path, data, settings_dir):
    folder = tmp_path / "cards"
    folder.mkdir(exist_ok=True)
    (folder / "bad.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    s = _settings(settings_dir, **{"rates.default_region": "xx"})
    return RateBook.load(folder, s)


def test_a_good_minimal_card_loads(tmp_path):
    book = _load_card(tmp_path, GOOD, tmp_path)
    assert book.known_regions() == ["xx"]


@pytest.mark.parametrize("mutate, words", [
    (lambda d: d["entries"][0].pop("source"), ["bad.yaml", "entries.0.source"]),
    (lambda d: d["entries"][0]["source"].update(date="last year"), ["bad.yaml", "entries.0.source.date"]),
    (lambda d: d["entries"][0].update(colour="red"), ["bad.yaml", "entries.0.colour", "allowed"]),
    (lambda d: d["entries"][0].update(low=900), ["bad.yaml", "ordered"]),
    (lambda d: d["entries"][0].update(region="yy"), ["bad.yaml", "entries.0.region", "xx"]),
    (lambda d: d["entries"][0].update(strength="[B]"), ["bad.yaml", "entries.0.strength"]),
    (lambda d: d.update(factors=[{"name": "specialty", "value": "llm", "why": "because it is popular",
                                  "multiplier": {"low": 1.1, "typical": 1.2, "high": 1.3}}]),
     ["bad.yaml", "factors.0", "needs a source"]),
    (lambda d: d["entries"].append(dict(d["entries"][0])), ["bad.yaml", "already"]),
])
def test_bad_cards_name_the_file_and_key(tmp_path, mutate, words):
    import copy

    data = copy.deepcopy(GOOD)
    mutate(data)
    with pytest.raises(ConfigError) as err:
        _load_card(tmp_path, data, tmp_path)
    for w in words:
        assert w in str(err.value)


def test_missing_folder_and_unknown_default_region(tmp_path):
    s = _settings(tmp_path)
    with pytest.raises(ConfigError):
        RateBook.load(tmp_path / "nowhere", s)
    s2 = _settings(tmp_path, **{"rates.default_region": "atlantis"})
    with pytest.raises(ConfigError) as err:
        RateBook.load(s2.rate_cards_dir, s2)
    assert "atlantis" in str(err.value) and "uk" in str(err.value)


def test_a_sourced_specialty_cell_wins_over_the_multiplier(tmp_path):
    import copy

    data = copy.deepcopy(GOOD)
    llm = dict(data["entries"][0], specialty="llm", typical=650, role="LLM contracts")
    data["entries"].append(llm)
    data["factors"] = [{"name": "specialty", "value": "llm", "why": "a claimed premium for the test",
                        "multiplier": {"low": 1.25, "typical": 1.25, "high": 1.6}, "strength": "weak",
                        "source": {"title": "Premium claim", "url": "https://example.org/p", "date": "2026"}}]
    book = _load_card(tmp_path, data, tmp_path)
    r = advise(book, region="xx", seniority="senior", specialty="llm", today=TODAY)
    assert r["typical"] == 650 and r["role"] == "LLM contracts"
    assert "own entry" in next(f for f in r["factors"] if f["name"] == "specialty")["effect"]
    r = advise(book, region="xx", seniority="senior", specialty="mlops", today=TODAY)
    assert r["typical"] == 500  # no mlops factor in this card: no evidence, no change
