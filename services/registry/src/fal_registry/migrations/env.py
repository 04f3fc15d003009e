"""Alembic environment of the registry.

The registry runs migrations itself at start and hands over an open
connection in ``config.attributes["connection"]``. Developers writing a new
migration can run ``alembic`` with ``-x url=<database url>`` instead.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine
from sqlmodel import SQLModel

from fal_registry import models  # noqa: F401  (registers the tables)

config = context.config
target_metadata = SQLModel.metadata


def run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run_with(connection)
else:
    url = context.get_x_argument(as_dictionary=True)["url"]
    with create_engine(url).begin() as own_connection:
        run_with(own_connection)
