"""Owners, keys, environments, applications, revisions and aliases.

Revision ID: 0001_initial
Revises:
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def _created_at(name: str = "created_at") -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "owners",
        sa.Column("name", sa.String(63), primary_key=True),
        _created_at(),
    )
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(63), sa.ForeignKey("owners.name"), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("salt", sa.String(64), nullable=False),
        sa.Column("secret_hash", sa.String(128), nullable=False),
        sa.Column("description", sa.String(255), nullable=False),
        _created_at(),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_api_keys_owner", "api_keys", ["owner"])
    op.create_table(
        "environments",
        sa.Column(
            "owner", sa.String(63), sa.ForeignKey("owners.name"), primary_key=True
        ),
        sa.Column("name", sa.String(63), primary_key=True),
        _created_at(),
    )
    op.create_table(
        "applications",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("owner", sa.String(63), nullable=False),
        sa.Column("environment_name", sa.String(63), nullable=False),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("auth_mode", sa.String(16), nullable=False),
        sa.Column("private_logs", sa.Boolean(), nullable=False),
        sa.Column("ephemeral", sa.Boolean(), nullable=False),
        sa.Column("scaling_overrides", sa.JSON(), nullable=False),
        _created_at(),
        sa.UniqueConstraint("owner", "environment_name", "name"),
        sa.ForeignKeyConstraint(
            ["owner", "environment_name"],
            ["environments.owner", "environments.name"],
        ),
    )
    op.create_table(
        "revisions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "application_id",
            sa.String(32),
            sa.ForeignKey("applications.id"),
            nullable=False,
        ),
        sa.Column("serialized_function", sa.LargeBinary(), nullable=False),
        sa.Column("serialization_method", sa.String(32), nullable=False),
        sa.Column("requirements", sa.JSON(), nullable=False),
        sa.Column("python_version", sa.String(16), nullable=False),
        sa.Column("env_key", sa.String(64), nullable=False),
        sa.Column("code_settings", sa.JSON(), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("endpoints", sa.JSON(), nullable=False),
        sa.Column("health_check", sa.JSON(), nullable=True),
        sa.Column("skip_retry_conditions", sa.JSON(), nullable=False),
        sa.Column("termination_grace_period_seconds", sa.Integer(), nullable=True),
        sa.Column("deployment_strategy", sa.String(16), nullable=False),
        sa.Column("source_code", sa.Text(), nullable=True),
        _created_at(),
    )
    op.create_index("ix_revisions_application_id", "revisions", ["application_id"])
    op.create_table(
        "aliases",
        sa.Column(
            "owner", sa.String(63), sa.ForeignKey("owners.name"), primary_key=True
        ),
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("environment_name", sa.String(63), nullable=False),
        sa.Column(
            "application_id",
            sa.String(32),
            sa.ForeignKey("applications.id"),
            nullable=False,
        ),
        sa.Column(
            "revision_id", sa.String(32), sa.ForeignKey("revisions.id"), nullable=False
        ),
        _created_at(),
        _created_at("updated_at"),
    )
    op.create_index("ix_aliases_application_id", "aliases", ["application_id"])


def downgrade() -> None:
    op.drop_table("aliases")
    op.drop_table("revisions")
    op.drop_table("applications")
    op.drop_table("environments")
    op.drop_table("api_keys")
    op.drop_table("owners")
