"""Answer composition and retrieval fairness: sentence cleaning, lead-ins, leads, figures, footers,
exact identifiers, and library docs without front matter beside the shipped guides."""

from __future__ import annotations

import re

import pytest
import yaml

from bot.config import Compose
from bot.knowledge.compose import clean_inline, extract, footer, split_sentences, split_units
from bot.knowledge.lexical import BM25, identifiers, words
from bot.knowledge.retrieve import Hit, spelt_apart, typed_lower
from tests.conftest import ROOT, make_core

_MASKED = re.compile(r"\[[^\]]*\]\([^)]*\)")


@pytest.mark.parametrize("markdown", [
    "Read the [rate guide]**(https://evil.example/x)** before you quote a day rate to any client.",
    "Read the [rate guide]`(https://evil.example/x)` before you quote a day rate to any client.",
    "Read the **[rate guide]**(https://evil.example/x) before you quote a day rate to any client.",
    "Read the [rate [guide](https://a.example)](https://evil.example/x) before you quote a day rate.",
    "Read the _[rate guide]_(https://evil.example/x) before you quote a day rate to any client today.",
    "See ![chart](https://evil.example/c.png) and [the (weird) guide](https://e.example/a_(b)) for the rates.",
])
def test_cleaned_sentences_never_carry_a_masked_link(markdown):
    text = " ".join(s for _, s in split_sentences(markdown))
    assert text and not _MASKED.search(text) and "](" not in text, text
    assert "rate guide" in text or "chart" in text


def test_clean_inline_keeps_the_words():
    assert clean_inline("The **median** is `£570` per [day](https://x.example/d_(1))") == "The median is £570 per day"


def test_sentences_are_not_split_at_initials_or_abbreviations():
    text = ("The test comes from J. K. Smith at the U.S. Copyright Office, e.g. in its 2023 note. "
            "Section s. 80 CDPA gives the author a right to object to derogatory treatment of the work.")
    assert [s for _, s in split_sentences(text)] == [
        "The test comes from J. K. Smith at the U.S. Copyright Office, e.g. in its 2023 note.",
        "Section s. 80 CDPA gives the author a right to object to derogatory treatment of the work.",
    ]


def test_sentences_are_not_split_at_circa_and_end_before_a_lower_case_code_name():
    text = ("Salaries rose fastest for ML specialists (Computer Weekly, c. 2017). The figure is several years old by now. "
            "ROC-AUC is a trapezoid sum. scikit-learn's roc_auc_score computes it, e.g. scikit-learn 1.5 does.")
    assert [s for _, s in split_sentences(text)] == [
        "Salaries rose fastest for ML specialists (Computer Weekly, c. 2017).", "The figure is several years old by now.",
        "ROC-AUC is a trapezoid sum.", "scikit-learn's roc_auc_score computes it, e.g. scikit-learn 1.5 does.",
    ]


def test_a_lead_in_travels_with_its_items_or_is_dropped():
    text = ("Before signing, check the following points in the contract:\n\n- the payment terms and the deposit\n"
            "- who owns the trained model weights\n\nA second paragraph that ends with a colon but has no list:\n\n"
            "Plain text follows here, long enough to be a sentence of its own.")
    units = split_units(text)
    lead = [u for u in units if u[1].startswith("Before signing")]
    assert lead and lead[0][2] == ["the payment terms and the deposit", "who owns the trained model weights"]
    assert not any(u[1].startswith("A second paragraph") for u in units)
    assert not any(u[1] == "the payment terms and the deposit" for u in units)  # only with its lead-in
    # A list too long to travel with its lead-in keeps its items and loses the lead-in.
    long_list = "The steps are:\n\n" + "\n".join(f"- step number {i} of a very long checklist of work" for i in range(30))
    units = split_units(long_list, max_list_chars=300)
    assert not any(u[1] == "The steps are:" for u in units) and len(units) == 30
    # A lead-in too short to be a sentence alone still carries its list (it was lost with its items).
    units = split_units("State ownership in writing. Useful points to agree:\n\n- a signed assignment of copyright\n"
                        "- your pre-existing tools excluded from it")
    assert ("Useful points to agree:", ["a signed assignment of copyright", "your pre-existing tools excluded from it"]) \
        in [(u[1], u[2]) for u in units]


def test_sentences_about_the_guide_itself_are_dropped():
    text = ("This guide sums up UK day rates for machine-learning contractors. It covers medians, spreads and "
            "IR35. It is written for contractors who quote UK clients. The UK median was £570 per day in 2026.")
    assert [s for _, s in split_sentences(text)] == ["The UK median was £570 per day in 2026."]


def test_footer_lists_whole_jurisdictions_only():
    class Card:
        name, disclaimer = "ip", "Not legal advice."

    hits = [Hit(id=str(i), text="", meta={"jurisdiction": f"Jurisdiction number {i} with a long descriptive name"},
                score=1.0, dense=0.5, lexical=0.5) for i in range(8)]
    text = footer(Card(), hits, limit=120)
    listed = text.split("cited guides: ", 1)[1]
    assert text.endswith("._") and "more." in listed
    for entry in listed.rsplit(" and ", 1)[0].split("; "):
        assert re.fullmatch(r"Jurisdiction number \d with a long descriptive name", entry), entry


def test_identifiers_cover_code_statutes_and_names():
    names = identifiers("Is cross_val_score with StratifiedKFold(random_state=None) ok? s.80 CDPA, §31 UrhG, "
                        "Article 28(10), IR35, sklearn.model_selection.GridSearchCV")
    assert {"cross_val_score", "stratifiedkfold", "random_state", "s.80", "cdpa", "§31", "urhg", "art.28",
            "art.28(10)", "ir35", "gridsearchcv", "model_selection"} <= names
    assert not identifiers("what day rate should i charge in london for a three month contract?")


def test_identifiers_typed_as_separate_words_are_found():
    names = {"groupkfold", "kfold", "cross_val_score", "timeseriessplit"}
    assert spelt_apart("whats the difference with group k fold", names) == {"groupkfold"}  # the longest run
    assert spelt_apart("how does cross val score work? and k-fold", names) == {"cross_val_score", "kfold"}
    assert spelt_apart("time series split vs a random split", names) == {"timeseriessplit"}
    assert not spelt_apart("what day rate should i charge", names)


# On the real small index ------------------------------------------------------------------------


def _hits(kb_core, question):
    qvec = kb_core.knowledge.retriever.embed_query(question)
    return qvec, kb_core.knowledge.retriever.search(question, query_vector=qvec)


def test_answer_leads_with_the_sections_opening_and_stays_in_its_guide(kb_core):
    question = "What is the median day rate for machine learning contracts in the UK?"
    r = kb_core.ask(question)
    body = r["answer"].split("\n\n_")[0]
    assert body.startswith("The UK median day rate for contract jobs that mention Machine Learning was £570")
    assert len(re.findall(r" \[\d\]", body)) <= kb_core.settings.answer.max_sentences
    assert r["sources"] and all(s["source"].endswith("rates/uk-ml-day-rates.md") for s in r["sources"])


def test_no_figure_is_repeated_from_another_section(kb_core):
    question = "What is the UK median ML day rate and what should I quote?"
    qvec, hits = _hits(kb_core, question)
    kb = kb_core.knowledge
    picked = extract(question, qvec, hits, kb.sentence_vectors, kb.retriever.corpus().bm25, max_sentences=7,
                     max_chars=1800, weights=kb_core.settings.compose)
    seen: dict[str, str] = {}
    for s in picked:
        for figure in re.findall(r"£\d[\d,]*", s.render):
            assert seen.setdefault(figure, hits[s.hit].section) == hits[s.hit].section, (figure, s.text)


def test_compose_weights_come_from_config(kb_data_dir):
    question = "How do I avoid data leakage when I scale features?"
    strict = make_core(kb_data_dir, **{"compose.support": 1.0, "compose.other": 1.0, "compose.same_guide": 1.0})
    loose = make_core(kb_data_dir, **{"compose.support": 0.0, "compose.other": 0.0, "compose.other_gain": 0.0,
                                      "compose.same_guide": 0.0})
    n_strict = len(re.findall(r" \[\d\]", strict.ask(question)["answer"]))
    n_loose = len(re.findall(r" \[\d\]", loose.ask(question)["answer"]))
    assert n_strict < n_loose


def _passage(source: str, section: str, text: str, score: float) -> Hit:
    return Hit(id=f"{source}#{section}", text=text, meta={"source": source, "section": section}, score=score,
               dense=0.5, lexical=0.5)


def _picked_texts(question: str, hits: list[Hit], **weights) -> list[str]:
    """The sentences extract picks from these passages by words, rank and section openings alone."""
    bm25 = BM25([words(h.text) for h in hits])
    picked = extract(question, None, hits, None, bm25, max_sentences=7, max_chars=1800,
                     weights=Compose(sem=0.0, lex=0.6, prior=2.0, lead=0.1, **weights))
    return [p.text for p in picked]


def test_another_section_of_the_leads_guide_joins_before_another_guides():
    """Two passages as relevant as each other, after the lead: the one from the lead's own guide joins at
    `same_guide`, the one from another guide needs `other` (and with both at 0.95 neither joins)."""
    question = "how do i set my freelance day rate"
    hits = [_passage("rates/a.md", "A > Day rates", "Set your freelance day rate from a target income first.", 1.0),
            _passage("rates/a.md", "A > Billable days", "Most freelancers bill about 180 days in a year.", 0.6),
            _passage("rates/b.md", "B > Platforms", "Most platforms take about ten percent of each invoice.", 0.6)]
    bm25 = BM25([words(h.text) for h in hits])

    def sources(**weights):
        picked = extract(question, None, hits, None, bm25, max_sentences=7, max_chars=1800,
                         weights=Compose(sem=0.0, lex=0.6, prior=2.0, lead=0.1, **weights))
        return [hits[s.hit].meta["source"] + " " + hits[s.hit].section for s in picked]

    mixed = sources(same_guide=0.3, other=0.95)
    assert mixed == ["rates/a.md A > Day rates", "rates/a.md A > Billable days"]
    assert sources(same_guide=0.95, other=0.95) == ["rates/a.md A > Day rates"]
    assert sources(same_guide=0.3, other=0.3)[-1] == "rates/b.md B > Platforms"


def test_a_sentence_giving_only_figures_the_answer_gave_is_left_out():
    """A section's lead restates the figures its next sentence gives: the answer states them once, and
    keeps a sentence that adds a figure of its own."""
    question = "how many billable hours a year should a freelancer plan for"
    text = ("Plan for billable hours of 60% to 80% of working time, about 1,000 to 1,600 hours a year. "
            "Calculator sites say billable hours are typically 60% to 80% of working time, or 1,000 to 1,600 "
            "hours a year. New freelancers bill about 50% of their working hours in their first year.")
    texts = _picked_texts(question, [_passage("rates/a.md", "A > Billable hours", text, 1.0)], support=0.0)
    assert texts[0].startswith("Plan for billable hours") and len(texts) == 2, texts
    assert texts[1].startswith("New freelancers bill about 50%")


@pytest.mark.parametrize(("question", "lead", "survey", "guide", "score", "weights", "survey_shown"), [
    # The question's words pick "The same survey ...", which says little on its own: the answer takes
    # the sentence it points back to instead.
    ("how long does data visualisation take",
     "Data preparation is the largest single block of work in most ML projects.",
     "A 2020 survey of about 2,400 data scientists put data preparation at about 45% of the working week. "
     "The same survey put data visualisation at about 21% of the time it takes.",
     "m/a.md", 0.9, {"same_guide": 0.3, "same_guide_max": 1}, True),
    # The sentence it points back to is left out (it gives "19%", which another guide's section gave):
    # the pointing sentence is left out too, as alone it names a survey the reader never saw.
    ("how much time goes on data cleaning and loading",
     "Data scientists spent about 60% of their time cleaning data and 19% collecting it in 2016.",
     "A 2020 survey put data cleaning at about 26% and data loading at about 19% of the time. "
     "The same survey put model training at about 11% of the time.",
     "m/b.md", 0.7, {"other": 0.3, "other_max": 2}, False),
])
def test_a_sentence_that_points_back_is_never_shown_without_the_one_it_points_to(question, lead, survey, guide,
                                                                                  score, weights, survey_shown):
    hits = [_passage("m/a.md", "A > Time", lead, 1.0), _passage(guide, "B > Survey", survey, score)]
    texts = _picked_texts(question, hits, **weights)
    assert texts[0] == lead, texts
    assert any(t.startswith("A 2020 survey") for t in texts) is survey_shown, texts
    if survey_shown:
        assert texts[-1].startswith("A 2020 survey"), texts
    assert not any(t.startswith("The same survey") for t in texts), texts


def test_a_lead_that_concludes_from_the_sentence_before_comes_after_it():
    """"The Swiss average was therefore ..." is the best sentence for "how much higher are swiss rates than
    german ones", but alone it concludes from a figure the reader never saw: the sentence it concludes
    from comes first."""
    text = ("Freelancers everywhere report what they bill in surveys each year. "
            "Switzerland topped the 2020 survey, at 129 euros per hour against 93 in Germany. "
            "The Swiss average was therefore about 39% higher than the German average rates.")
    texts = _picked_texts("how much higher are swiss average rates than german average rates",
                          [_passage("rates/d.md", "D > Compared", text, 1.0)], support=0.0, lead_share=1.0)
    assert texts[0].startswith("Switzerland topped"), texts
    assert any(t.startswith("The Swiss average was therefore") for t in texts[1:]), texts


def test_the_lead_section_is_read_whole_when_it_spans_chunks(tmp_path):
    """A section whose opening answer became a chunk of its own: with `compose.whole_sections` the
    answer reads the rest of the section too (the second chunk is never retrieved on its own)."""
    from bot.knowledge.retrieve import Corpus, whole_sections

    metas = [{"source": "c/a.md", "section": "A > Bad news", "position": 0},
             {"source": "c/a.md", "section": "A > Bad news", "position": 1},
             {"source": "c/a.md", "section": "A > Updates", "position": 2}]
    texts = ["Tell the client bad news as soon as you are sure.",
             "you are sure. Offer options such as stopping after the feasibility report.",
             "Send a short weekly update."]
    corpus = Corpus(ids=["0", "1", "2"], texts=texts, metas=metas, vectors=None, headings=None, asked=None,
                    asked_of=None, bm25=BM25([words(t) for t in texts]), tokens=[set(words(t)) for t in texts], generation="g",
                    opens={0, 2}, sections={("c/a.md", "A > Bad news"): [0, 1], ("c/a.md", "A > Updates"): [2]})
    hits = [Hit(id=str(i), text=texts[i], meta=metas[i], score=1.0 - i / 10, dense=0.5, lexical=0.5) for i in (0, 2, 1)]
    read = whole_sections(hits, corpus, 1)
    assert [h.id for h in read] == ["0", "2"]  # the later chunk of the section read whole is not read twice
    assert read[0].text.endswith("Offer options such as stopping after the feasibility report.")
    assert read[0].text.count("you are sure.") == 1  # the splitter's overlap is not repeated
    assert whole_sections(hits, corpus, 0) == hits


# Library docs and a template without front matter, beside the shipped guides -------------------

LIBRARY = ROOT / "tests" / "data" / "library"
LIBRARY_QUESTIONS = ROOT / "tests" / "data" / "library_questions.yaml"  # with the file and section of each


@pytest.fixture(scope="module")
def library_core(tmp_path_factory, small_guides):
    data = tmp_path_factory.mktemp("libdata")
    core = make_core(data)
    core.ingest([small_guides, LIBRARY])
    return core


def test_library_docs_without_front_matter_rank_for_the_names_they_document(library_core):
    from evals.eval_library import evaluate

    questions = yaml.safe_load(LIBRARY_QUESTIONS.read_text(encoding="utf-8"))["questions"]
    assert len(questions) == 13
    result = evaluate(library_core, questions)
    misses = [r for r in result["rows"] if not (r["rank"] and r["rank"] <= 5)]
    assert result["summary"]["recall@5"] >= 0.95, misses  # before the identifier ranker: 0.91, MRR 0.82
    assert result["summary"]["mrr"] >= 0.9, result["rows"]


def test_a_guide_without_a_topic_takes_the_nearest_one(library_core):
    corpus = library_core.knowledge.retriever.corpus()
    topics = {m["source"].rsplit("/", 1)[-1]: t for m, t in zip(corpus.metas, corpus.topics, strict=True)}
    assert topics["folds.rst"] == "methodology"
    assert topics["uk-ml-day-rates.md"] == "rates"


# The shipped guides' direct-answer leads ----------------------------------------------------------

def _sections(text: str):
    parts = re.split(r"^## (.+)$", text, flags=re.M)
    return list(zip(parts[1::2], parts[2::2], strict=True))


def _numbers(text: str) -> set[str]:
    return {n.rstrip(".,").replace(",", "") for n in re.findall(r"\d[\d,.]*", text)}


@pytest.mark.parametrize("guide", sorted((ROOT / "knowledge").glob("*/*.md")), ids=lambda p: p.name)
def test_a_sections_one_sentence_lead_adds_no_figure(guide):
    """A section may open with a one-sentence paragraph that answers its question; every number in
    that lead is stated again in the heading or the rest of the section (the lead adds no figure)."""
    for heading, body in _sections(guide.read_text(encoding="utf-8")):
        first, _, rest = body.strip().partition("\n\n")
        if len(split_sentences(first)) != 1 or first.lstrip().startswith(("-", "|")):
            continue
        assert _numbers(first) <= _numbers(heading + " " + rest), (heading, _numbers(first) - _numbers(heading + rest))


# Quality gate: answer sentences on the small index, labelled as evals/answer_quality.py does ---------

def test_answer_sentences_gate(kb_core):
    """Our own questions on the small guide set: at most 10% of answer sentences do not help, none is
    guide-meta, a bare lead-in, a split, a repeated figure or a masked link, and no answer passes the cap.
    (Answers often reach the cap since sections of the lead's guide join them: config.yaml `compose.same_guide`,
    calibrated for must-mention coverage on what users type.)"""
    from evals.answer_quality import label_answer, load_items, summarise
    from tests.conftest import SMALL_GUIDES

    items = [q for q in load_items([ROOT / "evals" / "questions"]) if q["guide"] in SMALL_GUIDES]
    assert len(items) >= 12
    rows = [label_answer(kb_core.ask(q["question"], user_id="gate"), q) for q in items]
    summary = summarise(rows, kb_core.settings.answer.max_sentences)
    defects = {k: v for k, v in summary["by_label"].items() if k not in ("off-guide", "other-section")}
    assert not defects, [s for r in rows for s in r["sentences"] if s["label"] in defects]
    assert summary["irrelevant_share"] <= 0.10, summary
    cap = kb_core.settings.answer.max_sentences
    assert max(len(r["sentences"]) for r in rows) <= cap and summary["footer_cut"] == 0, summary
    assert summary["coverage"] >= 0.8, summary


def test_names_typed_in_lower_case_are_read_as_the_names(kb_data_dir):
    """Users type "hmrc", "timeseriessplit": the same answer as "HMRC", "TimeSeriesSplit". A word the
    guides mostly write as a plain word is no name, whatever case a few chunks give it."""
    retriever = make_core(kb_data_dir).knowledge.retriever
    corpus = retriever.corpus()
    assert {"hmrc", "timeseriessplit"} <= typed_lower("does hmrc care? and timeseriessplit vs a random split",
                                                      corpus)
    assert not typed_lower("what day rate should i charge for data work in london", corpus)
    for lower, marked in [("is timeseriessplit enough for leakage", "is TimeSeriesSplit enough for leakage"),
                          ("does hmrc decide ir35 status", "does HMRC decide IR35 status")]:
        assert [h.id for h in retriever.search(lower)] == [h.id for h in retriever.search(marked)]
