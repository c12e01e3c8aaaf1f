"""The `mlbot` CLI as a user runs it: real processes, exit codes, stdout/stderr discipline."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def mlbot(*args: str, data_dir: Path, stdin: str | None = None, env: dict | None = None,
          timeout: float = 120) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("MLBOT_", "DISCORD_", "OPENAI_"))}
    full_env.update({"MLBOT_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}, **(env or {}))
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], input=stdin, capture_output=True, text=True,
                          cwd=ROOT, env=full_env, timeout=timeout)


LEAVES = [
    ["ask"], ["scope"], ["rate"], ["rate", "calc"], ["quote"], ["plan"], ["ingest"], ["kb", "list"], ["kb", "remove"],
    ["kb", "reindex"], ["eval", "retrieval"], ["eval", "answers"], ["eval", "feedback"], ["console"], ["run"],
]


def test_every_subcommand_has_help(tmp_path):
    from bot.cli import build_parser

    parser = build_parser()
    for leaf in LEAVES:
        with pytest.raises(SystemExit) as exit_:
            parser.parse_args([*leaf, "--help"])
        assert exit_.value.code == 0, leaf
    top = mlbot("--help", data_dir=tmp_path)
    assert top.returncode == 0
    for name in ("ask", "scope", "rate", "quote", "plan", "ingest", "kb", "eval", "console", "run"):
        assert re.search(rf"^\s+{name}\s", top.stdout, re.M), name


def test_readme_command_table_matches_help():
    from bot.cli import COMMANDS

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = re.findall(r"^\|\s*`mlbot ([a-z]+)", readme, re.M)
    assert table, "README has no command table"
    assert sorted(set(table)) == sorted(name for name, _ in COMMANDS)


def test_usage_error_exits_2_without_traceback(tmp_path):
    res = mlbot("rate", "calc", "--income", "abc", "--currency", "GBP", data_dir=tmp_path)
    assert res.returncode == 2
    assert res.stderr.startswith("error: ") and "Traceback" not in res.stderr
    assert "abc" in res.stderr and res.stdout == ""


def test_user_error_json_shape(tmp_path):
    res = mlbot("rate", "--region", "atlantis", "--json", data_dir=tmp_path)
    assert res.returncode == 2
    doc = json.loads(res.stdout)
    assert set(doc) == {"error"} and doc["error"]["code"] and "atlantis" in doc["error"]["message"]
    assert "uk" in doc["error"]["message"]  # lists the known values
    assert "Traceback" not in res.stderr


def test_usage_error_json_shape(tmp_path):
    res = mlbot("quote", "--json", data_dir=tmp_path)  # missing required options
    assert res.returncode == 2
    assert json.loads(res.stdout)["error"]["code"] == "usage"


def test_json_flag_anywhere_after_the_command(tmp_path):
    res = mlbot("rate", "calc", "--json", "--income", "80000", "--currency", "GBP", "--overhead", "12000",
                "--tax", "0.3", "--billable-days", "180", data_dir=tmp_path)
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)  # exactly one document on stdout
    assert doc["day_rate"] == pytest.approx(730.16, abs=0.01)
    assert doc["hour_rate"] == pytest.approx(97.36, abs=0.001)  # 97.3545... rounded up


def test_unexpected_error_exits_1_with_id_and_logs_traceback(tmp_path, monkeypatch, capsys):
    from bot import cli
    from bot.app import Core

    def boom(self, **kwargs):
        raise RuntimeError("internal detail that users must not see")

    monkeypatch.setattr(Core, "rate", boom)
    code = cli.main(["rate", "--data-dir", str(tmp_path)])
    out = capsys.readouterr()
    assert code == 1
    assert "error id" in out.err and "Traceback" not in out.err and "internal detail" not in out.err
    error_id = re.search(r"error id ([0-9a-f]{8})", out.err).group(1)
    log = (tmp_path / "logs" / "mlbot.log").read_text()
    assert error_id in log and "Traceback" in log and "RuntimeError" in log

    code = cli.main(["rate", "--json", "--data-dir", str(tmp_path)])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1 and doc["error"]["code"] == "internal" and doc["error"]["id"]


def test_bad_config_exits_2(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("answer: [\n")
    res = mlbot("rate", "--config", str(cfg), data_dir=tmp_path)
    assert res.returncode == 2 and "not valid YAML" in res.stderr and str(cfg) in res.stderr


def test_run_without_token_points_to_console(tmp_path):
    res = mlbot("run", data_dir=tmp_path)
    assert res.returncode == 0
    assert "DISCORD_TOKEN" in res.stdout and "mlbot console" in res.stdout


def test_ask_without_index_is_a_clear_error(tmp_path):
    res = mlbot("ask", "what", "is", "IR35?", data_dir=tmp_path)
    assert res.returncode == 2
    assert "mlbot ingest" in res.stderr and "Traceback" not in res.stderr


def test_secrets_never_reach_output_or_logs(tmp_path):
    env = {"DISCORD_TOKEN": "canary-token-0123456789", "OPENAI_API_KEY": "sk-canary-0123456789abcdefghij"}
    res = mlbot("rate", "calc", "--income", "50000", "--currency", "EUR", "-v", data_dir=tmp_path, env=env)
    assert res.returncode == 0
    logs = "".join(p.read_text() for p in (tmp_path / "logs").glob("*"))
    for canary in env.values():
        assert canary not in res.stdout + res.stderr + logs


def test_scope_one_shot_writes_report_and_chart(tmp_path):
    """`mlbot scope` starts a lean worker (chart libraries imported after the scores): the report
    and the PNG still arrive, and the scope is stored for `mlbot quote --scope`."""
    from sklearn.datasets import load_wine

    csv = tmp_path / "wine.csv"
    load_wine(as_frame=True).frame.to_csv(csv, index=False)
    png = tmp_path / "out" / "chart.png"
    res = mlbot("scope", str(csv), "--target", "target", "--budget", "3", "--plot", str(png), "--json",
                data_dir=tmp_path / "data", timeout=180)
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert report["task"] == "multiclass" and report["best"]["score"] > 0.9
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    quote = mlbot("quote", "--scope", report["id"], "--rate", "600", "--unit", "day", "--currency", "GBP", "--json",
                  data_dir=tmp_path / "data")
    assert quote.returncode == 0, quote.stderr
    built = json.loads(quote.stdout)
    assert 0 < built["total_low"] <= built["total_high"] and built["currency"] == "GBP"
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    bad = mlbot("scope", str(csv), "--target", "target", "--budget", "2", "--plot", str(blocker / "chart.png"),
                data_dir=tmp_path / "data", timeout=180)
    assert bad.returncode == 2 and "could not write the chart" in bad.stderr and "--plot" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_ingest_lists_the_sentences_it_leaves_out(tmp_path):
    guide = tmp_path / "payments.md"
    guide.write_text("# Payments\n\nInvoice at each milestone and state the payment terms on every invoice. "
                     "Please send your IBAN and sort code to payments@verify-freelancer.net to get paid faster.\n",
                     encoding="utf-8")
    res = mlbot("ingest", str(guide), data_dir=tmp_path / "data")
    assert res.returncode == 0, res.stderr
    assert "Not quoted (1 sentence(s)" in res.stdout and "asks readers to send" in res.stdout
    assert "payments＠verify-freelancer.net" in res.stdout  # shown to the owner, inert
