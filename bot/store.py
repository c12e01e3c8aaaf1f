"""Shared state in one SQLite file in the data dir (WAL, safe across processes and threads).

Holds conversations, stored scope reports (never the data), answer records for feedback, feedback,
model-call quotas, cooldowns and per-user job slots. Everything a sharded bot must share lives
here, not in process memory. Private turns carry an expiry and are purged on every access.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS turns (
    conversation TEXT NOT NULL, user_id TEXT NOT NULL, idx INTEGER NOT NULL,
    question TEXT NOT NULL, standalone TEXT NOT NULL, skill TEXT, private INTEGER NOT NULL,
    created REAL NOT NULL, expires REAL NOT NULL, meta TEXT NOT NULL DEFAULT '{}', PRIMARY KEY (conversation, idx));
CREATE INDEX IF NOT EXISTS turns_user ON turns(user_id);
CREATE TABLE IF NOT EXISTS scopes (
    id TEXT PRIMARY KEY, user_id TEXT NOT NULL, created REAL NOT NULL, report TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS scopes_user ON scopes(user_id, created);
CREATE TABLE IF NOT EXISTS answers (
    id TEXT PRIMARY KEY, user_id TEXT NOT NULL, question TEXT NOT NULL, skill TEXT,
    sources TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT, answer_id TEXT NOT NULL, user_id TEXT NOT NULL,
    vote TEXT NOT NULL, question TEXT NOT NULL, skill TEXT, sources TEXT NOT NULL, created REAL NOT NULL,
    UNIQUE (answer_id, user_id));
CREATE TABLE IF NOT EXISTS quota (
    user_id TEXT NOT NULL, day TEXT NOT NULL, kind TEXT NOT NULL, count INTEGER NOT NULL,
    PRIMARY KEY (user_id, day, kind));
CREATE TABLE IF NOT EXISTS cooldowns (
    user_id TEXT NOT NULL, command TEXT NOT NULL, until REAL NOT NULL, PRIMARY KEY (user_id, command));
CREATE TABLE IF NOT EXISTS slots (
    user_id TEXT NOT NULL, kind TEXT NOT NULL, token TEXT NOT NULL, until REAL NOT NULL,
    PRIMARY KEY (user_id, kind));
"""

FEEDBACK_VOTES = ("helpful", "not_helpful", "wrong_source")


class Store:
    """A thin, synchronous API over the state database. Open a connection per call."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._ready = False

    @contextmanager
    def _db(self):
        if not self._ready:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            con.execute("PRAGMA busy_timeout=30000")
            if not self._ready:
                con.execute("PRAGMA journal_mode=WAL")
                con.executescript(_SCHEMA)
                columns = {row[1] for row in con.execute("PRAGMA table_info(turns)")}
                if "meta" not in columns:  # a state file from before turns carried their answer's details
                    con.execute("ALTER TABLE turns ADD COLUMN meta TEXT NOT NULL DEFAULT '{}'")
                self._ready = True
            con.execute("BEGIN IMMEDIATE")
            yield con
            con.execute("COMMIT")
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
        finally:
            con.close()

    # Conversations -----------------------------------------------------------------
    def add_turn(self, conversation: str, user_id: str, question: str, standalone: str, skill: str | None,
                 *, private: bool, private_ttl: float, ttl: float, meta: dict[str, Any] | None = None) -> None:
        """`meta`: what the conversation needs of this turn later (JSON: e.g. the answer's sections)."""
        now = time.time()
        expires = now + (private_ttl if private else ttl)
        with self._db() as db:
            self._purge(db, now)
            row = db.execute("SELECT COALESCE(MAX(idx), -1) FROM turns WHERE conversation=?", (conversation,)).fetchone()
            db.execute(
                "INSERT INTO turns VALUES (?,?,?,?,?,?,?,?,?,?)",
                (conversation, str(user_id), row[0] + 1, question, standalone, skill, int(private), now, expires,
                 json.dumps(meta or {})),
            )

    def turns(self, conversation: str, limit: int = 6) -> list[dict[str, Any]]:
        with self._db() as db:
            self._purge(db, time.time())
            rows = db.execute(
                "SELECT question, standalone, skill, private, meta FROM turns WHERE conversation=? "
                "ORDER BY idx DESC LIMIT ?", (conversation, limit),
            ).fetchall()
        return [{"question": q, "standalone": s, "skill": k, "private": bool(p), "meta": json.loads(m or "{}")}
                for q, s, k, p, m in reversed(rows)]

    @staticmethod
    def _purge(db: sqlite3.Connection, now: float) -> None:
        db.execute("DELETE FROM turns WHERE expires < ?", (now,))

    # Scope reports -----------------------------------------------------------------
    def save_scope(self, user_id: str, report: dict[str, Any], *, keep_days: float = 90) -> str:
        scope_id = "s-" + uuid.uuid4().hex[:10]
        now = time.time()
        with self._db() as db:
            db.execute("DELETE FROM scopes WHERE created < ?", (now - keep_days * 86400,))
            db.execute("INSERT INTO scopes VALUES (?,?,?,?)", (scope_id, str(user_id), now, json.dumps(report)))
        return scope_id

    def get_scope(self, scope_id: str, user_id: str | None = None) -> dict[str, Any] | None:
        with self._db() as db:
            if user_id is None:
                row = db.execute("SELECT report FROM scopes WHERE id=?", (scope_id,)).fetchone()
            else:
                row = db.execute("SELECT report FROM scopes WHERE id=? AND user_id=?", (scope_id, str(user_id))).fetchone()
        return json.loads(row[0]) if row else None

    def latest_scope(self, user_id: str) -> tuple[str, dict[str, Any]] | None:
        with self._db() as db:
            row = db.execute(
                "SELECT id, report FROM scopes WHERE user_id=? ORDER BY created DESC LIMIT 1", (str(user_id),)
            ).fetchone()
        return (row[0], json.loads(row[1])) if row else None

    def list_scopes(self, user_id: str, limit: int = 10) -> list[dict[str, Any]]:
        with self._db() as db:
            rows = db.execute(
                "SELECT id, created, report FROM scopes WHERE user_id=? ORDER BY created DESC LIMIT ?",
                (str(user_id), limit),
            ).fetchall()
        out = []
        for sid, created, report in rows:
            r = json.loads(report)
            out.append({"id": sid, "created": created, "target": r.get("target"), "task": r.get("task"),
                        "rows": r.get("rows")})
        return out

    # Answers and feedback ----------------------------------------------------------
    def record_answer(self, user_id: str, question: str, skill: str | None, sources: list[dict]) -> str:
        answer_id = "a-" + uuid.uuid4().hex[:12]
        with self._db() as db:
            db.execute("INSERT INTO answers VALUES (?,?,?,?,?,?)",
                       (answer_id, str(user_id), question, skill, json.dumps(sources), time.time()))
        return answer_id

    def add_feedback(self, answer_id: str, user_id: str, vote: str) -> bool:
        """Store a vote on a recorded answer; one vote per person and answer (the last one counts)."""
        if vote not in FEEDBACK_VOTES:
            raise ValueError(f"vote must be one of {FEEDBACK_VOTES}")
        with self._db() as db:
            row = db.execute("SELECT question, skill, sources FROM answers WHERE id=?", (answer_id,)).fetchone()
            if row is None:
                return False
            db.execute(
                "INSERT INTO feedback (answer_id, user_id, vote, question, skill, sources, created) VALUES (?,?,?,?,?,?,?) "
                "ON CONFLICT(answer_id, user_id) DO UPDATE SET vote=excluded.vote, created=excluded.created",
                (answer_id, str(user_id), vote, row[0], row[1], row[2], time.time()),
            )
        return True

    def feedback(self) -> list[dict[str, Any]]:
        with self._db() as db:
            rows = db.execute("SELECT answer_id, vote, question, skill, sources, created FROM feedback").fetchall()
        return [{"answer_id": a, "vote": v, "question": q, "skill": s, "sources": json.loads(src), "created": c}
                for a, v, q, s, src, c in rows]

    # Quotas, cooldowns, slots --------------------------------------------------------
    def take_quota(self, user_id: str, kind: str, limit: int) -> bool:
        """Count one use for today (UTC); False when the limit is already reached."""
        day = time.strftime("%Y-%m-%d", time.gmtime())
        with self._db() as db:
            row = db.execute("SELECT count FROM quota WHERE user_id=? AND day=? AND kind=?",
                             (str(user_id), day, kind)).fetchone()
            used = row[0] if row else 0
            if used >= limit:
                return False
            db.execute("INSERT INTO quota VALUES (?,?,?,1) ON CONFLICT(user_id, day, kind) DO UPDATE SET count=count+1",
                       (str(user_id), day, kind))
            db.execute("DELETE FROM quota WHERE day < ?", (time.strftime("%Y-%m-%d", time.gmtime(time.time() - 3 * 86400)),))
        return True

    def cooldown(self, user_id: str, command: str, seconds: float) -> float:
        """Start a cooldown; return 0 when allowed, else the seconds left."""
        now = time.time()
        with self._db() as db:
            row = db.execute("SELECT until FROM cooldowns WHERE user_id=? AND command=?", (str(user_id), command)).fetchone()
            if row and row[0] > now:
                return row[0] - now
            db.execute("INSERT OR REPLACE INTO cooldowns VALUES (?,?,?)", (str(user_id), command, now + seconds))
        return 0.0

    def acquire_slot(self, user_id: str, kind: str, lease: float) -> str | None:
        """One running job per user and kind, across processes; the lease expires after a crash."""
        now = time.time()
        token = uuid.uuid4().hex
        with self._db() as db:
            row = db.execute("SELECT until FROM slots WHERE user_id=? AND kind=?", (str(user_id), kind)).fetchone()
            if row and row[0] > now:
                return None
            db.execute("INSERT OR REPLACE INTO slots VALUES (?,?,?,?)", (str(user_id), kind, token, now + lease))
        return token

    def release_slot(self, user_id: str, kind: str, token: str) -> None:
        with self._db() as db:
            db.execute("DELETE FROM slots WHERE user_id=? AND kind=? AND token=?", (str(user_id), kind, token))

    # Forget ---------------------------------------------------------------------------
    def forget(self, user_id: str) -> dict[str, int]:
        uid = str(user_id)
        with self._db() as db:
            counts = {
                "conversation_turns": db.execute("DELETE FROM turns WHERE user_id=?", (uid,)).rowcount,
                "scope_reports": db.execute("DELETE FROM scopes WHERE user_id=?", (uid,)).rowcount,
                "feedback": db.execute("DELETE FROM feedback WHERE user_id=?", (uid,)).rowcount,
                "answers": db.execute("DELETE FROM answers WHERE user_id=?", (uid,)).rowcount,
            }
            db.execute("DELETE FROM quota WHERE user_id=?", (uid,))
            db.execute("DELETE FROM cooldowns WHERE user_id=?", (uid,))
        return counts
