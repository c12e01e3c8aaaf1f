"""Ask on the real index (small guide set): cited extractive answers, declines, follow-ups, privacy."""

from __future__ import annotations

import json
import time

import pytest

from bot.errors import InputError
from bot.knowledge.compose import split_sentences
from tests.conftest import ROOT, make_core


def test_extractive_answer_is_cited_and_grounded(kb_core):
    r = kb_core.ask("What is the median day rate for machine learning contracts in the UK?")
    assert not r["declined"] and r["mode"] == "extractive" and r["skill"] == "rates"
    assert "£570" in r["answer"] and "ITJobsWatch" in r["answer"]
    assert "[1]" in r["answer"] and len(r["answer"]) <= 2000
    first = r["sources"][0]
    assert set(first) == {"title", "source", "section", "url", "score"}
    assert first["source"].endswith("uk-ml-day-rates.md")
    assert first["section"].startswith("UK contract day rates for machine-learning work > ")
    # Every sentence of the answer body is copied from the cited guide text (nothing invented).
    body = r["answer"].split("\n\n_")[0]
    guide_text = " ".join(s for _, s in split_sentences(
        (ROOT / "knowledge/rates/uk-ml-day-rates.md").read_text(encoding="utf-8")))
    for sentence in [s.strip() for s in body.replace("\n\n", " ").split(" [") if s.strip()]:
        text = sentence.split("] ", 1)[-1].strip()
        if len(text) > 25:
            assert text[:40] in guide_text.replace("@", "＠"), text


def test_skill_disclaimer_and_jurisdiction_for_ip(kb_core):
    r = kb_core.ask("Do I need a written assignment for a US client to own my code?")
    assert r["skill"] == "ip" and not r["declined"]
    assert "not legal advice" in r["answer"] and "United States" in r["answer"]
    assert any(s["source"].endswith("us-work-made-for-hire.md") for s in r["sources"])


@pytest.mark.parametrize("question", [
    "What will the weather be like in Leeds tomorrow?",
    "Who won the football match between Arsenal and Spurs?",
    "Which cryptocurrency should I buy this month?",
    "Should I invest my savings in index funds or gold?",
    "How do I bake sourdough bread at home?",
])
def test_out_of_remit_questions_are_declined(kb_core, question):
    r = kb_core.ask(question)
    assert r["declined"] is True
    assert "rates" in r["answer"] and "[1]" not in r["answer"]


@pytest.mark.parametrize("question", [
    "how do i spot fake clients on upwork?",
    "a client accused me of padding my hours, how do i show what i did?",
    "my client hasn't paid my invoice for 60 days, what can i do?",
    "how do i make up for a missed deadline with a client?",
])
def test_an_honest_question_with_the_same_words_is_not_declined_as_outside_the_remit(kb_core, question):
    """The card intents ("... without them finding out") leave alone what the asker fears or fights."""
    assert kb_core.ask(question)["decline_reason"] != "remit"


def test_uncovered_question_is_declined_with_what_was_found(kb_core):
    r = kb_core.ask("How do I apply for a Japanese digital nomad visa?")
    assert r["declined"] is True
    assert "do not cover" in r["answer"] or "outside" in r["answer"]
    assert isinstance(r["sources"], list) and len(r["sources"]) <= 5


def test_question_limits(kb_core):
    with pytest.raises(InputError, match="empty"):
        kb_core.ask("   ")
    with pytest.raises(InputError, match="limit is 1000"):
        kb_core.ask("rates " * 400)


def test_mentions_in_questions_and_guides_stay_inert(kb_core):
    r = kb_core.ask("@everyone what is the UK median ML day rate?")
    assert "@everyone" not in json.dumps(r)


def test_chat_markup_is_read_as_the_question_it_wraps(kb_core):
    """A user mention, custom emoji, channel, timestamp or link changes nothing of what is asked; a line of
    only markup gets a clear error that says what to send instead."""
    plain = kb_core.ask("What is the UK median ML day rate?", user_id="m1")
    wrapped = kb_core.ask("<@998877665544332211> <#123> What is the UK median ML day rate? <:think:1122334455> "
                          "<t:1700000000:R> https://example.com/rates.pdf", user_id="m1")
    assert wrapped["answer"] == plain["answer"]
    assert [s["section"] for s in wrapped["sources"]] == [s["section"] for s in plain["sources"]]
    for line in ("https://example.com/contract.pdf", "<:pepe:112233445566778899>", "<@123456789>"):
        with pytest.raises(InputError, match="no words to answer"):
            kb_core.ask(line)


def test_follow_up_carries_the_previous_question(kb_core):
    first = kb_core.ask("What is IR35 and who decides the status?", user_id="u1")
    conv = first["conversation_id"]
    follow = kb_core.ask("and what does it do to my take-home pay?", user_id="u1", conversation_id=conv)
    assert follow["conversation_id"] == conv
    assert any(s["source"].endswith("uk-ir35.md") for s in follow["sources"])
    turn = kb_core.store.turns(conv)[-1]
    # a new question in the same situation keeps its own words; the question it refers to is its context
    assert turn["meta"]["kind"] == "context" and "IR35" in turn["meta"]["context"][0]


def test_follow_up_works_across_processes(kb_core, kb_data_dir):
    first = kb_core.ask("What is data leakage?", user_id="u2")
    again = make_core(kb_data_dir)  # a separate CLI call opens a new core on the same data dir
    follow = again.ask("how do I spot it?", user_id="u2", conversation_id=first["conversation_id"])
    assert any(s["source"].endswith("data-leakage.md") for s in follow["sources"])


def test_private_turns_expire_and_stay_out_of_feedback(kb_data_dir, tmp_path):
    core = make_core(kb_data_dir, **{"conversations.private_ttl_seconds": 1})
    r = core.ask("What day rate should I charge in London?", user_id="u3")  # rates skill: private
    assert r["private"] is True
    assert core.feedback(r["answer_id"], "u3", "helpful")
    stored = [f for f in core.store.feedback() if f["answer_id"] == r["answer_id"]]
    assert stored and stored[0]["question"] == "[private]"
    time.sleep(1.2)
    assert core.store.turns(r["conversation_id"]) == []


def test_answer_ids_feed_feedback(kb_core):
    r = kb_core.ask("Why is PR-AUC better than ROC-AUC on imbalanced data?", user_id="u4")
    assert kb_core.feedback(r["answer_id"], "u4", "wrong_source")
    assert kb_core.feedback(r["answer_id"], "u4", "helpful")  # the last vote counts
    votes = [f for f in kb_core.store.feedback() if f["answer_id"] == r["answer_id"]]
    assert len(votes) == 1 and votes[0]["vote"] == "helpful" and votes[0]["sources"]
    assert not kb_core.feedback("a-missing", "u4", "helpful")
