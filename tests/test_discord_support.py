"""Shared pieces of the Discord tests (a pytest plugin module: `pytest_plugins = ["tests.test_discord_support"]`): small guides, a data-dir template, CSVs, payload helpers.

The knowledge index is built once per session in a template data dir (real embeddings, real chroma);
every test copies it into its own temp data dir, so stores, cooldowns and scope slots never leak
between tests.
"""

from __future__ import annotations

import io
from typing import Any

GUIDES = {
    "baselines.md": """---
title: "Start with a baseline"
topic: methodology
tags: [baseline, dummy]
jurisdiction: "any"
updated: 2026-11-01
sources:
  - title: "scikit-learn user guide: dummy estimators"
    url: "https://scikit-learn.org/stable/modules/model_evaluation.html"
    date: "n.d."
---

# Start with a baseline

## Why a dummy baseline comes first

A dummy baseline is the score a trivial model reaches on the client's data, such as always predicting the most
frequent class. Every model score only means something next to the dummy baseline. A model that cannot beat the
dummy baseline adds no value, and the client should hear that plainly.

## Which dummy to use

DummyClassifier with the most_frequent strategy is the baseline for classification accuracy. DummyRegressor with
the mean strategy has an R² of 0, so a negative R² means the model is worse than predicting the average.
""",
    "onboarding.md": """---
title: "Client onboarding checklist"
topic: communication
tags: [onboarding, kickoff, checklist]
jurisdiction: "any"
updated: 2026-11-01
sources:
  - title: "Team notes"
    url: "https://example.org/onboarding"
    date: "2026-01-01"
---

# Client onboarding checklist

@everyone read this! <@&123456789012345678> ping @here

The client onboarding checklist for a new machine-learning client has four items: a signed contract, a signed
NDA, access to the client's data, and a kickoff call that agrees the success metric. Send the onboarding checklist
to the client before the kickoff call.

```
unterminated code fence
""",
}

CSV_SIMPLE = "\n".join(["age,income,churned"] + [f"{20 + i % 40},{1000 + 37 * i},{i % 2}" for i in range(60)]) + "\n"
CSV_EVERYONE = "\n".join(["@everyone,<@&123456789012345678>,churned"]
                         + [f"{i % 7},{(i * 13) % 11},{(i // 3) % 2}" for i in range(60)]) + "\n"
CSV_NO_TARGET = "\n".join(["alpha,beta,gamma"] + [f"{i % 5},{i * 3 % 7},{i % 2}" for i in range(60)]) + "\n"


def payloads(env) -> list[dict[str, Any]]:
    """Every JSON body the bot sent that can carry text (messages, interaction responses, edits)."""
    out = []
    for entry in env.http_requests:
        body = entry.json
        if isinstance(body, dict) and entry.method in ("POST", "PATCH"):
            data = body.get("data") if isinstance(body.get("data"), dict) else body
            if any(k in data for k in ("content", "embeds", "allowed_mentions")):
                out.append(data)
    return out


def assert_no_pings(env) -> None:
    """Every text-carrying payload has allowed_mentions.parse == [] and no raw @everyone/@here."""
    bodies = payloads(env)
    assert bodies, "the bot sent nothing"
    for body in bodies:
        if "content" in body or "embeds" in body:
            assert body.get("allowed_mentions", {}).get("parse") == [], body
        text = repr(body.get("content", "")) + repr(body.get("embeds", ""))
        assert "@everyone" not in text and "@here" not in text, body


def all_text(result) -> str:
    """Content and embed text of an interaction's response and follow-ups."""
    parts = []
    messages = ([result.response] if result.response is not None else []) + list(result.followups)
    for m in messages:
        parts.append(m.content or "")
        for e in m.embeds:
            parts += [e.title or "", e.description or "", e.footer.text or ""]
            parts += [f"{f.name} {f.value}" for f in e.fields]
    return "\n".join(parts)


def csv_bytes(text: str) -> bytes:
    return io.BytesIO(text.encode()).getvalue()


# Fixtures (imported by the other test_discord_* modules) -------------------------------------------

import shutil  # noqa: E402

import pytest  # noqa: E402

from bot.app import Core  # noqa: E402
from bot.config import load_settings  # noqa: E402

SETTLE = 90.0  # seconds of real time a SimCord action may take (the machine may be busy)


@pytest.fixture(scope="session")
def discord_kb_template(tmp_path_factory):
    """A data dir with the small guides ingested once per session (real embeddings, real chroma)."""
    from bot.knowledge.index import release_clients

    root = tmp_path_factory.mktemp("kb-template")
    guides = root / "guides"
    guides.mkdir()
    for name, text in GUIDES.items():
        (guides / name).write_text(text, encoding="utf-8")
    data = root / "data"
    core = Core(load_settings(data_dir=data))
    core.ingest([guides])
    core.close()
    release_clients()
    return data


@pytest.fixture
def discord_settings(tmp_path, discord_kb_template):
    data = tmp_path / "data"
    shutil.copytree(discord_kb_template, data)
    return load_settings(data_dir=data, overrides={
        "discord.ask_cooldown_seconds": 0, "discord.scope_cooldown_seconds": 0,
        "scope.budget_seconds": 3,
    })


@pytest.fixture
def discord_core(discord_settings):
    c = Core(discord_settings)
    c.warm()
    yield c
    c.close()


@pytest.fixture
def simcord_bot(discord_settings, discord_core):
    from bot.discord import build_bot

    return build_bot(discord_settings, discord_core, sync="global", warm=False)


@pytest.fixture
def server(simcord_env):
    """A guild with #general and two members (alice, bob)."""
    guild = simcord_env.create_guild("Freelancers")
    channel = guild.create_text_channel("general")
    alice = guild.add_member(simcord_env.create_user("alice"))
    bob = guild.add_member(simcord_env.create_user("bob"))
    return guild, channel, alice, bob
