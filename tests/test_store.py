"""The SQLite state store shared by processes: cooldowns, job slots, quotas, scopes and /forget."""

from __future__ import annotations

import multiprocessing as mp
import time

from bot.store import Store


def _take_slot(path, user, results):
    results.put(Store(path).acquire_slot(user, "scope", lease=60) is not None)


def test_cooldown_and_quota(tmp_path):
    store = Store(tmp_path / "s.sqlite3")
    assert store.cooldown("u", "ask", 0.5) == 0
    assert 0 < store.cooldown("u", "ask", 0.5) <= 0.5
    assert store.cooldown("v", "ask", 0.5) == 0  # per user
    time.sleep(0.6)
    assert store.cooldown("u", "ask", 0.5) == 0
    assert store.take_quota("u", "llm", 2) and store.take_quota("u", "llm", 2)
    assert not store.take_quota("u", "llm", 2)


def test_one_slot_per_user_across_processes(tmp_path):
    path = tmp_path / "s.sqlite3"
    store = Store(path)
    token = store.acquire_slot("alice", "scope", lease=60)
    assert token
    results = mp.get_context("spawn").Queue()
    proc = mp.get_context("spawn").Process(target=_take_slot, args=(path, "alice", results))
    proc.start()
    proc.join(60)
    assert results.get(timeout=5) is False  # another process sees alice's running job
    assert store.acquire_slot("bob", "scope", lease=60)
    store.release_slot("alice", "scope", token)
    assert store.acquire_slot("alice", "scope", lease=60)


def test_expired_lease_frees_the_slot(tmp_path):
    store = Store(tmp_path / "s.sqlite3")
    assert store.acquire_slot("u", "scope", lease=0.1)
    time.sleep(0.2)
    assert store.acquire_slot("u", "scope", lease=60)  # a crashed holder does not block forever


def test_scopes_are_per_user_and_forget_deletes_everything(tmp_path):
    store = Store(tmp_path / "s.sqlite3")
    sid = store.save_scope("alice", {"task": "binary", "estimate": {}})
    assert store.get_scope(sid, user_id="alice") and store.get_scope(sid, user_id="bob") is None
    assert store.latest_scope("alice")[0] == sid
    store.add_turn("c1", "alice", "q", "q", "rates", private=False, private_ttl=3600, ttl=3600)
    aid = store.record_answer("alice", "q", "rates", [{"source": "x.md"}])
    assert store.add_feedback(aid, "alice", "helpful")
    counts = store.forget("alice")
    assert counts == {"conversation_turns": 1, "scope_reports": 1, "feedback": 1, "answers": 1}
    assert store.latest_scope("alice") is None and store.turns("c1") == [] and store.feedback() == []


def test_turns_keep_their_meta_and_an_older_state_file_gains_the_column(tmp_path):
    import sqlite3

    path = tmp_path / "old.sqlite3"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE turns (conversation TEXT NOT NULL, user_id TEXT NOT NULL, idx INTEGER NOT NULL, "
                "question TEXT NOT NULL, standalone TEXT NOT NULL, skill TEXT, private INTEGER NOT NULL, "
                "created REAL NOT NULL, expires REAL NOT NULL, PRIMARY KEY (conversation, idx))")
    con.execute("INSERT INTO turns VALUES ('c1','u1',0,'q','q',NULL,0,0,9e18)")
    con.commit()
    con.close()
    store = Store(path)
    store.add_turn("c1", "u1", "and in germany?", "day rates in germany", "rates", private=False, private_ttl=60,
                   ttl=600, meta={"sections": ["DACH rates"]})
    turns = store.turns("c1")
    assert [t["meta"] for t in turns] == [{}, {"sections": ["DACH rates"]}]
