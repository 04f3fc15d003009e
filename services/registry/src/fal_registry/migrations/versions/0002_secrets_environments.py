"""Encrypted secrets per environment; environment descriptions.

Revision ID: 0002_secrets_environments
Revises: 0001_initial
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_secrets_environments"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("environments") as batch:
        batch.add_column(
            sa.Column("description", sa.String(255), nullable=False, server_default="")
        )
    op.create_table(
        "secrets",
        sa.Column("owner", sa.String(63), primary_key=True),
        sa.Column("environment_name", sa.String(63), primary_key=True),
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("ciphertext", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner", "environment_name"],
            ["environments.owner", "environments.name"],
        ),
    )


def downgrade() -> None:
    op.drop_table("secrets")
    with op.batch_alter_table("environments") as batch:
        batch.drop_column("description")
