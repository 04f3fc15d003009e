"""Tables of the registry.

The schema is created and changed only by the Alembic migrations in
``fal_registry/migrations``; these models must stay in step with them (a
test compares the two).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


def _created_at() -> Any:
    return Field(
        default_factory=utc_now,
        sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False),
    )


def _json(nullable: bool = False) -> Any:
    return sa.Column(sa.JSON(), nullable=nullable)


class Owner(SQLModel, table=True):
    """A user or team: every key, environment and app belongs to one."""

    __tablename__ = "owners"

    name: str = Field(primary_key=True, max_length=63)
    created_at: datetime = _created_at()


class ApiKey(SQLModel, table=True):
    """A key ``key_id:secret``; only a salted hash of the secret is kept."""

    __tablename__ = "api_keys"

    key_id: str = Field(primary_key=True, max_length=64)
    owner: str = Field(foreign_key="owners.name", index=True, max_length=63)
    scope: str = Field(max_length=16)  # ADMIN | API
    salt: str = Field(max_length=64)
    secret_hash: str = Field(max_length=128)
    description: str = Field(default="", max_length=255)
    created_at: datetime = _created_at()
    revoked_at: datetime | None = Field(
        default=None, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=True)
    )


class Environment(SQLModel, table=True):
    """A namespace of apps of one owner; ``main`` always exists."""

    __tablename__ = "environments"

    owner: str = Field(foreign_key="owners.name", primary_key=True, max_length=63)
    name: str = Field(primary_key=True, max_length=63)
    description: str = Field(
        default="",
        sa_column=sa.Column(
            sa.String(255), nullable=False, server_default=sa.text("''")
        ),
    )
    created_at: datetime = _created_at()


class Secret(SQLModel, table=True):
    """A secret of one environment, encrypted with the operator's key."""

    __tablename__ = "secrets"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["owner", "environment_name"],
            ["environments.owner", "environments.name"],
        ),
    )

    owner: str = Field(primary_key=True, max_length=63)
    environment_name: str = Field(primary_key=True, max_length=63)
    name: str = Field(primary_key=True, max_length=128)
    ciphertext: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    created_at: datetime = _created_at()
    updated_at: datetime = _created_at()


class Application(SQLModel, table=True):
    """An app of one owner in one environment, with its run-time settings."""

    __tablename__ = "applications"
    __table_args__ = (
        sa.UniqueConstraint("owner", "environment_name", "name"),
        sa.ForeignKeyConstraint(
            ["owner", "environment_name"],
            ["environments.owner", "environments.name"],
        ),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    owner: str = Field(max_length=63)
    environment_name: str = Field(max_length=63)
    name: str = Field(max_length=63)
    auth_mode: str = Field(default="private", max_length=16)
    private_logs: bool = False
    ephemeral: bool = False
    # Scaling settings changed at run time; they overlay each revision's code
    # settings and survive redeploys until a deploy resets them.
    scaling_overrides: dict = Field(default_factory=dict, sa_column=_json())
    created_at: datetime = _created_at()


class Revision(SQLModel, table=True):
    """One deployed version of an app's code, settings and environment."""

    __tablename__ = "revisions"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    application_id: str = Field(
        foreign_key="applications.id", index=True, max_length=32
    )
    serialized_function: bytes = Field(
        sa_column=sa.Column(sa.LargeBinary(), nullable=False)
    )
    serialization_method: str = Field(max_length=32)
    requirements: list = Field(default_factory=list, sa_column=_json())
    python_version: str = Field(max_length=16)
    env_key: str = Field(max_length=64)
    code_settings: dict = Field(default_factory=dict, sa_column=_json())
    app_metadata: dict = Field(
        default_factory=dict, sa_column=sa.Column("metadata", sa.JSON(), nullable=False)
    )
    endpoints: list = Field(default_factory=list, sa_column=_json())
    health_check: dict | None = Field(default=None, sa_column=_json(nullable=True))
    skip_retry_conditions: list = Field(default_factory=list, sa_column=_json())
    termination_grace_period_seconds: int | None = None
    deployment_strategy: str = Field(default="rolling", max_length=16)
    source_code: str | None = Field(
        default=None, sa_column=sa.Column(sa.Text(), nullable=True)
    )
    created_at: datetime = _created_at()


class Alias(SQLModel, table=True):
    """The public name ``/{owner}/{name}`` pointing at one revision."""

    __tablename__ = "aliases"

    owner: str = Field(foreign_key="owners.name", primary_key=True, max_length=63)
    name: str = Field(primary_key=True, max_length=128)
    environment_name: str = Field(max_length=63)
    application_id: str = Field(
        foreign_key="applications.id", index=True, max_length=32
    )
    revision_id: str = Field(foreign_key="revisions.id", max_length=32)
    created_at: datetime = _created_at()
    updated_at: datetime = _created_at()
