"""Reading and writing the registry's tables.

Every method is one short transaction; methods that change several rows do
it in one, so a failure leaves nothing half-written. Methods are blocking;
the servicer runs them on worker threads.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from fal_registry.auth import KeyScope, NewKey, make_key
from fal_registry.errors import AlreadyExists, FailedPrecondition, NotFound
from fal_registry.models import (
    Alias,
    ApiKey,
    Application,
    Environment,
    Owner,
    Revision,
    Secret,
    utc_now,
)
from fal_registry.names import MAIN_ENVIRONMENT, alias_for
from fal_registry.scaling import RUNTIME_SETTINGS


@dataclass
class RevisionDraft:
    """Everything a registration stores, already validated."""

    owner: str
    environment_name: str
    application_name: str
    auth_mode: str
    serialized_function: bytes
    serialization_method: str
    requirements: list[list[str]]
    python_version: str
    env_key: str
    code_settings: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    endpoints: list[str] = field(default_factory=list)
    health_check: dict[str, Any] | None = None
    skip_retry_conditions: list[str] = field(default_factory=list)
    termination_grace_period_seconds: int | None = None
    deployment_strategy: str = "rolling"
    source_code: str | None = None
    private_logs: bool = False
    ephemeral: bool = False
    reset_scale: bool = False


@dataclass(frozen=True)
class Deployment:
    """An alias with the application and revision it currently serves."""

    alias: Alias
    application: Application
    revision: Revision


class Store:
    """The registry's persistence, over one SQLAlchemy engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        with (
            Session(self.engine, expire_on_commit=False) as session,
            session.begin(),
        ):
            yield session

    # Owners and keys

    def ensure_owner(self, owner: str) -> None:
        """Create ``owner`` and its ``main`` environment unless they exist."""
        with self._transaction() as session:
            self._ensure_owner(session, owner)

    def create_key(self, owner: str, scope: KeyScope, description: str = "") -> NewKey:
        """Make a key for ``owner``; the returned secret is stored nowhere."""
        key = make_key()
        with self._transaction() as session:
            self._ensure_owner(session, owner)
            session.add(
                ApiKey(
                    key_id=key.key_id,
                    owner=owner,
                    scope=scope.value,
                    salt=key.salt,
                    secret_hash=key.secret_hash,
                    description=description,
                )
            )
        return key

    def find_key(self, key_id: str) -> ApiKey | None:
        with self._transaction() as session:
            return session.get(ApiKey, key_id)

    def list_keys(self, owner: str) -> list[ApiKey]:
        """The owner's keys that are not revoked, oldest first."""
        with self._transaction() as session:
            query = (
                select(ApiKey)
                .where(ApiKey.owner == owner)
                .where(col(ApiKey.revoked_at).is_(None))
                .order_by(col(ApiKey.created_at), col(ApiKey.key_id))
            )
            return list(session.exec(query).all())

    def revoke_key(self, owner: str, key_id: str) -> None:
        """Revoke one of the owner's keys; NotFound for others' or unknown."""
        with self._transaction() as session:
            key = session.get(ApiKey, key_id)
            if key is None or key.owner != owner or key.revoked_at is not None:
                raise NotFound(f"No key {key_id!r} exists for {owner}.")
            key.revoked_at = utc_now()
            session.add(key)

    # Environments

    def create_environment(
        self, owner: str, name: str, description: str = ""
    ) -> Environment:
        with self._transaction() as session:
            self._ensure_owner(session, owner)
            if session.get(Environment, (owner, name)) is not None:
                raise AlreadyExists(f"Environment {name!r} already exists for {owner}.")
            environment = Environment(owner=owner, name=name, description=description)
            session.add(environment)
            session.flush()
            return environment

    def list_environments(self, owner: str) -> list[Environment]:
        """The owner's environments, ``main`` first."""
        with self._transaction() as session:
            self._ensure_owner(session, owner)
            query = select(Environment).where(Environment.owner == owner)
            environments = list(session.exec(query).all())
        return sorted(environments, key=lambda e: (e.name != MAIN_ENVIRONMENT, e.name))

    def delete_environment(self, owner: str, name: str) -> None:
        """Delete an empty environment and its secrets; ``main`` stays."""
        if name == MAIN_ENVIRONMENT:
            raise FailedPrecondition(
                f"Environment {MAIN_ENVIRONMENT!r} cannot be deleted: every owner "
                "always has it."
            )
        with self._transaction() as session:
            environment = self._require_environment(session, owner, name)
            apps = session.exec(
                select(Application.name)
                .where(Application.owner == owner)
                .where(Application.environment_name == name)
            ).all()
            if apps:
                raise FailedPrecondition(
                    f"Environment {name!r} still has apps ({', '.join(sorted(apps))})"
                    ": delete them first."
                )
            for secret in session.exec(
                select(Secret)
                .where(Secret.owner == owner)
                .where(Secret.environment_name == name)
            ):
                session.delete(secret)
            session.flush()
            session.delete(environment)

    def require_environment(self, owner: str, name: str) -> None:
        """NotFound unless the owner has environment ``name``."""
        with self._transaction() as session:
            if name == MAIN_ENVIRONMENT:
                self._ensure_owner(session, owner)
                return
            self._require_environment(session, owner, name)

    # Secrets (values arrive and leave sealed; see fal_registry.encryption)

    def set_secret(
        self, owner: str, environment_name: str, name: str, ciphertext: str
    ) -> None:
        with self._transaction() as session:
            if environment_name == MAIN_ENVIRONMENT:
                self._ensure_owner(session, owner)
            self._require_environment(session, owner, environment_name)
            secret = session.get(Secret, (owner, environment_name, name))
            if secret is None:
                secret = Secret(
                    owner=owner,
                    environment_name=environment_name,
                    name=name,
                    ciphertext=ciphertext,
                )
            secret.ciphertext = ciphertext
            secret.updated_at = utc_now()
            session.add(secret)

    def list_secrets(self, owner: str, environment_name: str) -> list[Secret]:
        with self._transaction() as session:
            query = (
                select(Secret)
                .where(Secret.owner == owner)
                .where(Secret.environment_name == environment_name)
                .order_by(col(Secret.name))
            )
            return list(session.exec(query).all())

    def delete_secret(self, owner: str, environment_name: str, name: str) -> None:
        with self._transaction() as session:
            secret = session.get(Secret, (owner, environment_name, name))
            if secret is None:
                raise NotFound(
                    f"No secret {name!r} exists in environment {environment_name!r}."
                )
            session.delete(secret)

    # Applications

    def register(self, draft: RevisionDraft) -> Deployment:
        """Store a new revision and point the app's alias at it, atomically."""
        try:
            return self._register_once(draft)
        except IntegrityError:
            # A concurrent first registration of the same app created the
            # application or alias row first; the second attempt sees it.
            return self._register_once(draft)

    def _register_once(self, draft: RevisionDraft) -> Deployment:
        with self._transaction() as session:
            self._ensure_owner(session, draft.owner)
            self._ensure_environment(session, draft.owner, draft.environment_name)
            application = self._upsert_application(session, draft)
            revision = _new_revision(application, draft)
            session.add(revision)
            session.flush()
            alias = self._point_alias(session, application, revision)
            return Deployment(alias, application, revision)

    def list_deployments(
        self, owner: str, environment_name: str, application_name: str = ""
    ) -> list[Deployment]:
        """The owner's aliases in one environment, optionally one app's only."""
        with self._transaction() as session:
            query = (
                select(Alias, Application, Revision)
                .join(Application, col(Alias.application_id) == col(Application.id))
                .join(Revision, col(Alias.revision_id) == col(Revision.id))
                .where(Alias.owner == owner)
                .where(Alias.environment_name == environment_name)
                .order_by(Alias.name)
            )
            if application_name:
                query = query.where(Application.name == application_name)
            return [Deployment(*row) for row in session.exec(query).all()]

    def find_deployment(
        self, owner: str, environment_name: str, application_name: str
    ) -> Deployment:
        """The app's alias and current revision, or NotFound naming it."""
        with self._transaction() as session:
            application = self._require_application(
                session, owner, environment_name, application_name
            )
            alias = self._require_alias(session, application)
            revision = session.get(Revision, alias.revision_id)
            assert revision is not None
            return Deployment(alias, application, revision)

    def list_revisions(
        self, owner: str, environment_name: str, application_name: str
    ) -> list[tuple[Revision, list[str]]]:
        """The app's revisions, newest first, each with the aliases on it."""
        with self._transaction() as session:
            application = self._require_application(
                session, owner, environment_name, application_name
            )
            revisions = session.exec(
                select(Revision)
                .where(Revision.application_id == application.id)
                .order_by(col(Revision.created_at).desc(), col(Revision.id))
            ).all()
            aliases = session.exec(
                select(Alias).where(Alias.application_id == application.id)
            ).all()
            return [
                (
                    revision,
                    [a.name for a in aliases if a.revision_id == revision.id],
                )
                for revision in revisions
            ]

    def set_alias(
        self,
        owner: str,
        environment_name: str,
        application_name: str,
        revision_id: str,
    ) -> Deployment:
        """Point the app's alias at one of its own revisions."""
        with self._transaction() as session:
            application = self._require_application(
                session, owner, environment_name, application_name
            )
            revision = session.get(Revision, revision_id)
            if revision is None or revision.application_id != application.id:
                raise NotFound(
                    f"No revision {revision_id!r} exists for app {application_name!r}."
                )
            alias = self._point_alias(session, application, revision)
            return Deployment(alias, application, revision)

    def delete_alias(
        self, owner: str, environment_name: str, application_name: str
    ) -> tuple[str, str]:
        """Remove the app's alias; return its name and the revision it had."""
        with self._transaction() as session:
            application = self._require_application(
                session, owner, environment_name, application_name
            )
            alias = self._require_alias(session, application)
            session.delete(alias)
            return alias.name, alias.revision_id

    def delete_revision(self, owner: str, revision_id: str) -> None:
        """Delete a revision of the owner's that no alias points at."""
        with self._transaction() as session:
            revision = session.get(Revision, revision_id)
            application = (
                session.get(Application, revision.application_id)
                if revision is not None
                else None
            )
            if revision is None or application is None or application.owner != owner:
                raise NotFound(f"No revision {revision_id!r} exists for {owner}.")
            aliases = session.exec(
                select(Alias.name).where(Alias.revision_id == revision_id)
            ).all()
            if aliases:
                raise FailedPrecondition(
                    f"Revision {revision_id!r} is served by alias "
                    f"{', '.join(aliases)}: point the alias at another revision "
                    "(fal apps set-rev) first."
                )
            session.delete(revision)

    def update_settings(
        self,
        owner: str,
        environment_name: str,
        application_name: str,
        changes: dict[str, Any],
    ) -> Deployment:
        """Overlay ``changes`` on the app's run-time scaling settings."""
        with self._transaction() as session:
            application = self._require_application(
                session, owner, environment_name, application_name
            )
            application.scaling_overrides = {
                **application.scaling_overrides,
                **changes,
            }
            session.add(application)
            alias = self._require_alias(session, application)
            revision = session.get(Revision, alias.revision_id)
            assert revision is not None
            return Deployment(alias, application, revision)

    def resolve(self, owner: str, alias_name: str) -> Deployment:
        """The revision ``owner/alias_name`` serves, or NotFound."""
        with self._transaction() as session:
            alias = session.get(Alias, (owner, alias_name))
            if alias is None:
                raise NotFound(f"No app {owner}/{alias_name} is deployed.")
            application = session.get(Application, alias.application_id)
            revision = session.get(Revision, alias.revision_id)
            assert application is not None and revision is not None
            return Deployment(alias, application, revision)

    def delete_application(
        self, owner: str, environment_name: str, application_name: str
    ) -> str:
        """Delete an app, its revisions and its alias; return the alias name."""
        with self._transaction() as session:
            application = self._find_application(
                session, owner, environment_name, application_name
            )
            if application is None:
                raise NotFound(
                    f"No app {application_name!r} exists for {owner} in environment "
                    f"{environment_name!r}."
                )
            alias_name = alias_for(application_name, environment_name)
            for alias in session.exec(
                select(Alias).where(Alias.application_id == application.id)
            ):
                session.delete(alias)
            session.flush()
            for revision in session.exec(
                select(Revision).where(Revision.application_id == application.id)
            ):
                session.delete(revision)
            session.flush()
            session.delete(application)
            return alias_name

    # Helpers, inside the caller's transaction

    def _ensure_owner(self, session: Session, owner: str) -> None:
        if session.get(Owner, owner) is None:
            session.add(Owner(name=owner))
            session.flush()
        self._ensure_environment(session, owner, MAIN_ENVIRONMENT)

    def _ensure_environment(self, session: Session, owner: str, name: str) -> None:
        if session.get(Environment, (owner, name)) is None:
            session.add(Environment(owner=owner, name=name))
            session.flush()

    def _require_environment(
        self, session: Session, owner: str, name: str
    ) -> Environment:
        environment = session.get(Environment, (owner, name))
        if environment is None:
            raise NotFound(
                f"No environment {name!r} exists for {owner}: create it with "
                "'fal environments create'."
            )
        return environment

    def _require_application(
        self, session: Session, owner: str, environment_name: str, name: str
    ) -> Application:
        application = self._find_application(session, owner, environment_name, name)
        if application is None:
            raise NotFound(
                f"No app {name!r} exists for {owner} in environment "
                f"{environment_name!r}."
            )
        return application

    def _require_alias(self, session: Session, application: Application) -> Alias:
        name = alias_for(application.name, application.environment_name)
        alias = session.get(Alias, (application.owner, name))
        if alias is None:
            raise NotFound(
                f"App {application.name!r} has no alias: point one at a revision "
                "with 'fal apps set-rev'."
            )
        return alias

    def _find_application(
        self, session: Session, owner: str, environment_name: str, name: str
    ) -> Application | None:
        query = (
            select(Application)
            .where(Application.owner == owner)
            .where(Application.environment_name == environment_name)
            .where(Application.name == name)
        )
        return session.exec(query).first()

    def _upsert_application(
        self, session: Session, draft: RevisionDraft
    ) -> Application:
        application = self._find_application(
            session, draft.owner, draft.environment_name, draft.application_name
        )
        if application is None:
            application = Application(
                owner=draft.owner,
                environment_name=draft.environment_name,
                name=draft.application_name,
            )
        application.auth_mode = draft.auth_mode
        application.private_logs = draft.private_logs
        application.ephemeral = draft.ephemeral
        # Code-owned settings changed at run time last until the next deploy;
        # run-time ones survive it unless the deploy resets them.
        application.scaling_overrides = {
            key: value
            for key, value in application.scaling_overrides.items()
            if key in RUNTIME_SETTINGS and not draft.reset_scale
        }
        session.add(application)
        session.flush()
        return application

    def _point_alias(
        self, session: Session, application: Application, revision: Revision
    ) -> Alias:
        name = alias_for(application.name, application.environment_name)
        alias = session.get(Alias, (application.owner, name))
        if alias is None:
            alias = Alias(
                owner=application.owner,
                name=name,
                environment_name=application.environment_name,
                application_id=application.id,
                revision_id=revision.id,
            )
        alias.revision_id = revision.id
        alias.updated_at = utc_now()
        session.add(alias)
        session.flush()
        return alias


def _new_revision(application: Application, draft: RevisionDraft) -> Revision:
    return Revision(
        application_id=application.id,
        serialized_function=draft.serialized_function,
        serialization_method=draft.serialization_method,
        requirements=draft.requirements,
        python_version=draft.python_version,
        env_key=draft.env_key,
        code_settings=draft.code_settings,
        app_metadata=draft.metadata,
        endpoints=draft.endpoints,
        health_check=draft.health_check,
        skip_retry_conditions=draft.skip_retry_conditions,
        termination_grace_period_seconds=draft.termination_grace_period_seconds,
        deployment_strategy=draft.deployment_strategy,
        source_code=draft.source_code,
    )
