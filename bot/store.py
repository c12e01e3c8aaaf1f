"""Shared state on SQLAlchemy 2: a SQLite file in the data dir by default, PostgreSQL for several machines.

Holds conversations, stored scope reports (never the data), answer records for feedback, feedback,
model-call quotas, cooldowns and per-user job slots. Everything a sharded bot or a scope worker must
share lives here, not in process memory. One pooled engine per store; every call is one transaction.

Races between processes are settled by single statements (an upsert with a condition and RETURNING),
so exactly one of several processes wins a slot or a cooldown on SQLite and on PostgreSQL alike.
Stored questions (turns, answers, feedback) expire with the conversation TTL; `forget` removes
everything about a user, including other people's votes on that user's answers, in one transaction.
The schema carries a version; `migrate` brings an older database (or an empty one) up to date.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import sqlite3
import threading
import time
import uuid
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Double,
    Engine,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    event,
    exists,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import IntegrityError, OperationalError

from bot.errors import ConfigError

log = logging.getLogger(__name__)

FEEDBACK_VOTES = ("helpful", "not_helpful", "wrong_source")
SCHEMA_VERSION = 3
DEFAULT_TTL_SECONDS = 30 * 86400
BUSY_SECONDS = 30.0
PURGE_EVERY = 60.0  # seconds between sweeps of expired rows (reads filter them out meanwhile)

metadata = MetaData()
schema_version = Table("schema_version", metadata, Column("version", Integer, nullable=False))
turns = Table(
    "turns", metadata,
    Column("conversation", Text, primary_key=True), Column("user_id", Text, nullable=False),
    Column("idx", Integer, primary_key=True), Column("question", Text, nullable=False),
    Column("standalone", Text, nullable=False), Column("skill", Text), Column("private", Integer, nullable=False),
    Column("created", Double, nullable=False), Column("expires", Double, nullable=False),
    Column("meta", Text, nullable=False, server_default="{}"),
    Index("turns_user", "user_id"), Index("turns_expires", "expires"),
)
scopes = Table(
    "scopes", metadata,
    Column("id", Text, primary_key=True), Column("user_id", Text, nullable=False),
    Column("created", Double, nullable=False), Column("report", Text, nullable=False),
    Index("scopes_user", "user_id", "created"), Index("scopes_created", "created"),
)
answers = Table(
    "answers", metadata,
    Column("id", Text, primary_key=True), Column("user_id", Text, nullable=False),
    Column("question", Text, nullable=False), Column("skill", Text), Column("sources", Text, nullable=False),
    Column("created", Double, nullable=False),
    Index("answers_user", "user_id"), Index("answers_created", "created"),
)
feedback = Table(
    "feedback", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True), Column("answer_id", Text, nullable=False),
    Column("user_id", Text, nullable=False), Column("vote", Text, nullable=False),
    Column("question", Text, nullable=False), Column("skill", Text), Column("sources", Text, nullable=False),
    Column("created", Double, nullable=False),
    UniqueConstraint("answer_id", "user_id"), Index("feedback_user", "user_id"), Index("feedback_created", "created"),
)
quota = Table(
    "quota", metadata,
    Column("user_id", Text, primary_key=True), Column("day", Text, primary_key=True),
    Column("kind", Text, primary_key=True), Column("count", Integer, nullable=False),
)
cooldowns = Table(
    "cooldowns", metadata,
    Column("user_id", Text, primary_key=True), Column("command", Text, primary_key=True),
    Column("until", Double, nullable=False),
)
slots = Table(
    "slots", metadata,
    Column("user_id", Text, primary_key=True), Column("kind", Text, primary_key=True),
    Column("token", Text, nullable=False), Column("until", Double, nullable=False),
)
TABLES = [turns, scopes, answers, feedback, quota, cooldowns, slots]  # the data (schema_version aside)


def store_url(target: str | os.PathLike) -> str:
    """A database URL from a URL or a SQLite file path; `postgresql://` means psycopg 3."""
    raw = str(target)
    if "://" not in raw:
        return f"sqlite:///{Path(raw).expanduser().resolve()}"
    if raw.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + raw.split("://", 1)[1]
    return raw


def shown_url(url: str) -> str:
    """The URL with its password masked (for logs and messages)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy can read: show its scheme only
        return str(url).split("://", 1)[0] + "://..."


class Store:
    """A thin, synchronous API over the state database (thread-safe; one pooled engine)."""

    def __init__(self, target: str | os.PathLike, *, ttl_seconds: float = DEFAULT_TTL_SECONDS, pool_size: int = 5):
        """`target`: a SQLite file path or a database URL. `ttl_seconds`: how long stored questions,
        answers and feedback are kept (the conversation TTL)."""
        self.url = store_url(target)
        self.ttl = float(ttl_seconds)
        self.engine = _make_engine(self.url, pool_size)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._insert = _sqlite_insert if self.is_sqlite else _pg_insert
        self._ready = False
        self._ready_lock = threading.Lock()
        self._next_purge = 0.0

    def close(self) -> None:
        self.engine.dispose()

    # Transactions -----------------------------------------------------------------------
    @contextlib.contextmanager
    def _tx(self, *, write: bool = True) -> Iterator[Connection]:
        """One transaction (SQLite: BEGIN IMMEDIATE for writes, so writers queue on the busy timeout)."""
        self.ensure_schema()
        with self.engine.connect() as conn:
            if not write:
                conn = conn.execution_options(mlbot_read=True)
            with conn.begin():
                yield conn

    def ensure_schema(self) -> None:
        if self._ready:
            return
        with self._ready_lock:
            if not self._ready:
                migrate(self.engine)
                self._ready = True

    def schema_version(self) -> int:
        with self.engine.connect() as conn, conn.begin():
            return _current_version(conn)

    # Conversations -----------------------------------------------------------------
    def add_turn(self, conversation: str, user_id: str, question: str, standalone: str, skill: str | None,
                 *, private: bool, private_ttl: float, ttl: float, meta: dict[str, Any] | None = None) -> None:
        """`meta`: what the conversation needs of this turn later (JSON: e.g. the answer's sections)."""
        self.ensure_schema()  # a first use may migrate: the clock starts after it
        now = time.time()
        row = {"conversation": conversation, "user_id": str(user_id), "question": question, "standalone": standalone,
               "skill": skill, "private": int(private), "created": now,
               "expires": now + (private_ttl if private else ttl), "meta": json.dumps(meta or {})}
        for attempt in range(5):  # PostgreSQL: two processes may pick the same next index; one retries
            try:
                with self._tx() as db:
                    self._purge(db, now)
                    last = db.execute(select(func.coalesce(func.max(turns.c.idx), -1))
                                      .where(turns.c.conversation == conversation)).scalar_one()
                    db.execute(turns.insert().values(idx=last + 1, **row))
                return
            except IntegrityError:
                if attempt == 4:
                    raise

    def turns(self, conversation: str, limit: int = 6) -> list[dict[str, Any]]:
        with self._tx() as db:
            now = time.time()
            self._purge(db, now)
            rows = db.execute(
                select(turns.c.question, turns.c.standalone, turns.c.skill, turns.c.private, turns.c.meta)
                .where(turns.c.conversation == conversation, turns.c.expires >= now)
                .order_by(turns.c.idx.desc()).limit(limit)
            ).all()
        return [{"question": q, "standalone": s, "skill": k, "private": bool(p), "meta": json.loads(m or "{}")}
                for q, s, k, p, m in reversed(rows)]

    def _purge(self, db: Connection, now: float, *, force: bool = False) -> None:
        """Expired turns; questions, answers and votes older than the conversation TTL (votes go
        with their answer, so none outlives the question it quotes). At most every PURGE_EVERY
        seconds per process unless forced: a sweep is several statements, a round trip each on a server."""
        if not force and now < self._next_purge:
            return
        self._next_purge = now + PURGE_EVERY
        cutoff = now - self.ttl
        db.execute(delete(turns).where(turns.c.expires < now))
        old = select(answers.c.id).where(answers.c.created < cutoff)
        db.execute(delete(feedback).where((feedback.c.created < cutoff) | feedback.c.answer_id.in_(old)))
        db.execute(delete(answers).where(answers.c.created < cutoff))

    # Scope reports -----------------------------------------------------------------
    def save_scope(self, user_id: str, report: dict[str, Any], *, keep_days: float = 90) -> str:
        self.ensure_schema()  # a first use may migrate: the clock starts after it
        scope_id = "s-" + uuid.uuid4().hex[:10]
        now = time.time()
        with self._tx() as db:
            db.execute(delete(scopes).where(scopes.c.created < now - keep_days * 86400))
            db.execute(scopes.insert().values(id=scope_id, user_id=str(user_id), created=now,
                                              report=json.dumps(report)))
        return scope_id

    def get_scope(self, scope_id: str, user_id: str | None = None) -> dict[str, Any] | None:
        query = select(scopes.c.report).where(scopes.c.id == scope_id)
        if user_id is not None:
            query = query.where(scopes.c.user_id == str(user_id))
        with self._tx(write=False) as db:
            report = db.execute(query).scalar()
        return json.loads(report) if report else None

    def latest_scope(self, user_id: str) -> tuple[str, dict[str, Any]] | None:
        with self._tx(write=False) as db:
            row = db.execute(select(scopes.c.id, scopes.c.report).where(scopes.c.user_id == str(user_id))
                             .order_by(scopes.c.created.desc()).limit(1)).first()
        return (row[0], json.loads(row[1])) if row else None

    def list_scopes(self, user_id: str, limit: int = 10) -> list[dict[str, Any]]:
        with self._tx(write=False) as db:
            rows = db.execute(select(scopes.c.id, scopes.c.created, scopes.c.report)
                              .where(scopes.c.user_id == str(user_id))
                              .order_by(scopes.c.created.desc()).limit(limit)).all()
        out = []
        for sid, created, report in rows:
            r = json.loads(report)
            out.append({"id": sid, "created": created, "target": r.get("target"), "task": r.get("task"),
                        "rows": r.get("rows")})
        return out

    # Answers and feedback ----------------------------------------------------------
    def record_answer(self, user_id: str, question: str, skill: str | None, sources: list[dict]) -> str:
        self.ensure_schema()  # a first use may migrate: the clock starts after it
        answer_id = "a-" + uuid.uuid4().hex[:12]
        now = time.time()
        with self._tx() as db:
            self._purge(db, now)
            db.execute(answers.insert().values(id=answer_id, user_id=str(user_id), question=question, skill=skill,
                                               sources=json.dumps(sources), created=now))
        return answer_id

    def add_feedback(self, answer_id: str, user_id: str, vote: str) -> bool:
        """Store a vote on a recorded answer; one vote per person and answer (the last one counts)."""
        if vote not in FEEDBACK_VOTES:
            raise ValueError(f"vote must be one of {FEEDBACK_VOTES}")
        self.ensure_schema()
        now = time.time()
        with self._tx() as db:
            self._purge(db, now)
            row = db.execute(select(answers.c.question, answers.c.skill, answers.c.sources)
                             .where(answers.c.id == answer_id, answers.c.created >= now - self.ttl)).first()
            if row is None:
                return False
            stmt = self._insert(feedback).values(answer_id=answer_id, user_id=str(user_id), vote=vote,
                                                 question=row[0], skill=row[1], sources=row[2], created=now)
            db.execute(stmt.on_conflict_do_update(index_elements=[feedback.c.answer_id, feedback.c.user_id],
                                                  set_={"vote": stmt.excluded.vote, "created": stmt.excluded.created}))
        return True

    def feedback(self) -> list[dict[str, Any]]:
        with self._tx() as db:
            self._purge(db, time.time(), force=True)
            rows = db.execute(select(feedback.c.answer_id, feedback.c.vote, feedback.c.question, feedback.c.skill,
                                     feedback.c.sources, feedback.c.created).order_by(feedback.c.id)).all()
        return [{"answer_id": a, "vote": v, "question": q, "skill": s, "sources": json.loads(src), "created": c}
                for a, v, q, s, src, c in rows]

    # Quotas, cooldowns, slots --------------------------------------------------------
    def take_quota(self, user_id: str, kind: str, limit: int) -> bool:
        """Count one use for today (UTC); False when the limit is already reached."""
        if limit <= 0:
            return False
        day = time.strftime("%Y-%m-%d", time.gmtime())
        stmt = self._insert(quota).values(user_id=str(user_id), day=day, kind=kind, count=1)
        stmt = stmt.on_conflict_do_update(index_elements=[quota.c.user_id, quota.c.day, quota.c.kind],
                                          set_={"count": quota.c.count + 1}, where=quota.c.count < limit)
        with self._tx() as db:
            counted = db.execute(stmt.returning(quota.c.count)).scalar()
            db.execute(delete(quota).where(quota.c.day < time.strftime("%Y-%m-%d", time.gmtime(time.time() - 3 * 86400))))
        return counted is not None

    def cooldown(self, user_id: str, command: str, seconds: float) -> float:
        """Start a cooldown; return 0 when allowed, else the seconds left."""
        with self._tx() as db:
            now = time.time()
            stmt = self._insert(cooldowns).values(user_id=str(user_id), command=command, until=now + seconds)
            stmt = stmt.on_conflict_do_update(index_elements=[cooldowns.c.user_id, cooldowns.c.command],
                                              set_={"until": stmt.excluded.until}, where=cooldowns.c.until <= now)
            if db.execute(stmt.returning(cooldowns.c.until)).scalar() is not None:
                return 0.0
            until = db.execute(select(cooldowns.c.until).where(cooldowns.c.user_id == str(user_id),
                                                               cooldowns.c.command == command)).scalar()
        return max((until or now) - now, 0.01)

    def acquire_slot(self, user_id: str, kind: str, lease: float) -> str | None:
        """One running job per user and kind, across processes; the lease expires after a crash."""
        token = uuid.uuid4().hex
        with self._tx() as db:
            now = time.time()
            stmt = self._insert(slots).values(user_id=str(user_id), kind=kind, token=token, until=now + lease)
            stmt = stmt.on_conflict_do_update(index_elements=[slots.c.user_id, slots.c.kind],
                                              set_={"token": stmt.excluded.token, "until": stmt.excluded.until},
                                              where=slots.c.until <= now)
            won = db.execute(stmt.returning(slots.c.token)).scalar()
        return token if won == token else None

    def release_slot(self, user_id: str, kind: str, token: str) -> None:
        with self._tx() as db:
            db.execute(delete(slots).where(slots.c.user_id == str(user_id), slots.c.kind == kind,
                                           slots.c.token == token))

    # Forget ---------------------------------------------------------------------------
    def forget(self, user_id: str) -> dict[str, int]:
        """Everything about the user, in one transaction: turns, scope reports, answers, feedback (the
        user's votes and other people's votes on the user's answers, which quote the question),
        quotas, cooldowns and finished job slots (a running job keeps its lease until it ends)."""
        uid = str(user_id)
        theirs = select(answers.c.id).where(answers.c.user_id == uid)
        with self._tx() as db:
            counts = {
                "conversation_turns": db.execute(delete(turns).where(turns.c.user_id == uid)).rowcount,
                "scope_reports": db.execute(delete(scopes).where(scopes.c.user_id == uid)).rowcount,
                "feedback": db.execute(delete(feedback).where(
                    (feedback.c.user_id == uid) | feedback.c.answer_id.in_(theirs))).rowcount,
                "answers": db.execute(delete(answers).where(answers.c.user_id == uid)).rowcount,
            }
            db.execute(delete(quota).where(quota.c.user_id == uid))
            db.execute(delete(cooldowns).where(cooldowns.c.user_id == uid))
            db.execute(delete(slots).where(slots.c.user_id == uid, slots.c.until <= time.time()))
        return counts

    # Copying ------------------------------------------------------------------------------
    def copy_to(self, target: Store, *, batch: int = 500) -> dict[str, int]:
        """Copy every row into `target` (brought to the current schema; must hold no data yet)."""
        target.ensure_schema()
        self.ensure_schema()
        with target._tx() as dst:
            busy = [t.name for t in TABLES if dst.execute(select(func.count()).select_from(t)).scalar_one()]
            if busy:
                raise ConfigError(f"the target database already holds data (tables {', '.join(busy)}).",
                                  hint="Copy into an empty database.")
            copied = {}
            with self.engine.connect() as src:
                src = src.execution_options(mlbot_read=True)
                for table in TABLES:
                    copied[table.name] = 0
                    result = src.execution_options(yield_per=batch).execute(select(table))
                    for rows in result.partitions():
                        dst.execute(table.insert(), [dict(r._mapping) for r in rows])
                        copied[table.name] += len(rows)
            if not target.is_sqlite:  # keep the feedback id sequence ahead of the copied ids
                dst.execute(text("SELECT setval(pg_get_serial_sequence('feedback', 'id'), "
                                 "COALESCE((SELECT MAX(id) FROM feedback), 0) + 1, false)"))
        return copied


# Migrations ---------------------------------------------------------------------------------


def migrate(engine: Engine) -> int:
    """Bring the schema to SCHEMA_VERSION; safe when several processes start on a fresh database."""
    if engine.dialect.name == "sqlite":
        _switch_to_wal(engine)
    with engine.connect() as conn, conn.begin():
        if engine.dialect.name == "postgresql":  # one migrator at a time; the others wait here
            conn.execute(text("SELECT pg_advisory_xact_lock(7413021)"))
        version = _current_version(conn)
        if version > SCHEMA_VERSION:
            raise ConfigError(f"the state database has schema version {version}; this mlbot knows up to "
                              f"{SCHEMA_VERSION}.", hint="Upgrade mlbot on this machine.")
        if version == SCHEMA_VERSION:
            return version
        for step_version, step in _STEPS:
            if version < step_version:
                step(conn)
        conn.execute(delete(schema_version))
        conn.execute(schema_version.insert().values(version=SCHEMA_VERSION))
        log.info("state database migrated from version %d to %d", version, SCHEMA_VERSION)
    return SCHEMA_VERSION


def _current_version(conn: Connection) -> int:
    if not inspect(conn).has_table("schema_version"):
        return 0
    return conn.execute(select(func.max(schema_version.c.version))).scalar() or 0


def _v1_tables(conn: Connection) -> None:
    """Every table (an older state file keeps its own; the version table is new)."""
    metadata.create_all(conn)


def _v2_turn_meta(conn: Connection) -> None:
    """Conversation turns carry a JSON `meta` (a state file from before it gains the column)."""
    if "meta" not in {c["name"] for c in inspect(conn).get_columns("turns")}:
        conn.execute(text("ALTER TABLE turns ADD COLUMN meta TEXT NOT NULL DEFAULT '{}'"))


def _v3_expiry(conn: Connection) -> None:
    """Questions expire: indexes on creation times; votes whose answer is gone quote a question
    nobody can forget any more, so they go."""
    for table in TABLES:
        for index in table.indexes:
            index.create(conn, checkfirst=True)
    conn.execute(delete(feedback).where(~exists().where(answers.c.id == feedback.c.answer_id)))


_STEPS = [(1, _v1_tables), (2, _v2_turn_meta), (3, _v3_expiry)]


# Engines ------------------------------------------------------------------------------------

_engines: weakref.WeakSet[Engine] = weakref.WeakSet()


def _make_engine(url: str, pool_size: int) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, pool_size=pool_size, max_overflow=pool_size,
                               connect_args={"timeout": BUSY_SECONDS, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    else:
        try:
            engine = create_engine(parsed, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
        except ModuleNotFoundError as exc:
            raise ConfigError(f"store.url {shown_url(url)} needs the database driver ({exc.name}).",
                              hint='Install the scale extra: pip install -e ".[scale]".') from None
    _engines.add(engine)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (see _sqlite_begin)
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={int(BUSY_SECONDS * 1000)}")
    cursor.execute("PRAGMA synchronous=NORMAL")  # WAL: durable across process crashes; fsync at checkpoints
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get("mlbot_read") else "BEGIN IMMEDIATE")


def _switch_to_wal(engine: Engine) -> None:
    """WAL once per file. SQLite takes the write lock for the switch without waiting on the busy
    timeout, so a switch that meets another process's first write is retried here."""
    deadline = time.monotonic() + BUSY_SECONDS
    delay = 0.005
    while True:
        try:
            with engine.connect() as conn:
                raw = conn.connection.dbapi_connection
                if raw.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
                    return
                if raw.execute("PRAGMA journal_mode=WAL").fetchone()[0].lower() == "wal":
                    return
        except (OperationalError, sqlite3.OperationalError) as exc:
            if "locked" not in str(exc).lower() or time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise ConfigError("the state database could not be switched to WAL mode.",
                              hint="Check that no other program holds it open.")
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


def _sqlite_insert(table: Table):
    from sqlalchemy.dialects.sqlite import insert

    return insert(table)


def _pg_insert(table: Table):
    from sqlalchemy.dialects.postgresql import insert

    return insert(table)


def _before_fork() -> None:
    """Collect garbage first, so no SQLite handle in an unreachable cycle is copied into the child to be
    closed there whenever the child's collector runs. On a loaded machine six forked processes racing
    for one job slot had two winners 3 times in 65 races, and none in 120 with this collection (a
    gc.collect() before each race had the same effect). Our reading: closing the copied handle closes
    its file descriptor, which drops the POSIX locks the child holds on the file."""
    if _engines:
        gc.collect()


def _after_fork_in_child() -> None:
    """A forked child must not reuse the parent's pooled connections."""
    for engine in list(_engines):
        engine.dispose(close=False)


os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)

__all__ = ["FEEDBACK_VOTES", "SCHEMA_VERSION", "Store", "migrate", "shown_url", "store_url"]
