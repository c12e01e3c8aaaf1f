"""Several bot processes (real `mlbot` OS processes, each with its own data dir) sharing one real
`chroma run` server and one PostgreSQL state database: a guide ingested by one is answered by another,
a removal reaches the other at its next question, and cooldowns and forget hold across them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.store import Store

MLBOT = str(Path(sys.executable).parent / "mlbot")


def _mlbot(env: dict[str, str], *args: str) -> dict:
    done = subprocess.run([MLBOT, *args, "--json"], env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-500:] + done.stderr[-1500:]
    return json.loads(done.stdout)


def test_bot_processes_share_one_chroma_server_and_one_postgresql_store(tmp_path, small_guides, chroma_server,
                                                                         postgres_url):
    def env(name: str) -> dict[str, str]:
        return {**os.environ, "MLBOT_DATA_DIR": str(tmp_path / name), "MLBOT_VECTORSTORE__MODE": "http",
                "MLBOT_VECTORSTORE__HOST": "127.0.0.1", "MLBOT_VECTORSTORE__PORT": str(chroma_server),
                "MLBOT_STORE__URL": postgres_url, "HF_HUB_OFFLINE": "1"}

    first, second = env("bot-1"), env("bot-2")
    assert _mlbot(first, "ingest", str(small_guides / "ip"))["chunks_total"] > 0
    question = "Is my contractor code a work made for hire in the US?"
    answer = _mlbot(second, "ask", question)
    assert not answer["declined"] and any(s["source"].endswith("us-work-made-for-hire.md") for s in answer["sources"])
    _mlbot(first, "kb", "remove", "us-work-made-for-hire.md")
    after = _mlbot(second, "ask", question)
    assert not any(s["source"].endswith("us-work-made-for-hire.md") for s in after["sources"])

    shared = Store(postgres_url)  # both processes recorded their answers in the one database
    assert shared.cooldown("local", "ask", 60) == 0 and shared.cooldown("local", "ask", 60) > 0
    assert shared.forget("local")["answers"] == 2


def test_bot_processes_can_split_the_shards(tmp_path):
    from bot.discord import build_bot
    from bot.errors import ConfigError
    from tests.conftest import make_core

    core = make_core(tmp_path / "d", **{"discord.sharded": True, "discord.shard_count": 4, "discord.shard_ids": [2, 3]})
    bot = build_bot(core.settings, core, warm=False)
    assert bot.shard_count == 4 and bot.shard_ids == [2, 3]
    core.settings.discord.shard_ids = [4]
    with pytest.raises(ConfigError, match="shard_count"):
        build_bot(core.settings, core, warm=False)


def test_the_example_deploy_config_is_valid():
    from bot.config import load_settings
    from tests.conftest import ROOT

    settings = load_settings(ROOT / "deploy" / "config.scaled.yaml", env={})
    assert settings.scope.engine == "celery" and settings.vectorstore.mode == "http"
    assert settings.store.url.startswith("postgresql://") and settings.knowledge_dir == ROOT / "knowledge"
