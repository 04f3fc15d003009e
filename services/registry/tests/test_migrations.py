"""The schema comes only from the shipped Alembic migrations."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

from fal_registry import models
from fal_registry.database import (
    alembic_config,
    create_engine,
    current_revision,
    upgrade_schema,
)

TABLES = {
    "owners",
    "api_keys",
    "environments",
    "applications",
    "revisions",
    "aliases",
    "secrets",
}


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_upgrade_empty_database_creates_schema(database_url: str) -> None:
    engine = create_engine(database_url)
    assert current_revision(engine) is None

    upgrade_schema(engine)

    assert set(sa.inspect(engine).get_table_names()) >= TABLES
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_upgrade_twice_is_a_no_op(database_url: str) -> None:
    engine = create_engine(database_url)
    upgrade_schema(engine)
    with engine.begin() as connection:
        connection.execute(
            sa.text("INSERT INTO owners VALUES ('kept', :now)"),
            {"now": models.utc_now()},
        )

    upgrade_schema(engine)

    with engine.connect() as connection:
        owners = connection.execute(sa.text("SELECT name FROM owners")).scalars()
        assert list(owners) == ["kept"]
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_migrations_match_models(database_url: str) -> None:
    engine = create_engine(database_url)
    upgrade_schema(engine)

    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        differences = compare_metadata(context, SQLModel.metadata)

    assert differences == []
    engine.dispose()
