"""Database engines and schema migrations.

SQLite (``sqlite:////abs/path.db``) is the one-machine default; PostgreSQL
(``postgresql+psycopg://...``) works through the same models. The schema is
only ever created or changed by the Alembic migrations shipped in
``fal_registry/migrations``, run at start.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine, make_url

from fal_registry.errors import DatabaseUnavailable

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def mask_url(url: str) -> str:
    """The URL with its password replaced by ``***``, safe to print."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<unparsable database URL>"


def create_engine(url: str) -> Engine:
    """An engine for ``url``, tuned for the registry's use of it."""
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError as error:
        raise DatabaseUnavailable(
            f"The database URL {mask_url(url)} is not valid: {error}"
        ) from error
    connect_args: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        # The servicer runs queries on worker threads; SQLite waits for a
        # concurrent writer instead of failing at once.
        connect_args = {"check_same_thread": False, "timeout": 30}
    elif parsed.get_backend_name() == "postgresql":
        connect_args = {"connect_timeout": 5}
    return sa.create_engine(url, connect_args=connect_args, pool_pre_ping=True)


def alembic_config() -> Config:
    """An Alembic configuration built in code; no alembic.ini is needed."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def upgrade_schema(engine: Engine) -> None:
    """Bring the schema to the newest migration; a no-op when it already is."""
    config = alembic_config()
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except (sa.exc.OperationalError, sa.exc.InterfaceError) as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else error
        raise DatabaseUnavailable(
            f"Cannot reach the database at {mask_url(str(engine.url))}: {reason}"
        ) from error


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at, or None before the first one."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
