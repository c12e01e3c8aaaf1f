"""Questions typed partly in German, French or Spanish (bot/knowledge/foreign.py)."""

from __future__ import annotations

from bot.knowledge.foreign import in_english
from bot.knowledge.lexical import words
from bot.knowledge.spelling import Speller
from tests.conftest import make_core


def test_terms_read_in_english_whole_and_without_case_or_accents():
    assert in_english("Festpreis oder nach Aufwand?") == "fixed price oder time and materials?"
    assert in_english("je suis responsable de traitement ou sous-traitant") == "je suis controller ou processor"
    assert in_english("Stundensatz in München") == "hourly rate in Munich"
    assert in_english("validacion cruzada") == "cross-validation"  # typed without the accent
    assert in_english("the kundenservice team") == "the kundenservice team"  # a term inside a word is no term
    assert in_english("what's a fair day rate") == "what's a fair day rate"


def test_function_words_are_stopwords_and_accents_are_folded():
    assert words("Was ist ein normaler Stundensatz für ML") == words("Stundensatz ML")
    assert words("combien pour un data scientist avec expérience") == words("data scientist experience")
    assert "mit" in words("is the MIT licence ok")  # a function word that is also a licence's name stays


def test_a_word_with_accents_is_never_corrected_into_pieces():
    speller = Speller(["experience since rates for a data scientist"])
    assert speller.correct("5 ans d'expérience") == "5 ans d'expérience"
    assert speller.correct("je suis") == "je suis"


def test_a_covered_question_in_german_and_english_is_answered(full_kb_data_dir):
    core = make_core(full_kb_data_dir)
    result = core.ask("Kunde will Festpreis for a computer vision project, but the data is not ready yet. "
                      "Festpreis oder nach Aufwand?", user_id="foreign1")
    assert not result["declined"], result["answer"]
    assert any("fixed-price" in s["source"] or "pricing" in s["source"] for s in result["sources"])
