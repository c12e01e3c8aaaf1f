"""Sentence vectors of the ask path: a store on disk, a background fill, never a stale vector.

Real parts only: SQLite files in a temp folder, chromadb on disk, the real embedding model, a
second Python process writing the same store.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from bot.knowledge.embeddings import encode
from bot.knowledge.sentences import SentenceStore, chunk_sentences
from tests.conftest import ROOT, make_core

RETAINERS = ("---\ntitle: Retainer terms\ntopic: rates\n---\n\n# Retainer terms\n\n## Unused retainer hours\n\n"
             "Unused retainer hours expire at the end of each calendar month unless the client prepays a rollover. "
             "A rollover of up to 20% of the monthly hours is common when the client asks for it in writing.\n\n"
             "## Retainer notice\n\nEither side ends a retainer with 30 days' notice in writing.\n")
QUESTION = "Do unused retainer hours roll over to the next month?"


def corpus_sentences(core) -> list[str]:
    texts = core.knowledge.retriever.refresh().texts
    return list(dict.fromkeys(s for t in texts for s in chunk_sentences(t)))


def ingested(tmp_path, text: str = RETAINERS, **overrides):
    src = tmp_path / "guides"
    src.mkdir(exist_ok=True)
    (src / "retainers.md").write_text(text, encoding="utf-8")
    core = make_core(tmp_path / "data", **overrides)
    core.ingest([src])
    return core, src


def test_the_store_is_addressed_by_model_and_exact_text(tmp_path):
    store = SentenceStore(tmp_path / "s.sqlite", "model-a")
    other_model = SentenceStore(tmp_path / "s.sqlite", "model-b")
    vecs = np.random.default_rng(0).random((2, 4), dtype=np.float32)
    keys = store.keys(["Rates rose 5%.", "Rates rose 6%."])
    store.put(keys, vecs)
    got = store.get(keys)
    assert np.array_equal(got[keys[0]], vecs[0]) and np.array_equal(got[keys[1]], vecs[1])
    assert other_model.get(other_model.keys(["Rates rose 5%."])) == {}  # another model's vectors never match
    assert store.missing(store.keys(["Rates rose 5%.", "Rates rose 7%."])) == store.keys(["Rates rose 7%."])
    assert store.retain({keys[1]}) == 1 and store.count() == 1
    store.close()
    assert SentenceStore(tmp_path / "s.sqlite", "model-a").count() == 1  # it outlives the process's handle


def test_two_processes_write_the_same_store_at_once(tmp_path):
    path = tmp_path / "s.sqlite"
    writer = ("import sys, numpy as np\nfrom pathlib import Path\nfrom bot.knowledge.sentences import SentenceStore\n"
              "s = SentenceStore(Path(sys.argv[1]), 'm')\n"
              "for b in range(40):\n"
              "    keys = s.keys([f'child {b} {i}' for i in range(25)] + [f'shared {b}'])\n"
              "    s.put(keys, np.ones((26, 8), dtype=np.float32))\n")
    child = subprocess.Popen([sys.executable, "-c", writer, str(path)], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    store = SentenceStore(path, "m")
    for b in range(40):
        keys = store.keys([f"parent {b} {i}" for i in range(25)] + [f"shared {b}"])
        store.put(keys, np.zeros((26, 8), dtype=np.float32))
    assert child.wait(timeout=120) == 0, child.stderr.read()
    assert store.count() == 40 * 25 * 2 + 40


def test_after_the_fill_an_answer_embeds_no_sentence_and_reads_the_same_vectors(tmp_path):
    core, _ = ingested(tmp_path)
    wanted = corpus_sentences(core)
    kb = core.knowledge
    assert kb.sentence_fill.fill(kb.retriever.refresh()) == len(wanted)
    stored = kb.sentence_store.get(kb.sentence_store.keys(wanted))
    assert np.allclose(np.vstack([stored[k] for k in kb.sentence_store.keys(wanted)]),
                       encode(kb.embeddings, wanted), atol=1e-5)
    assert kb.sentence_fill.fill(kb.retriever.refresh()) == 0  # nothing is embedded twice
    core.close()

    restarted = make_core(tmp_path / "data")  # a new process: nothing in memory
    result = restarted.ask(QUESTION)
    assert not result["declined"] and "rollover" in result["answer"]
    counts = restarted.knowledge.sentence_vectors.counts
    assert counts["encoded"] == 0 and counts["store"] > 0


def test_without_the_fill_an_answer_embeds_its_sentences_once_and_keeps_them(tmp_path):
    core, _ = ingested(tmp_path)
    core.ask(QUESTION)
    first = core.knowledge.sentence_vectors.counts["encoded"]
    assert first > 0
    core.close()
    again = make_core(tmp_path / "data")
    again.ask(QUESTION)
    assert again.knowledge.sentence_vectors.counts["encoded"] == 0  # the first process stored them


def test_an_edited_sentence_gets_its_own_vector_and_the_old_one_goes(tmp_path):
    core, src = ingested(tmp_path)
    kb = core.knowledge
    kb.sentence_fill.fill(kb.retriever.refresh())
    old = [s for s in corpus_sentences(core) if "20%" in s]
    assert old
    (src / "retainers.md").write_text(RETAINERS.replace("up to 20%", "up to 35%"), encoding="utf-8")
    core.ingest([src])
    new = [s for s in corpus_sentences(core) if "35%" in s]
    assert new and not [s for s in corpus_sentences(core) if "20%" in s]
    assert "35%" in core.ask("How much of the monthly retainer hours can roll over?")["answer"]
    assert np.allclose(kb.sentence_vectors.get(new), encode(kb.embeddings, new), atol=1e-5)
    kb.sentence_fill.fill(kb.retriever.refresh())
    assert kb.sentence_store.get(kb.sentence_store.keys(old)) == {}  # no guide has it any more
    assert kb.sentence_store.count() == len(corpus_sentences(core))


def test_warm_fills_in_the_background_and_waits_while_a_question_is_answered(tmp_path):
    core, _ = ingested(tmp_path)
    kb = core.knowledge
    with kb.answering.busy():  # a question in progress
        core.warm()
        assert not kb.sentence_fill.done.wait(1.0)
        assert kb.sentence_store.count() == 0
    assert kb.sentence_fill.done.wait(120)
    assert kb.sentence_store.count() == len(corpus_sentences(core))
    core.close()


def test_the_fill_follows_an_index_change_in_a_warm_process(tmp_path):
    core, src = ingested(tmp_path)
    kb = core.knowledge
    core.warm()
    assert kb.sentence_fill.done.wait(120)
    (src / "notice.md").write_text("# Notice\n\n## Notice periods\n\nA fixed-term contract usually needs no notice "
                                   "before its end date, but an early exit clause should state one.\n",
                                   encoding="utf-8")
    core.ingest([src])
    assert kb.sentence_fill.done.wait(120)
    assert kb.sentence_store.count() == len(corpus_sentences(core))
    core.close()


def test_no_store_when_it_is_turned_off(tmp_path):
    core, _ = ingested(tmp_path, **{"sentences.store": False})
    assert not core.ask(QUESTION)["declined"]
    assert not (tmp_path / "data" / "cache" / "sentences.sqlite").exists()
