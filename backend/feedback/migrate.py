"""Bringing a database to the schema of this code (Alembic, migrations/ beside this file).

Run once per deployment, before the workers serve: gunicorn's master does it at start
(backend/gunicorn.conf.py), and `python -m backend.feedback migrate` does it by hand. Several
backends starting at once against one PostgreSQL take turns on an advisory lock
(migrations/env.py), so only one of them migrates.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from backend.feedback.store import FeedbackStore

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
log = logging.getLogger(__name__)


def alembic_config(store: FeedbackStore) -> Config:
    config = _script_config()
    config.attributes["engine"] = store.engine
    return config


def upgrade(store: FeedbackStore, revision: str = "head") -> None:
    command.upgrade(alembic_config(store), revision)


def head_revision() -> str:
    return ScriptDirectory.from_config(_script_config()).get_current_head()


def current_revision(store: FeedbackStore) -> str | None:
    with store.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade_at_start(store: FeedbackStore, attempts: int = 5, pause: float = 2.0) -> bool:
    """Upgrade, retrying while the database comes up; False (logged) if it never does.

    Predictions never depend on it: without a database only /feedback answers 503.
    """
    for attempt in range(1, attempts + 1):
        try:
            upgrade(store)
            log.info("feedback database at revision %s", head_revision())
            return True
        except Exception as exc:  # any failure: report it and keep serving predictions
            log.warning("feedback database migration failed (attempt %d of %d): %s",
                        attempt, attempts, exc)
            if attempt < attempts:
                time.sleep(pause)
        finally:
            store.close()
    log.error("feedback is unavailable: the database could not be migrated")
    return False


def _script_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config
