"""The corrections table and what the API, the review page and the CLI do with it.

One database URL (FEEDBACK_DATABASE_URL): SQLite in a file by default, PostgreSQL in compose
and on AWS, several backends writing to the same one. The engine is made lazily in each
process (gunicorn forks its workers after loading the app), so no connection is ever shared
across a fork. Every call is short and bounded: a stalled database fails the request with a
503 within seconds instead of holding a worker until gunicorn kills it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from backend.feedback.records import FRAME, IMAGE_BYTES, STATUSES, Correction

__all__ = ["FRAME", "IMAGE_BYTES", "STATUSES", "Correction", "FeedbackStore", "corrections",
           "database_url"]

# Seconds a statement or a lock wait may take: well under gunicorn's timeout (serving.env).
DATABASE_TIMEOUT_SECONDS = 2

metadata = sa.MetaData()
corrections = sa.Table(
    "corrections", metadata,
    sa.Column("id", sa.String(36), primary_key=True),  # the client-made UUID
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("model_version", sa.String(64), nullable=False),
    sa.Column("predicted", sa.SmallInteger, nullable=True),  # None: read as not a digit
    sa.Column("corrected", sa.SmallInteger, nullable=False),
    sa.Column("mode", sa.String(8), nullable=False),  # "digit" or "number"
    sa.Column("image", sa.LargeBinary, nullable=False),  # 28x28 uint8, MNIST polarity
    sa.Column("status", sa.String(10), nullable=False, server_default="new"),
    sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Index("ix_corrections_status_created", "status", "created_at"),
)


def database_url(url: str, password_file: str | None = None) -> str:
    """``url`` with the password read from ``password_file`` (kept out of the environment)."""
    if not password_file:
        return url
    password = Path(password_file).read_text().strip()
    return make_url(url).set(password=password).render_as_string(hide_password=False)


class FeedbackStore:
    # What a call raises when the database cannot answer (the API turns it into a 503).
    errors: tuple[type[Exception], ...] = (SQLAlchemyError,)

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: Engine | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()

    @property
    def dialect(self) -> str:
        return make_url(self.url).get_backend_name()

    @property
    def engine(self) -> Engine:
        """This process's engine (a forked worker makes its own)."""
        if self._engine is None or self._pid != os.getpid():
            with self._lock:
                if self._engine is None or self._pid != os.getpid():
                    if self._engine is not None:
                        # The parent's connections are its own: drop them without closing.
                        self._engine.dispose(close=False)
                    self._engine, self._pid = create_engine(self.url), os.getpid()
        return self._engine

    def close(self) -> None:
        """Close this process's connections (gunicorn's master, before it forks)."""
        if self._engine is not None and self._pid == os.getpid():
            self._engine.dispose()
        self._engine = None

    def add(self, item: Correction) -> tuple[Correction, bool]:
        """Store ``item`` unless its id exists: (the stored row, whether it was new)."""
        insert = (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(
            corrections)
        now = datetime.now(UTC)
        with self.engine.begin() as connection:
            result = connection.execute(
                insert.values(id=item.id, created_at=now, model_version=item.model_version,
                              predicted=item.predicted, corrected=item.corrected,
                              mode=item.mode, image=item.image, status="new")
                .on_conflict_do_nothing(index_elements=["id"]).returning(corrections.c.id))
            created = result.first() is not None  # nothing comes back when the id existed
            stored = self._get(connection, item.id)
        return stored, created

    def get(self, correction_id: str) -> Correction | None:
        with self.engine.connect() as connection:
            return self._get(connection, correction_id)

    def undo(self, correction_id: str, within_seconds: float) -> tuple[str, str | None]:
        """Delete a correction made in the last ``within_seconds``: ("deleted", its model
        version), ("expired", None) or ("missing", None)."""
        since = datetime.now(UTC) - timedelta(seconds=within_seconds)
        with self.engine.begin() as connection:
            version = connection.execute(
                corrections.delete().where(corrections.c.id == correction_id,
                                           corrections.c.created_at >= since)
                .returning(corrections.c.model_version)).scalar()
            if version is not None:
                return "deleted", version
            return ("expired" if self._get(connection, correction_id) else "missing"), None

    def recent(self, limit: int = 50, status: str | None = None) -> list[Correction]:
        query = sa.select(corrections).order_by(corrections.c.created_at.desc(),
                                                corrections.c.id).limit(limit)
        if status:
            query = query.where(corrections.c.status == status)
        with self.engine.connect() as connection:
            return [_row(r) for r in connection.execute(query)]

    def set_status(self, ids: Iterable[str], status: str) -> int:
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
        ids = list(ids)
        with self.engine.begin() as connection:
            return connection.execute(
                corrections.update().where(corrections.c.id.in_(ids))
                .values(status=status, reviewed_at=datetime.now(UTC))).rowcount

    def for_training(self, include_new: bool = False) -> list[Correction]:
        """Accepted corrections (and unreviewed ones if asked), oldest first."""
        wanted = ("accepted", "new") if include_new else ("accepted",)
        query = (sa.select(corrections).where(corrections.c.status.in_(wanted))
                 .order_by(corrections.c.created_at, corrections.c.id))
        with self.engine.connect() as connection:
            return [_row(r) for r in connection.execute(query)]

    def count(self) -> int:
        with self.engine.connect() as connection:
            return connection.execute(sa.select(sa.func.count()).select_from(corrections)
                                      ).scalar_one()

    @staticmethod
    def _get(connection: sa.Connection, correction_id: str) -> Correction | None:
        row = connection.execute(
            sa.select(corrections).where(corrections.c.id == correction_id)).first()
        return _row(row) if row else None


def _row(row: sa.Row) -> Correction:
    created = row.created_at
    if created is not None and created.tzinfo is None:  # SQLite keeps no zone: stored as UTC
        created = created.replace(tzinfo=UTC)
    return Correction(id=row.id, model_version=row.model_version, predicted=row.predicted,
                      corrected=row.corrected, mode=row.mode, image=bytes(row.image),
                      created_at=created, status=row.status)


def create_engine(url: str) -> Engine:
    """An engine whose every wait is bounded by DATABASE_TIMEOUT_SECONDS."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": DATABASE_TIMEOUT_SECONDS})

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:
            # WAL: readers never block the writer; several workers write one file.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={DATABASE_TIMEOUT_SECONDS * 1000}")
            cursor.close()

        return engine
    if backend == "postgresql":
        milliseconds = DATABASE_TIMEOUT_SECONDS * 1000
        return sa.create_engine(
            url, pool_size=2, max_overflow=2, pool_timeout=DATABASE_TIMEOUT_SECONDS,
            pool_pre_ping=True,
            connect_args={"connect_timeout": DATABASE_TIMEOUT_SECONDS,
                          "options": f"-c statement_timeout={milliseconds} "
                                     f"-c lock_timeout={milliseconds}"})
    raise ValueError(f"FEEDBACK_DATABASE_URL: {backend!r} is not supported "
                     "(use sqlite:///<file> or postgresql+psycopg://...)")
