"""Event-loop lag of the Discord bot while 4 scopes and 50 asks run at once, through SimCord.

    python evals/bench_discord.py [--scopes 4] [--asks 50] [--budget 5] [--json]

Builds a temp data dir with a few guides from knowledge/ (real embeddings, real chroma), starts the real
bot against SimCord's simulated Discord, fires every slash command in one burst (no settling between
them, so they are all in flight together), and samples the loop every 5 ms until every interaction is
answered. Goal: max lag under 100 ms and every request answered.

SimCord's actor verbs settle after each action, so the burst is dispatched with SimCord's interaction
builders directly (its internal modules, pinned simcord==3.2.1).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GUIDES = ["knowledge/methodology/baselines-first.md", "knowledge/methodology/learning-curves.md",
          "knowledge/ip/ndas.md"]
QUESTIONS = ["why start with a dummy baseline?", "what does a learning curve tell me?",
             "what should an NDA with a client cover?", "how do I read R2 against a dummy model?",
             "when is more data worth collecting?"]
GOAL_MAX_LAG_MS = 100.0


def make_csv(rows: int = 1500, seed: int = 0) -> bytes:
    rng = random.Random(seed)
    lines = ["age,tenure,spend,visits,plan,region,churned"]
    for _ in range(rows):
        age, tenure, spend, visits = rng.randint(18, 80), rng.randint(0, 120), rng.uniform(5, 500), rng.randint(0, 60)
        plan, region = rng.choice(["basic", "plus", "pro"]), rng.choice(["north", "south", "east", "west"])
        churned = int(tenure < 12 and visits < 10 or rng.random() < 0.1)
        lines.append(f"{age},{tenure},{spend:.2f},{visits},{plan},{region},{churned}")
    return ("\n".join(lines) + "\n").encode()


def dispatch_slash(env, actor, channel, name: str, options: dict):
    """Emit one slash-command interaction without settling (what simcord's actor.slash does, minus the wait)."""
    from simcord import interactions as sim
    from simcord.enums import AppCommandType, InteractionType
    from simcord.results import InteractionResult

    backend = env.backend
    root = backend.find_command(name, actor.guild.id, type=AppCommandType.CHAT_INPUT)
    leaf, nesting = sim.walk_to_subcommand(root, [])
    leaf_options, resolved = sim.build_options(actor, name, leaf, options, channel_id=channel.id)
    data = {"id": root["id"], "name": root["name"], "type": root.get("type", AppCommandType.CHAT_INPUT),
            "options": sim.nest_options(root, nesting, leaf_options)}
    if resolved:
        data["resolved"] = resolved
    record, payload = sim.base_payload(backend, type=InteractionType.APPLICATION_COMMAND, channel_id=channel.id,
                                       guild_id=actor.guild.id, user_id=actor.id, data=data)
    backend.emit("INTERACTION_CREATE", payload)
    return InteractionResult(env, record)


def answered(result, kind: str) -> bool:
    messages = ([result.response] if result.response is not None else []) + list(result.followups)
    text = " ".join((m.content or "") + " ".join(e.title or "" for e in m.embeds) for m in messages)
    if "error id" in text or "⚠️" in text or "busy" in text.lower():
        return False
    if kind == "scope":
        return any(e.title == "Scope report" for m in messages for e in m.embeds)
    return any((m.content or "").strip() for m in messages)


async def bench(args) -> dict:
    import simcord

    from bot.app import Core
    from bot.config import load_settings
    from bot.discord import build_bot

    tmp = Path(tempfile.mkdtemp(prefix="bench-discord-"))
    settings = load_settings(data_dir=tmp / "data", overrides={
        "discord.ask_cooldown_seconds": 0, "discord.scope_cooldown_seconds": 0,
        "discord.scope_queue": max(4, args.scopes), "scope.budget_seconds": args.budget})
    core = Core(settings)
    t0 = time.perf_counter()
    core.ingest([ROOT / g for g in GUIDES])
    core.warm()
    setup_s = time.perf_counter() - t0
    bot = build_bot(settings, core, sync="global", warm=False)
    bot.start_warm()  # the scope worker starts with the bot, as in production
    bot.warm_thread.join()
    csv = make_csv()
    samples: list[float] = []
    stop = asyncio.Event()

    async def monitor() -> None:
        interval = 0.005
        while not stop.is_set():
            t = time.perf_counter()
            await asyncio.sleep(interval)
            samples.append(time.perf_counter() - t - interval)

    async with simcord.run(bot, settle_timeout=args.timeout) as env:
        guild = env.create_guild("Bench")
        channel = guild.create_text_channel("general")
        users = [guild.add_member(env.create_user(f"user{i}")) for i in range(max(args.scopes, 10))]
        watcher = asyncio.create_task(monitor())
        started = time.perf_counter()
        jobs = []
        for i in range(args.scopes):
            jobs.append(("scope", dispatch_slash(env, users[i], channel, "scope",
                                                 {"file": (f"leads{i}.csv", csv), "target": "churned"})))
            await asyncio.sleep(0)  # the driver's own dispatch work is not the bot's lag
        for i in range(args.asks):
            jobs.append(("ask", dispatch_slash(env, users[i % len(users)], channel, "ask",
                                               {"question": QUESTIONS[i % len(QUESTIONS)]})))
            await asyncio.sleep(0)
        await env.settle(timeout=args.timeout)
        wall = time.perf_counter() - started
        stop.set()
        await watcher
        ok = {"ask": 0, "scope": 0}
        for kind, result in jobs:
            ok[kind] += answered(result, kind)
        env.raise_errors()
    core.close()
    lag_ms = sorted(s * 1000 for s in samples)
    p99 = lag_ms[min(len(lag_ms) - 1, int(0.99 * len(lag_ms)))] if lag_ms else 0.0
    return {
        "scopes": args.scopes, "asks": args.asks, "answered_scopes": ok["scope"], "answered_asks": ok["ask"],
        "wall_seconds": round(wall, 2), "setup_seconds": round(setup_s, 2), "lag_samples": len(lag_ms),
        "lag_max_ms": round(lag_ms[-1], 1) if lag_ms else 0.0, "lag_p99_ms": round(p99, 1),
        "lag_p50_ms": round(statistics.median(lag_ms), 1) if lag_ms else 0.0,
        "goal_met": bool(lag_ms) and lag_ms[-1] < GOAL_MAX_LAG_MS and ok["scope"] == args.scopes
        and ok["ask"] == args.asks,
    }


def table(r: dict) -> str:
    head = ["requests", "answered", "wall s", "lag max ms", "lag p99 ms", "lag p50 ms", "samples", "goal"]
    row = [f"{r['scopes']} scopes + {r['asks']} asks",
           f"{r['answered_scopes']}/{r['scopes']} + {r['answered_asks']}/{r['asks']}",
           f"{r['wall_seconds']:.1f}", f"{r['lag_max_ms']:.1f}", f"{r['lag_p99_ms']:.1f}", f"{r['lag_p50_ms']:.1f}",
           str(r["lag_samples"]), "met" if r["goal_met"] else f"missed (max lag < {GOAL_MAX_LAG_MS:g} ms, all answered)"]
    widths = [max(len(h), len(c)) for h, c in zip(head, row, strict=True)]
    line = lambda cells: " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))  # noqa: E731
    return "\n".join([line(head), "-+-".join("-" * w for w in widths), line(row)])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scopes", type=int, default=4)
    p.add_argument("--asks", type=int, default=50)
    p.add_argument("--budget", type=float, default=5.0, help="scope.budget_seconds for each scope")
    p.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for every answer")
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    args = p.parse_args(argv)
    import logging

    logging.basicConfig(level=logging.WARNING)
    result = asyncio.run(bench(args))
    print(json.dumps(result) if args.json else table(result))
    return 0 if result["goal_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
