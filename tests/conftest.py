"""Shared fixtures: every test gets its own data dir; a small real index is built once per session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest_plugins = ["tests.services"]  # redis-server, PostgreSQL, chroma run and mlbot worker fixtures

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"

# A handful of real guides: enough for routing, retrieval and declines, quick to embed.
SMALL_GUIDES = [
    "rates/uk-ml-day-rates.md",
    "rates/target-income-to-rate.md",
    "ip/uk-ir35.md",
    "ip/us-work-made-for-hire.md",
    "methodology/data-leakage.md",
    "methodology/choosing-metrics.md",
    "scoping/quote-outline.md",
]


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path, monkeypatch):
    """No test reads the developer's data dir, secrets or overrides."""
    monkeypatch.setenv("MLBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for name in ("DISCORD_TOKEN", "OPENAI_API_KEY", "OPENAI_BASE_URL", "MLBOT_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    for name in list(__import__("os").environ):
        if name.startswith("MLBOT_") and name != "MLBOT_DATA_DIR":
            monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def small_guides(tmp_path_factory) -> Path:
    """A copy of a few shipped guides in their topic folders."""
    folder = tmp_path_factory.mktemp("guides")
    for rel in SMALL_GUIDES:
        dest = folder / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "knowledge" / rel, dest)
    return folder


@pytest.fixture(scope="session")
def kb_data_dir(tmp_path_factory, small_guides) -> Path:
    """A data dir whose index holds the small guide set (built once, reused read-only)."""
    from bot.app import Core
    from bot.config import load_settings

    data = tmp_path_factory.mktemp("kbdata")
    core = Core(load_settings(data_dir=data, env={}))
    core.ingest([small_guides])
    return data


@pytest.fixture
def kb_core(kb_data_dir):
    """A core over the shared small index (do not ingest into it; copy it if a test must change it)."""
    from bot.app import Core
    from bot.config import load_settings

    return Core(load_settings(data_dir=kb_data_dir, env={}))


def make_core(data_dir: Path, **overrides):
    from bot.app import Core
    from bot.config import load_settings

    return Core(load_settings(data_dir=data_dir, env={}, overrides=overrides))


@pytest.fixture(scope="session")
def full_kb_data_dir(tmp_path_factory) -> Path:
    """A data dir whose index holds every shipped guide (knowledge/), built once per session (~45 s)."""
    from bot.app import Core
    from bot.config import load_settings

    data = tmp_path_factory.mktemp("fullkb")
    Core(load_settings(data_dir=data, env={})).ingest([ROOT / "knowledge"])
    return data
