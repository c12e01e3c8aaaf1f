"""Knowledge-base changes reach answers: in the same process, after a restart, after a crash mid-ingest.

Every test uses a real chromadb on disk and the real embeddings. The served copy of the index (in
memory and its snapshot on disk) must always match the live index at the next question.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bot.knowledge.index import release_clients
from tests.conftest import ROOT, make_core

RETAINERS = ("---\ntitle: Retainer terms\ntopic: rates\n---\n\n# Retainer terms\n\n## Unused retainer hours\n\n"
             "Unused retainer hours expire at the end of each calendar month unless the client prepays a rollover.\n")
KAPPA = ("---\ntitle: Annotator agreement\ntopic: methodology\n---\n\n# Annotator agreement\n\n"
         "## Measuring agreement between annotators\n\n"
         "Cohen's kappa measures agreement between two annotators beyond chance; below 0.6 the labels need "
         "a clearer annotation guideline before any model is trained on them.\n")
KAPPA_QUESTION = "How do I measure agreement between two annotators labelling my training data?"


def cites(result: dict, name: str) -> bool:
    return not result["declined"] and any(s["source"].endswith(name) for s in result["sources"])


def served(core) -> int:
    """Chunks in the copy that answers are served from (after the per-question check)."""
    return len(core.knowledge.retriever.refresh().ids)


def test_add_edit_and_remove_reach_the_next_answer_in_the_same_process(tmp_path):
    src = tmp_path / "guides"
    src.mkdir()
    (src / "retainers.md").write_text(RETAINERS, encoding="utf-8")
    core = make_core(tmp_path / "data")
    core.ingest([src])
    assert not cites(core.ask(KAPPA_QUESTION), "kappa.md")

    (src / "kappa.md").write_text(KAPPA, encoding="utf-8")
    core.ingest([src])
    first = core.ask(KAPPA_QUESTION)
    assert cites(first, "kappa.md") and "0.6" in first["answer"]

    (src / "kappa.md").write_text(KAPPA.replace("below 0.6", "below 0.7"), encoding="utf-8")
    core.ingest([src])
    edited = core.ask(KAPPA_QUESTION)
    assert "0.7" in edited["answer"] and "below 0.6" not in edited["answer"]

    core.kb_remove("kappa.md")
    assert not cites(core.ask(KAPPA_QUESTION), "kappa.md")
    assert served(core) == core.knowledge.index.count()


def test_a_front_matter_edit_reaches_the_passages_whose_text_did_not_change(tmp_path):
    """Tags, topic, jurisdiction and date live in each chunk's metadata: an edit to them alone (the chunk
    text and its id unchanged) reaches the served passages, and a section moved down keeps its order."""
    src = tmp_path / "guides"
    src.mkdir()
    (src / "kappa.md").write_text(KAPPA, encoding="utf-8")
    core = make_core(tmp_path / "data")
    core.ingest([src])
    edited = KAPPA.replace("topic: methodology\n", "topic: delivery\ntags: [labelling, kappa]\njurisdiction: any\n")
    edited = edited.replace("## Measuring", "## Before labelling\n\nWrite the annotation guideline first.\n\n## Measuring")
    (src / "kappa.md").write_text(edited, encoding="utf-8")
    result = core.ingest([src])
    assert result["updated"] == 1
    corpus = core.knowledge.retriever.refresh()
    metas = {corpus.texts[i][:20]: m for i, m in enumerate(corpus.metas)}
    kept = metas["Cohen's kappa measur"]
    assert kept["topic"] == "delivery" and kept["tags"] == "labelling, kappa" and kept["jurisdiction"] == "any"
    assert kept["position"] > metas["Write the annotation"]["position"]


def test_a_change_made_by_another_process_is_seen_after_a_restart(tmp_path):
    src = tmp_path / "guides"
    src.mkdir()
    (src / "retainers.md").write_text(RETAINERS, encoding="utf-8")
    data = tmp_path / "data"
    core = make_core(data)
    core.ingest([src])
    core.ask("Do unused retainer hours roll over?")  # the served copy and its snapshot are written
    release_clients()  # this "process" stops

    (src / "kappa.md").write_text(KAPPA, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "bot.cli", "--data-dir", str(data), "ingest", str(src)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    restarted = make_core(data)
    assert cites(restarted.ask(KAPPA_QUESTION), "kappa.md")
    release_clients()

    proc = subprocess.run([sys.executable, "-m", "bot.cli", "--data-dir", str(data), "kb", "remove", "kappa.md"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    again = make_core(data)
    assert not cites(again.ask(KAPPA_QUESTION), "kappa.md")
    assert served(again) == again.knowledge.index.count()


def test_reindex_is_served_from_the_rebuilt_index(tmp_path):
    src = tmp_path / "guides"
    src.mkdir()
    (src / "retainers.md").write_text(RETAINERS, encoding="utf-8")
    (src / "kappa.md").write_text(KAPPA, encoding="utf-8")
    core = make_core(tmp_path / "data")
    core.ingest([src])
    core.ask(KAPPA_QUESTION)
    (src / "kappa.md").unlink()  # reindex rebuilds from the files that still exist
    result = core.kb_reindex()
    assert result["failed"] and not cites(core.ask(KAPPA_QUESTION), "kappa.md")
    assert served(core) == core.knowledge.index.count()


def _many_guides(src: Path) -> None:
    src.mkdir()
    for i in range(6):
        (src / f"g{i}.md").write_text(f"# Guide {i}\n\n" + "\n\n".join(
            f"## Part {j}\n\nFreelance topic {i} part {j}: deposits, milestones and day rates matter."
            for j in range(6)), encoding="utf-8")


def test_after_a_crash_mid_ingest_an_ask_and_a_reingest_every_chunk_is_served(tmp_path):
    src = tmp_path / "guides"
    _many_guides(src)
    data = tmp_path / "data"
    first = make_core(data)
    first.ingest([src / "g0.md"])
    first.ask("What matters for freelance deposits?")  # a snapshot of the one-guide index exists
    release_clients()
    code = (
        "import os\n"
        "from pathlib import Path\n"
        "from bot.app import Core\nfrom bot.config import load_settings\n"
        f"core = Core(load_settings(data_dir={str(data)!r}, env={{}}, overrides={{'ingest.batch_size': 8}}))\n"
        "def progress(stage, info):\n    os._exit(9)\n"
        f"core.ingest([Path({str(src)!r})], progress=progress)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 9, proc.stderr

    core = make_core(data)
    partial = core.knowledge.index.count()
    assert 6 < partial < 36
    core.ask("What matters for freelance deposits?")
    assert served(core) == partial  # the copy from before the crash is not trusted
    core.ingest([src])
    assert core.knowledge.index.count() == 36
    assert served(core) == 36
    release_clients()
    assert served(make_core(data)) == 36  # and after a restart


def test_a_failed_ingest_leaves_nothing_that_hides_the_index(tmp_path, monkeypatch):
    src = tmp_path / "guides"
    _many_guides(src)
    data = tmp_path / "data"
    core = make_core(data, **{"ingest.batch_size": 8})
    core.ingest([src / "g0.md"])
    core.ask("What matters for freelance deposits?")
    kb = core.knowledge
    real = kb.ingestor._embed_and_store

    def half_then_fail(items, progress):
        real(items[:8], progress)
        raise RuntimeError("disk full")

    monkeypatch.setattr(kb.ingestor, "_embed_and_store", half_then_fail)
    try:
        core.ingest([src])
    except RuntimeError:
        pass
    else:
        raise AssertionError("the ingest should have failed")
    assert served(core) == kb.index.count() > 6
    assert not list((data / "index").glob(".writing*"))
    release_clients()
    assert served(make_core(data)) == make_core(data).knowledge.index.count()


# A guide's `asked:` front matter lists the questions each section answers (search only, never shown).
FEES = ("---\ntitle: Invoicing basics\ntopic: rates\n{asked}---\n\n# Invoicing basics\n\n"
        "## Late payment interest\n\nStatutory interest on overdue business invoices can be claimed at a fixed rate "
        "above the base rate once the agreed payment period has passed.\n\n"
        "## Invoice numbering\n\nEach invoice carries a unique sequential number, the supplier's details and the "
        "date the work was delivered.\n")
FEES_ASKED = ('asked:\n  "Late payment interest":\n    - "my client pays months late, can i add a charge for that?"\n'
              '    - "what can i do when a client sits on my bill"\n')


def test_asked_questions_rank_their_section_and_an_edit_of_them_alone_reaches_the_index(tmp_path):
    src = tmp_path / "guides"
    src.mkdir()
    (src / "fees.md").write_text(FEES.format(asked=""), encoding="utf-8")
    core = make_core(tmp_path / "data", **{"retrieval.asked_weight": 1.0})
    core.ingest([src])
    assert core.knowledge.retriever.refresh().asked is None
    (src / "fees.md").write_text(FEES.format(asked=FEES_ASKED), encoding="utf-8")  # only the front matter changed
    assert core.ingest([src])["updated"] == 1
    corpus = core.knowledge.retriever.refresh()
    assert corpus.asked is not None and corpus.asked.shape[0] == 2
    rows = {corpus.metas[i]["section"] for i in corpus.asked_of.tolist()}
    assert rows == {"Invoicing basics > Late payment interest"}
    assert "asked" not in corpus.texts[0] and "sits on my bill" not in " ".join(corpus.texts)  # never shown
    hits = core.knowledge.retriever.search("client sits on my bill for ages, anything i can do?")
    assert hits[0].section.endswith("Late payment interest")
    release_clients()
    restarted = make_core(tmp_path / "data", **{"retrieval.asked_weight": 1.0})  # from the snapshot on disk
    assert restarted.knowledge.retriever.corpus().asked.shape[0] == 2
