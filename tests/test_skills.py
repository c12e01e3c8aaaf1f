"""Skill cards: every shipped card loads; the schema names the file and key of a mistake."""

from __future__ import annotations

import pytest

from bot.errors import ConfigError
from bot.skills import load_skills
from bot.skills.cards import load_skill
from tests.conftest import ROOT


def test_every_shipped_card_loads():
    skills = load_skills(ROOT / "skills")
    assert {"rates", "ip", "methodology", "scoping"} <= set(skills.names())
    for card in skills:
        assert card.examples and card.instructions
    ip = skills.get("ip")
    assert "not legal advice" in ip.disclaimer and "jurisdiction" in ip.disclaimer
    assert skills.get("rates").private is True
    assert any(c.declines for c in skills)  # a card of questions to decline


def test_unknown_key_names_file_and_key(tmp_path):
    card = tmp_path / "pricing.yaml"
    card.write_text("name: pricing\ndescription: Pricing help for freelancers.\nexamples: ['a?', 'b?', 'c?']\n"
                    "instructions: Answer well.\ncolour: blue\n")
    with pytest.raises(ConfigError) as err:
        load_skill(card)
    assert "pricing.yaml" in str(err.value) and "colour" in str(err.value)


def test_name_must_match_file(tmp_path):
    card = tmp_path / "alpha.yaml"
    card.write_text("name: beta\ndescription: A skill card for tests.\nexamples: ['a?', 'b?', 'c?']\ninstructions: Do it.\n")
    with pytest.raises(ConfigError, match="must match"):
        load_skill(card)


def test_adding_a_skill_is_adding_a_file(tmp_path, kb_data_dir):
    import shutil

    from tests.conftest import make_core

    skills = tmp_path / "skills"
    shutil.copytree(ROOT / "skills", skills)
    (skills / "taxes.yaml").write_text(
        "description: Tax questions of UK freelancers such as IR35 deductions and take-home pay.\n"
        "examples:\n  - How much tax do I pay inside IR35?\n  - What does IR35 do to my take-home pay?\n"
        "  - Are PAYE and national insurance deducted from my contract?\n"
        "topics: [ip]\ninstructions: Explain tax effects plainly.\n"
        "disclaimer: Not tax advice; ask an accountant.\n")
    core = make_core(kb_data_dir, **{"paths.skills": str(skills)})
    r = core.ask("What does inside IR35 do to my take-home pay?")
    assert r["skill"] == "taxes" and "Not tax advice" in r["answer"]


def test_intents_are_patterns_on_declining_cards_only(tmp_path):
    card = tmp_path / "tricks.yaml"
    body = "name: tricks\ndescription: Requests to decline in tests.\nexamples: ['a?', 'b?', 'c?']\ninstructions: Decline it politely.\n"
    card.write_text(body + "declines: true\nintents: ['(unclosed']\n")
    with pytest.raises(ConfigError, match="not a regular expression"):
        load_skill(card)
    card.write_text(body + "intents: ['\\bfake\\b']\n")
    with pytest.raises(ConfigError, match="declines: true"):
        load_skill(card)
    card.write_text(body + "declines: true\nintents: ['\\bfake\\b']\n")
    assert load_skill(card).intents == [r"\bfake\b"]
