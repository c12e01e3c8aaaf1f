"""The shipped guides: front matter, sources, length, and each guide expected by at least one eval question."""

from __future__ import annotations

import re

import pytest
import yaml

from bot.knowledge.evaluate import load_questions
from bot.knowledge.loaders import asked_questions, split_front_matter
from tests.conftest import ROOT

GUIDES = sorted((ROOT / "knowledge").rglob("*.md"))
TOPICS = {"rates", "ip", "methodology", "scoping", "communication", "practice", "delivery"}


def body_words(text: str) -> int:
    return len(re.findall(r"\S+", text))


@pytest.mark.parametrize("path", GUIDES, ids=lambda p: p.name)
def test_guide_front_matter_and_sources(path):
    meta, body = split_front_matter(path.read_text(encoding="utf-8"))
    for key in ("title", "topic", "tags", "jurisdiction", "updated", "sources"):
        assert meta.get(key), f"{path.name}: missing {key}"
    assert meta["topic"] in TOPICS and path.parent.name == meta["topic"]
    assert re.search(rf"^# {re.escape(meta['title'])}\s*$", body, re.M), "the H1 must equal the title"
    assert len(re.findall(r"^## ", body, re.M)) >= 3
    assert 600 <= body_words(body) <= 1500, body_words(body)
    for source in meta["sources"]:
        assert source.get("title") and source.get("date") and str(source.get("url", "")).startswith("http"), source
    if meta["topic"] == "ip":
        assert re.search(r"not[^.]{0,20}legal[^.]{0,10}advice", body.lower()), "IP guides say they are not legal advice"
        assert meta["jurisdiction"] and meta["jurisdiction"].lower() != "any"


@pytest.mark.parametrize("path", GUIDES, ids=lambda p: p.name)
def test_every_section_lists_the_questions_it_answers(path):
    """`asked:` maps each `##` heading, exactly as written, to 2 to 5 questions as users type them (search only);
    a renamed heading whose questions were left behind fails here."""
    meta, body = split_front_matter(path.read_text(encoding="utf-8"))
    headings = [h.strip() for h in re.findall(r"^#{2,3} (.+)$", body, re.M)]
    asked = asked_questions(meta)
    assert set(asked) == set(headings), (set(headings) ^ set(asked))
    for heading, questions in asked.items():
        assert 2 <= len(questions) <= 5 and all(15 <= len(q) <= 160 for q in questions), heading
        assert not any(re.search(r"\d+(\.\d+)?\s?%", q) for q in questions), heading  # no answer in the question


def test_every_guide_is_the_expected_answer_of_a_question():
    questions, oos = load_questions(ROOT / "evals" / "questions")
    assert len(questions) >= 60 and len(oos) >= 10
    expected = {q["guide"] for q in questions}
    for path in GUIDES:
        rel = path.relative_to(ROOT / "knowledge").as_posix()
        assert rel in expected, f"no eval question expects {rel}"


def test_must_mention_facts_appear_in_the_expected_section():
    questions, _ = load_questions(ROOT / "evals" / "questions")
    for q in questions:
        text = (ROOT / "knowledge" / q["guide"]).read_text(encoding="utf-8")
        heads = [m for m in re.finditer(r"^(#{2,3}) (.+)$", text, re.M)]
        match = [m for m in heads if m.group(2).strip() == q["section"]]
        assert match, f"{q['id']}: no heading '{q['section']}'"
        start = match[0].end()
        nxt = [m.start() for m in heads if m.start() > start and len(m.group(1)) <= len(match[0].group(1))]
        section = text[start: nxt[0] if nxt else len(text)].lower()
        assert 2 <= len(q["must_mention"]) <= 4, q["id"]
        for fact in q["must_mention"]:
            assert str(fact).lower() in section, f"{q['id']}: '{fact}' not in its section"


def test_rate_cards_are_not_guides():
    assert list((ROOT / "knowledge" / "rates").glob("*.yaml"))
    for card in (ROOT / "knowledge" / "rates").glob("*.yaml"):
        assert isinstance(yaml.safe_load(card.read_text()), dict)
