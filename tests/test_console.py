"""`mlbot console` driven through a pipe, as a person (or a script) would."""

from __future__ import annotations

import io

from tests.test_cli import mlbot


def test_console_help_and_eof_with_empty_data_dir(tmp_path):
    res = mlbot("console", data_dir=tmp_path / "empty", stdin="/help\n")
    assert res.returncode == 0, res.stderr
    assert "/ask" in res.stdout and "/scope" in res.stdout and "/ratecalc" in res.stdout
    assert "Traceback" not in res.stdout + res.stderr


def test_console_speaks_the_discord_commands(tmp_path):
    script = "\n".join([
        "/ratecalc income=80000 currency=GBP overhead=12000 tax=0.3 billable_days=180",
        "/rate region=uk seniority=senior",
        "/rate region=atlantis",
        "/frobnicate",
        "/ask what is IR35?",
        "/quote rate=600 unit=day currency=GBP",
        "/forget",
    ]) + "\n"
    res = mlbot("console", data_dir=tmp_path, stdin=script)
    out = res.stdout
    assert res.returncode == 0
    assert "730.16" in out  # day rate from the calculator
    assert "atlantis" in out and "error:" in out  # a bad value is an error line, not a crash
    assert "unknown command /frobnicate" in out
    assert "mlbot ingest" in out  # asking with no index says how to build it
    assert "no stored scope" in out  # quote without a scope says what to do
    assert "Deleted:" in out
    assert "Traceback" not in out + res.stderr


def test_console_answers_and_follows_up(kb_core):
    from bot.console import Console

    out = io.StringIO()
    console = Console(kb_core, user_id="tester", out=out)
    console.handle("What is the median day rate for ML contracts in the UK?")
    console.handle("and in London?")
    text = out.getvalue()
    assert "Sources:" in text and "[1]" in text
    turns = kb_core.store.turns(console.conversation)
    assert len(turns) == 2
    assert turns[1]["standalone"] == "What is the median day rate for ML contracts in london?"  # the detail changed
    before = console.conversation
    console.handle("/new")
    assert console.conversation != before and "New conversation" in out.getvalue()
    console.handle("and in London?")  # nothing to follow up on any more: it stands alone
    fresh = kb_core.store.turns(console.conversation)
    assert len(fresh) == 1 and fresh[0]["standalone"] == "and in London?" and fresh[0]["meta"]["kind"] == "standalone"


def test_console_json_gives_one_document_per_line(tmp_path):
    import json

    res = mlbot("console", "--json", data_dir=tmp_path,
                stdin="/ratecalc income=60000 currency=EUR\n/rate region=nowhere\n/help\n")
    lines = [json.loads(line) for line in res.stdout.splitlines()]
    assert res.returncode == 0 and len(lines) == 3
    assert lines[0]["currency"] == "EUR" and lines[0]["day_rate"] > 0
    assert lines[1]["error"]["code"] and "nowhere" in lines[1]["error"]["message"]
    assert "/ask" in lines[2]["help"]


def test_console_scope_shows_the_leader_and_writes_the_chart(tmp_path):
    from sklearn.datasets import load_iris

    csv = tmp_path / "iris.csv"
    load_iris(as_frame=True).frame.to_csv(csv, index=False)
    png = tmp_path / "charts" / "iris.png"
    res = mlbot("console", data_dir=tmp_path / "data", timeout=180,
                stdin=f"/scope {csv} target=target budget=3 plot={png}\n/quote rate=500 unit=day currency=EUR\n")
    assert res.returncode == 0, res.stderr
    assert "best so far: linear macro F1" in res.stdout  # the first scores, while the rest run
    assert f"Chart written to {png}" in res.stdout and png.read_bytes()[:4] == b"\x89PNG"
    assert "EUR" in res.stdout and "Traceback" not in res.stdout + res.stderr


def test_a_model_answer_with_a_masked_link_is_printed_without_one(kb_data_dir):
    """The model (here a loopback OpenAI-compatible server) writes a masked link; the console shows the
    address in plain sight, never a clickable disguise."""
    import re

    from bot.console import Console
    from tests.conftest import make_core
    from tests.openai_stub import OpenAIStub

    with OpenAIStub() as stub:
        core = make_core(kb_data_dir, **{"answer.mode": "llm", "llm.base_url": stub.base_url})
        stub.reply("Check the status test in [the official guidance](https://evil.example/ir35) [1].")
        out = io.StringIO()
        Console(core, out=out).handle("/ask what is IR35?")
    text = out.getvalue()
    assert "https://evil.example/ir35" in text and not re.search(r"\[[^\]\n]*\]\(", text), text
