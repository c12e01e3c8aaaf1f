"""The sentence rerank of ask's retrieval: of two passages about the subject, the one with a sentence
that answers the question comes first (retrieval.sentence_weight, retrieval.rerank_depth)."""

from __future__ import annotations

from bot.knowledge.embeddings import encode
from bot.knowledge.retrieve import Hit
from tests.conftest import make_core

QUESTION = "what were the 10th and 90th percentile ML contract day rates in the UK?"


def _hit(core, section: str, score: float) -> Hit:
    corpus = core.knowledge.retriever.corpus()
    i = next(i for i, m in enumerate(corpus.metas)
             if m.get("source", "").endswith("uk-ml-day-rates.md") and m.get("section", "").endswith(section))
    return Hit(id=corpus.ids[i], text=corpus.texts[i], meta=corpus.metas[i], score=score, dense=0.5, lexical=0.5)


def _ranked(core):
    # The trend section first by fused score, the spread section (which states the percentiles) close behind.
    return [_hit(core, "Trend in UK ML day rates, 2024 to 2026", 0.10),
            _hit(core, "Spread of UK ML day rates", 0.095),
            _hit(core, "Hourly rates for UK ML contracts", 0.05)]


def test_the_passage_whose_sentence_answers_comes_first(kb_data_dir):
    core = make_core(kb_data_dir, **{"retrieval.sentence_weight": 1.5, "retrieval.rerank_depth": 2})
    qvec = encode(core.knowledge.embeddings, [QUESTION])[0]
    out = core.knowledge.asker._rerank(_ranked(core), qvec)
    assert [h.section.split(" > ")[-1] for h in out] == [
        "Spread of UK ML day rates", "Trend in UK ML day rates, 2024 to 2026", "Hourly rates for UK ML contracts"]
    assert out[0].score == 0.10 and out[1].score < out[0].score  # rescaled to the new order, same scale
    assert out[2].score == 0.05  # below the depth: untouched


def test_weight_zero_keeps_the_fused_order(kb_data_dir):
    core = make_core(kb_data_dir, **{"retrieval.sentence_weight": 0.0})
    qvec = encode(core.knowledge.embeddings, [QUESTION])[0]
    ranked = _ranked(core)
    assert core.knowledge.asker._rerank(ranked, qvec) == ranked


def test_ask_leads_with_the_section_that_answers(kb_data_dir):
    # By fused score alone the billable-hours rules of thumb come first; the billable-days section answers.
    core = make_core(kb_data_dir, **{"retrieval.sentence_weight": 1.5, "retrieval.rerank_depth": 2})
    answer = core.ask("how many days a year can a freelancer realistically bill?")
    assert not answer["declined"]
    assert answer["sources"][0]["section"].endswith("How many billable days a year")


# A guide's opening overview says what the guide covers; the section it points to says it
# (retrieval.overview_weight scales the overview's fused score against its own guide's sections).
OVERVIEW_QUESTION = "how do i turn an income target into a day rate?"


def test_overviews_are_the_openings_of_sectioned_guides(kb_data_dir):
    corpus = make_core(kb_data_dir).knowledge.retriever.corpus()
    assert corpus.overviews
    assert all(" > " not in corpus.metas[i]["section"] for i in corpus.overviews)
    assert not any(" > " not in m["section"] and i not in corpus.overviews
                   for i, m in enumerate(corpus.metas)
                   if any(" > " in n["section"] and n["source"] == m["source"] for n in corpus.metas))


def test_a_section_outranks_its_guides_overview(kb_data_dir):
    # (the ranker of sections by their `asked:` questions leaves overviews out: off here, to see the weight)
    equal = make_core(kb_data_dir, **{"retrieval.overview_weight": 1.0, "retrieval.asked_weight": 0.0}
                      ).knowledge.retriever.search(OVERVIEW_QUESTION)
    assert " > " not in equal[0].section  # on equal terms the overview comes first
    weighted = make_core(kb_data_dir, **{"retrieval.overview_weight": 0.6, "retrieval.asked_weight": 0.0}
                         ).knowledge.retriever.search(OVERVIEW_QUESTION)
    assert weighted[0].section.endswith("The formula from target income to day rate")


def test_a_guide_about_the_detail_the_question_names_comes_first(kb_data_dir):
    """"senior": of two close passages, the one from a guide whose tags name the seniority asked about
    comes first with retrieval.detail_boost; at 0 the fused order stays, and a detail class left out of
    retrieval.detail_classes boosts nothing."""
    from dataclasses import replace

    from bot.knowledge import conversation

    def first(**overrides):
        core = make_core(kb_data_dir, **overrides)
        asker = core.knowledge.asker
        parts = asker.parts(core.knowledge.retriever.refresh())
        parts = replace(parts, guide_details={"premiums.md": {("seniority", "senior")}})
        turn = conversation.interpret("what day rate for a senior ML engineer in the uk?", [], parts.vocab)
        hits = [Hit(id="a", text="UK day rates.", meta={"source": "uk.md"}, score=0.100, dense=0.5, lexical=0.5),
                Hit(id="b", text="Seniority premiums.", meta={"source": "premiums.md"}, score=0.095, dense=0.5,
                    lexical=0.5)]
        return asker._prefer_details(hits, turn, parts)[0].meta["source"]

    assert first(**{"retrieval.detail_boost": 0.2}) == "premiums.md"
    assert first(**{"retrieval.detail_boost": 0.0}) == "uk.md"
    assert first(**{"retrieval.detail_boost": 0.2, "retrieval.detail_classes": ["platform"]}) == "uk.md"
