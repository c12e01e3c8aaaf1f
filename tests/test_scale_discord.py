"""The Discord front, unchanged, on the celery engine: /scope through SimCord runs on a real `mlbot worker`,
progress edits the response, the report arrives, and /quote finds the scope the worker stored."""

from __future__ import annotations

import pytest

from bot.config import load_settings
from tests.services import Worker
from tests.test_discord_support import CSV_SIMPLE, SETTLE, all_text

pytest_plugins = ["tests.test_discord_support"]
pytestmark = pytest.mark.simcord(settle_timeout=SETTLE)


@pytest.fixture
def discord_settings(tmp_path, discord_kb_template, redis_server):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(discord_kb_template, data)
    broker, state = redis_server.db_url(2), str(tmp_path / "shared-state.sqlite3")
    # The settings first: a fixture that failed between starting the worker and its yield left the
    # worker running after the session.
    settings = load_settings(data_dir=data, overrides={
        "discord.ask_cooldown_seconds": 0, "discord.scope_cooldown_seconds": 0, "scope.budget_seconds": 3,
        "scope.engine": "celery", "scope.broker_url": broker, "store.url": state,
    })
    worker = Worker({"MLBOT_SCOPE__BROKER_URL": broker, "MLBOT_STORE__URL": state,
                     "MLBOT_DATA_DIR": str(tmp_path / "worker"), "HF_HUB_OFFLINE": "1"})
    try:
        try:
            worker.start()
        except Exception as exc:
            pytest.fail(f"could not start mlbot worker: {exc}", pytrace=False)
        yield settings
    finally:
        worker.stop()


async def test_scope_on_a_celery_worker_through_discord(simcord_env, server):
    guild, channel, alice, bob = server
    result = await alice.slash(channel, "scope", file=("leads.csv", CSV_SIMPLE.encode()), target="churned")
    progress = [r.json.get("content") for r in simcord_env.http_requests
                if r.method == "PATCH" and r.path.endswith("@original") and r.json and r.json.get("content")]
    assert progress and all(p.startswith("⏳") for p in progress)
    assert result.ephemeral and result.response.embeds[0].title == "Scope report"
    quote = await alice.slash(channel, "quote", rate=600.0, unit="day", currency="GBP")
    assert quote.ephemeral and "no stored scope" not in all_text(quote)
    assert simcord_env.bot.jobs.running == 0
