"""The state store shared by processes, on SQLite and on a real PostgreSQL server: cooldowns, job
slots and quotas hold across processes (exactly one winner of a race), scopes, /forget, expiry,
schema versions and migrations, concurrent first use, and copying a SQLite store into PostgreSQL."""

from __future__ import annotations

import multiprocessing as mp
import sqlite3
import threading
import time

import pytest

from bot.store import SCHEMA_VERSION, Store

FORK = mp.get_context("fork")  # fast; the store drops inherited connections in the child


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "s.sqlite3")
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def store(url):
    s = Store(url)
    yield s
    s.close()


# Races between processes -------------------------------------------------------------------


def _race(url: str, what: str, user: str, barrier, results) -> None:
    store = Store(url)
    store.ensure_schema()
    barrier.wait(60)
    if what == "slot":
        results.put(store.acquire_slot(user, "scope", lease=60) is not None)
    elif what == "cooldown":
        results.put(store.cooldown(user, "scope", 60) == 0)
    elif what == "quota":
        results.put(store.take_quota(user, "llm", 3))
    else:  # first use of a fresh database: schema, WAL switch and a write, all at once
        results.put(store.cooldown(user, "ask", 60) == 0)
    store.close()


def _run_race(url: str, what: str, n: int, *, same_user: bool = True) -> list[bool]:
    barrier, results = FORK.Barrier(n), FORK.Queue()
    procs = [FORK.Process(target=_race, args=(url, what, "alice" if same_user else f"u{i}", barrier, results))
             for i in range(n)]
    for p in procs:
        p.start()
    out = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    return out


def test_exactly_one_process_wins_a_slot_a_cooldown_and_the_quota_holds(url):
    Store(url).ensure_schema()
    assert sorted(_run_race(url, "slot", 6)) == [False] * 5 + [True]
    assert sorted(_run_race(url, "cooldown", 6)) == [False] * 5 + [True]
    assert sorted(_run_race(url, "quota", 6)) == [False] * 3 + [True] * 3  # limit 3 a day


def test_several_processes_start_together_on_a_fresh_database(url):
    assert _run_race(url, "first-use", 6, same_user=False) == [True] * 6
    assert Store(url).schema_version() == SCHEMA_VERSION


def test_first_use_waits_for_another_writer_of_a_fresh_sqlite_file(tmp_path):
    """SQLite switches a file to WAL without waiting on the busy timeout: a first use that met another
    process's first write failed at once with 'database is locked'. Now it waits its turn."""
    path = tmp_path / "fresh.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # another process is writing the fresh file right now
    holder.execute("CREATE TABLE other_process (x)")
    threading.Timer(0.5, lambda: holder.execute("COMMIT")).start()
    store = Store(path)
    assert store.cooldown("alice", "scope", 30) == 0
    assert store.schema_version() == SCHEMA_VERSION
    holder.close()


# Behaviour on both databases ---------------------------------------------------------------------


def test_cooldown_and_quota(store):
    assert store.cooldown("u", "ask", 0.5) == 0
    assert 0 < store.cooldown("u", "ask", 0.5) <= 0.5
    assert store.cooldown("v", "ask", 0.5) == 0  # per user
    time.sleep(0.6)
    assert store.cooldown("u", "ask", 0.5) == 0
    assert store.take_quota("u", "llm", 2) and store.take_quota("u", "llm", 2)
    assert not store.take_quota("u", "llm", 2)
    assert not store.take_quota("w", "llm", 0)  # a limit of 0 allows nothing


def test_one_slot_per_user_and_an_expired_lease_frees_it(store):
    token = store.acquire_slot("alice", "scope", lease=60)
    assert token and store.acquire_slot("alice", "scope", lease=60) is None
    assert store.acquire_slot("bob", "scope", lease=0.1)
    store.release_slot("alice", "scope", token)
    assert store.acquire_slot("alice", "scope", lease=60)
    time.sleep(0.2)
    assert store.acquire_slot("bob", "scope", lease=60)  # a crashed holder does not block forever


def test_scopes_are_per_user_and_forget_deletes_everything(store):
    sid = store.save_scope("alice", {"task": "binary", "estimate": {}})
    assert store.get_scope(sid, user_id="alice") and store.get_scope(sid, user_id="bob") is None
    assert store.latest_scope("alice")[0] == sid and store.list_scopes("alice")[0]["id"] == sid
    store.add_turn("c1", "alice", "q", "q", "rates", private=False, private_ttl=3600, ttl=3600)
    aid = store.record_answer("alice", "q", "rates", [{"source": "x.md"}])
    assert store.add_feedback(aid, "alice", "helpful")
    store.take_quota("alice", "llm", 5)
    store.cooldown("alice", "ask", 60)
    counts = store.forget("alice")
    assert counts == {"conversation_turns": 1, "scope_reports": 1, "feedback": 1, "answers": 1}
    assert store.latest_scope("alice") is None and store.turns("c1") == [] and store.feedback() == []
    assert store.cooldown("alice", "ask", 60) == 0  # her cooldown went too


def test_forget_removes_the_question_from_other_peoples_feedback(store):
    aid = store.record_answer("alice", "how much should I charge Acme for churn modelling?", "rates", [])
    assert store.add_feedback(aid, "bob", "helpful")  # bob votes on alice's public answer
    mine = store.record_answer("bob", "what is leakage?", "methodology", [])
    assert store.add_feedback(mine, "alice", "wrong_source")
    store.forget("alice")
    left = store.feedback()
    assert all("Acme" not in f["question"] for f in left)
    assert left == []  # alice's vote on bob's answer and bob's vote quoting alice's question are gone
    assert store.add_feedback(mine, "carol", "helpful") and len(store.feedback()) == 1  # bob's answer stays


def test_stored_questions_and_feedback_expire_with_the_conversation_ttl(url):
    store = Store(url, ttl_seconds=1.0)
    store.ensure_schema()
    aid = store.record_answer("alice", "a public question", None, [])
    assert store.add_feedback(aid, "bob", "helpful") and len(store.feedback()) == 1
    time.sleep(1.2)
    assert store.feedback() == []
    assert not store.add_feedback(aid, "carol", "helpful")  # the answer record expired too


def test_an_expired_turn_is_never_read_back(store):
    store.add_turn("c1", "u1", "my day rate?", "my day rate?", "rates", private=True, private_ttl=0.3, ttl=600)
    assert len(store.turns("c1")) == 1
    time.sleep(0.4)
    assert store.turns("c1") == []  # whether or not the periodic sweep has run yet


def test_turns_keep_their_order_and_meta(store):
    for i in range(3):
        store.add_turn("c1", "u1", f"q{i}", f"s{i}", None, private=False, private_ttl=60, ttl=600, meta={"i": i})
    assert [t["meta"]["i"] for t in store.turns("c1", limit=2)] == [1, 2]


def test_a_newer_schema_is_refused(store):
    from sqlalchemy import update

    from bot.errors import ConfigError
    from bot.store import schema_version

    store.ensure_schema()
    with store.engine.begin() as conn:
        conn.execute(update(schema_version).values(version=SCHEMA_VERSION + 1))
    with pytest.raises(ConfigError, match="newer|knows up to"):
        Store(store.url).turns("c1")


# Migrations ------------------------------------------------------------------------------------------


def test_an_older_sqlite_state_file_is_migrated(tmp_path):
    path = tmp_path / "old.sqlite3"
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE turns (conversation TEXT NOT NULL, user_id TEXT NOT NULL, idx INTEGER NOT NULL,
            question TEXT NOT NULL, standalone TEXT NOT NULL, skill TEXT, private INTEGER NOT NULL,
            created REAL NOT NULL, expires REAL NOT NULL, PRIMARY KEY (conversation, idx));
        CREATE TABLE answers (id TEXT PRIMARY KEY, user_id TEXT NOT NULL, question TEXT NOT NULL, skill TEXT,
            sources TEXT NOT NULL, created REAL NOT NULL);
        CREATE TABLE feedback (id INTEGER PRIMARY KEY AUTOINCREMENT, answer_id TEXT NOT NULL, user_id TEXT NOT NULL,
            vote TEXT NOT NULL, question TEXT NOT NULL, skill TEXT, sources TEXT NOT NULL, created REAL NOT NULL,
            UNIQUE (answer_id, user_id));
        INSERT INTO turns VALUES ('c1','u1',0,'q','q',NULL,0,0,9e18);
        INSERT INTO answers VALUES ('a-kept','u2','kept question',NULL,'[]',strftime('%s','now'));
        INSERT INTO feedback (answer_id, user_id, vote, question, skill, sources, created)
            VALUES ('a-kept','u3','helpful','kept question',NULL,'[]',strftime('%s','now')),
                   ('a-forgotten','u3','helpful','a question whose asker was forgotten',NULL,'[]',strftime('%s','now'));
    """)
    con.close()
    store = Store(path)
    store.add_turn("c1", "u1", "and in germany?", "day rates in germany", "rates", private=False, private_ttl=60,
                   ttl=600, meta={"sections": ["DACH rates"]})
    assert [t["meta"] for t in store.turns("c1")] == [{}, {"sections": ["DACH rates"]}]
    assert [f["question"] for f in store.feedback()] == ["kept question"]  # the orphan quoting a question went
    assert store.schema_version() == SCHEMA_VERSION and store.cooldown("u1", "ask", 5) == 0  # new tables exist


def test_store_migrate_copies_a_sqlite_store_into_postgresql(tmp_path, postgres_url, capsys):
    from bot.cli import main

    data = tmp_path / "data"
    src = Store(data / "state.sqlite3")
    sid = src.save_scope("alice", {"task": "binary", "estimate": {}, "rows": 120})
    aid = src.record_answer("bob", "q", "rates", [{"source": "x.md"}])
    src.add_feedback(aid, "alice", "helpful")
    src.add_turn("c1", "bob", "q", "q", None, private=False, private_ttl=60, ttl=600, meta={"k": 1})
    src.close()
    assert main(["--data-dir", str(data), "store", "migrate", "--to", postgres_url, "--json"]) == 0
    out = capsys.readouterr().out
    assert '"scopes": 1' in out and '"feedback": 1' in out and "postgres@" in out
    dst = Store(postgres_url)
    assert dst.get_scope(sid, user_id="alice")["rows"] == 120
    assert dst.turns("c1")[0]["meta"] == {"k": 1} and dst.feedback()[0]["answer_id"] == aid
    assert dst.add_feedback(aid, "carol", "helpful")  # the id sequence continues after the copied rows
    assert main(["--data-dir", str(data), "store", "migrate", "--to", postgres_url]) == 2  # not into data
    assert "already holds data" in capsys.readouterr().err
