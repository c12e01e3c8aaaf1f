"""Acronyms the guides spell out are spelt out in the question (bot/knowledge/acronyms.py)."""

from __future__ import annotations

from bot.knowledge.acronyms import Acronyms

GUIDES = [
    "Put the deliverables in a statement of work (SOW). The statement of work lists what is in scope.",
    "Time and materials (T&M) bills the days worked; with time and materials the client carries the risk.",
    "Most machine learning (ML) work is ML work on data: ML, ML and ML again.",
    "Sign a data processing agreement (DPA) before any personal data moves.",
    "The United States (US) has its own rules.",
]


def test_the_long_form_follows_the_acronym_once():
    acronyms = Acronyms.from_texts(GUIDES, {"us"})
    assert acronyms.expand("what goes in an SOW for an ML project?") == \
        "what goes in an SOW (statement of work) for an ML project?"
    assert acronyms.expand("fixed price or T&M, and is T&M safer?") == \
        "fixed price or T&M (time and materials), and is T&M safer?"
    assert acronyms.expand("do i need a dpa") == "do i need a dpa (data processing agreement)"


def test_acronyms_the_guides_mostly_abbreviate_or_ordinary_words_stay():
    acronyms = Acronyms.from_texts(GUIDES, {"us"})
    assert "ML" not in acronyms.long  # abbreviated far more often than spelt out: it finds its passages
    assert acronyms.expand("is it different for us?") == "is it different for us?"  # the English word
    assert acronyms.expand("a statement of work or an SOW?") == "a statement of work or an SOW?"  # spelt already


def test_a_bracket_whose_initials_do_not_spell_it_defines_nothing():
    acronyms = Acronyms.from_texts(["We met the client (ACME) on Monday.", "a data set (SOW) here"])
    assert acronyms.long == {}


def test_an_acronym_the_question_spells_out_itself_is_read_as_its_words():
    acronyms = Acronyms.from_texts(GUIDES)
    assert acronyms.expand("they call it 'work made for hire'. can old code even be WMFH?") == \
        "they call it 'work made for hire'. can old code even be WMFH (work made for hire)?"
    assert acronyms.expand("I NEED HELP NOW with my rate") == "I NEED HELP NOW with my rate"  # shouting
    assert acronyms.expand("SOW or statement of work?") == "SOW or statement of work?"
