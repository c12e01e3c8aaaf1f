"""Scaling out on loopback: 8 scopes from 4 users through SimCord on 1 and on 2 `mlbot worker` processes,
and the latency of a state-store write.

    python evals/bench_scale.py [--part all|scopes|store] [--scopes 8] [--users 4] [--budget 20] [--postgres] [--json]

Scopes: starts a real redis-server and N real `mlbot worker` processes (one job slot each, the shared
state in one SQLite file), runs the real bot with `scope.engine: celery` against SimCord's simulated
Discord, and has each user send their scopes one after another (one scope per user at a time is the
bot's rule) while every user runs at once. It samples the event loop every 5 ms. Reported: wall time,
throughput (scopes per minute), the ratio 2 workers / 1 worker, the loop's max lag, every scope answered.
Goals: ratio >= 1.6 on 2 cores, max lag <= 100 ms, all answered.

Store: median and p95 of single writes (cooldown, slot acquire+release, answer record, conversation
turn) on the default SQLite store through its pooled engine. Goal: median write <= 2 ms.
On a shared machine every number is noisy: re-measure on a quiet one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evals.bench_discord import answered, dispatch_slash, make_csv  # noqa: E402

GOAL_RATIO = 1.6
GOAL_MAX_LAG_MS = 100.0
GOAL_WRITE_MS = 2.0


# Scopes ---------------------------------------------------------------------------------------------


async def run_scopes(workers: int, args, redis_url: str, tmp: Path) -> dict:
    import simcord

    from bot.app import Core
    from bot.config import load_settings
    from bot.discord import build_bot
    from tests.services import Worker

    state = str(tmp / f"state-{workers}.sqlite3")
    env = {"MLBOT_SCOPE__BROKER_URL": redis_url, "MLBOT_STORE__URL": state, "HF_HUB_OFFLINE": "1"}
    procs = [Worker({**env, "MLBOT_DATA_DIR": str(tmp / f"w{workers}-{i}")}) for i in range(workers)]
    try:
        for w in procs:
            w.start()
        settings = load_settings(data_dir=tmp / f"bot-{workers}", overrides={
            "discord.ask_cooldown_seconds": 0, "discord.scope_cooldown_seconds": 0,
            "discord.scope_workers": args.users, "discord.scope_queue": args.scopes,
            "scope.budget_seconds": args.budget, "scope.engine": "celery", "scope.broker_url": redis_url,
            "store.url": state})
        core = Core(settings)
        bot = build_bot(settings, core, sync="global", warm=False)
        bot.start_warm()  # as in production: imports and connections before the first command
        bot.warm_thread.join()
        csv = make_csv(args.rows)
        samples: list[float] = []
        stop = asyncio.Event()

        async def monitor() -> None:
            while not stop.is_set():
                t = time.perf_counter()
                await asyncio.sleep(0.005)
                samples.append(time.perf_counter() - t - 0.005)

        async with simcord.run(bot, settle_timeout=args.timeout) as sim:
            guild = sim.create_guild("Bench")
            channel = guild.create_text_channel("general")
            users = [guild.add_member(sim.create_user(f"user{i}")) for i in range(args.users)]
            per_user = [args.scopes // args.users + (i < args.scopes % args.users) for i in range(args.users)]
            results: list = []

            async def user_session(user, n: int) -> None:
                for k in range(n):  # one after another: a user has one scope running at a time
                    result = dispatch_slash(sim, user, channel, "scope",
                                            {"file": (f"leads{k}.csv", csv), "target": "churned"})
                    results.append(result)
                    deadline = time.perf_counter() + args.timeout
                    while not result.acknowledged or not _finished(result):
                        if time.perf_counter() > deadline:
                            return
                        await asyncio.sleep(0.1)

            watcher = asyncio.create_task(monitor())
            started = time.perf_counter()
            await asyncio.gather(*(user_session(u, n) for u, n in zip(users, per_user, strict=True)))
            wall = time.perf_counter() - started
            await sim.settle(timeout=args.timeout)
            stop.set()
            await watcher
            ok = sum(answered(r, "scope") for r in results)
            sim.raise_errors()
        core.close()
    finally:
        for w in procs:
            w.stop()
    lag = sorted(s * 1000 for s in samples)
    return {"workers": workers, "scopes": args.scopes, "answered": ok, "wall_seconds": round(wall, 2),
            "per_minute": round(60 * args.scopes / wall, 2), "lag_max_ms": round(lag[-1], 1) if lag else 0.0,
            "lag_p99_ms": round(lag[min(len(lag) - 1, int(0.99 * len(lag)))], 1) if lag else 0.0}


def _finished(result) -> bool:
    """The report arrived, or a final message that is not a progress line."""
    messages = ([result.response] if result.response is not None else []) + list(result.followups)
    return any(m.embeds or ((m.content or "").strip() and not m.content.startswith("⏳")) for m in messages)


async def bench_scopes(args) -> dict:
    from tests.services import RedisServer

    tmp = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    redis = RedisServer().start()
    try:
        one = await run_scopes(1, args, redis.db_url(1), tmp)
        two = await run_scopes(2, args, redis.db_url(2), tmp)
    finally:
        redis.stop()
    ratio = one["wall_seconds"] / two["wall_seconds"] if two["wall_seconds"] else 0.0
    lag = max(one["lag_max_ms"], two["lag_max_ms"])
    all_ok = one["answered"] == one["scopes"] and two["answered"] == two["scopes"]
    return {"runs": [one, two], "ratio": round(ratio, 2), "lag_max_ms": lag,
            "goal_met": ratio >= GOAL_RATIO and lag <= GOAL_MAX_LAG_MS and all_ok}


# Store -----------------------------------------------------------------------------------------------


def bench_store(n: int, url: str | None = None) -> dict:
    from bot.store import Store

    store = Store(url or Path(tempfile.mkdtemp(prefix="bench-store-")) / "state.sqlite3")
    store.ensure_schema()
    ops = {
        "cooldown": lambda i: store.cooldown(f"u{i}", "ask", 5),
        "slot acquire+release": lambda i: store.release_slot(f"u{i}", "scope", store.acquire_slot(f"u{i}", "scope", 60)),
        "record_answer": lambda i: store.record_answer(f"u{i % 50}", "a question", "rates", [{"source": "x.md"}]),
        "add_turn": lambda i: store.add_turn(f"c{i % 50}", f"u{i % 50}", "q", "q", None, private=False,
                                             private_ttl=60, ttl=600),
    }
    rows = []
    for name, op in ops.items():
        times = []
        for i in range(n):
            t = time.perf_counter()
            op(i)
            times.append((time.perf_counter() - t) * 1000)
        times.sort()
        rows.append({"op": name, "median_ms": round(statistics.median(times), 3),
                     "p95_ms": round(times[int(0.95 * len(times))], 3), "n": n})
    store.close()
    worst = max(r["median_ms"] for r in rows)
    return {"rows": rows, "goal_met": worst <= GOAL_WRITE_MS}


def bench_store_postgres(n: int) -> dict:
    """The same writes on a throwaway local PostgreSQL (loopback TCP; fsync off, so a floor)."""
    from tests.services import PostgresServer

    server = PostgresServer().start()
    try:
        result = bench_store(n, server.create_database())
    finally:
        server.stop()
    result["goal_met"] = True  # informational: the goal is on SQLite
    return result


# Output ---------------------------------------------------------------------------------------------


def _table(head: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    line = lambda cells: " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))  # noqa: E731
    return "\n".join([line(head), "-+-".join("-" * w for w in widths), *(line(r) for r in rows)])


def report(result: dict) -> str:
    out = []
    if "scopes" in result:
        s = result["scopes"]
        out.append(_table(["workers", "answered", "wall s", "scopes/min", "lag max ms", "lag p99 ms"],
                          [[str(r["workers"]), f"{r['answered']}/{r['scopes']}", f"{r['wall_seconds']:.1f}",
                            f"{r['per_minute']:.2f}", f"{r['lag_max_ms']:.1f}", f"{r['lag_p99_ms']:.1f}"]
                           for r in s["runs"]]))
        out.append(f"throughput 2 workers / 1 worker: {s['ratio']:.2f}x (goal >= {GOAL_RATIO}); max lag "
                   f"{s['lag_max_ms']:.1f} ms (goal <= {GOAL_MAX_LAG_MS:g}); goal {'met' if s['goal_met'] else 'missed'}")
    if "store" in result:
        st = result["store"]
        out.append(_table(["store write (SQLite, pooled)", "median ms", "p95 ms", "n"],
                          [[r["op"], f"{r['median_ms']:.3f}", f"{r['p95_ms']:.3f}", str(r["n"])] for r in st["rows"]]))
        out.append(f"goal median write <= {GOAL_WRITE_MS:g} ms: {'met' if st['goal_met'] else 'missed'}")
    if "store_postgres" in result:
        pg = result["store_postgres"]
        out.append(_table(["store write (PostgreSQL, loopback)", "median ms", "p95 ms", "n"],
                          [[r["op"], f"{r['median_ms']:.3f}", f"{r['p95_ms']:.3f}", str(r["n"])] for r in pg["rows"]]))
    return "\n\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--part", choices=["all", "scopes", "store"], default="all")
    p.add_argument("--scopes", type=int, default=8)
    p.add_argument("--users", type=int, default=4)
    p.add_argument("--rows", type=int, default=1500, help="rows of each scoped CSV")
    p.add_argument("--budget", type=float, default=20.0, help="scope.budget_seconds (generous: the work is fixed)")
    p.add_argument("--writes", type=int, default=500, help="store writes per operation")
    p.add_argument("--postgres", action="store_true", help="also time the writes on a throwaway PostgreSQL")
    p.add_argument("--timeout", type=float, default=900.0)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    import logging

    logging.basicConfig(level=logging.WARNING)
    result: dict = {}
    if args.part in ("all", "store"):
        result["store"] = bench_store(args.writes)
        if args.postgres:
            result["store_postgres"] = bench_store_postgres(args.writes)
    if args.part in ("all", "scopes"):
        result["scopes"] = asyncio.run(bench_scopes(args))
    print(json.dumps(result) if args.json else report(result))
    return 0 if all(part["goal_met"] for part in result.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
