"""The ``Registry`` gRPC servicer: authentication, then the store and NATS."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import grpc
import sqlalchemy.exc
from google.protobuf import json_format
from google.protobuf.timestamp_pb2 import Timestamp

from fal_proto import registry_pb2, registry_pb2_grpc
from fal_registry.auth import Authenticator, KeyScope, Principal, require_admin
from fal_registry.database import mask_url
from fal_registry.encryption import NoSecretBox, SecretBox
from fal_registry.errors import (
    BuildFailed,
    BuildTimedOut,
    InvalidArgument,
    NotFound,
    RegistryError,
    Unavailable,
)
from fal_registry.messaging import BuildDone, BuildLog, Messaging
from fal_registry.metrics import RegistryMetrics
from fal_registry.models import ApiKey, Environment, Revision, Secret
from fal_registry.names import (
    ENVIRONMENT_SEPARATOR,
    MAIN_ENVIRONMENT,
    alias_for,
    environment_or_main,
    validate_name,
    validate_secret_name,
    validate_secret_value,
)
from fal_registry.registration import (
    container_image_from_request,
    draft_from_request,
)
from fal_registry.scaling import (
    effective_settings,
    settings_from_proto,
    settings_to_proto,
    validate_changes,
)
from fal_registry.store import Deployment, RevisionDraft, Store

logger = logging.getLogger(__name__)

T = TypeVar("T")
Method = Callable[[Any, Any, grpc.aio.ServicerContext], Awaitable[Any]]

_KEY_SCOPES = {
    KeyScope.ADMIN: registry_pb2.KEY_SCOPE_ADMIN,
    KeyScope.API: registry_pb2.KEY_SCOPE_API,
}
_SCOPES_BY_PROTO = {value: scope for scope, value in _KEY_SCOPES.items()}
_PENDING_STATES = frozenset({"PENDING", "DOCKER_PULL", "SETUP"})


def _reports_errors(method: Method) -> Method:
    """Turn RegistryError raised by a unary method into its gRPC status."""

    @functools.wraps(method)
    async def wrapper(
        self: Any, request: Any, context: grpc.aio.ServicerContext
    ) -> Any:
        try:
            return await method(self, request, context)
        except RegistryError as error:
            await context.abort(error.code, str(error))

    return wrapper


class RegistryServicer(registry_pb2_grpc.RegistryServicer):
    """Implements the control plane API of docs/internals.md."""

    def __init__(
        self,
        store: Store,
        messaging: Messaging,
        authenticator: Authenticator,
        metrics: RegistryMetrics,
        gateway_url: str,
        queue_url: str | None = None,
        secret_box: SecretBox | NoSecretBox | None = None,
    ) -> None:
        self._store = store
        self._secret_box = secret_box or NoSecretBox()
        self._messaging = messaging
        self._auth = authenticator
        self._metrics = metrics
        self._gateway_url = gateway_url.rstrip("/")
        self._queue_url = queue_url.rstrip("/") if queue_url else None

    # User calls

    async def RegisterApplication(
        self,
        request: registry_pb2.RegisterApplicationRequest,
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[registry_pb2.RegisterApplicationResponse]:
        try:
            async for response in self._register(request, context):
                yield response
        except (BuildFailed, BuildTimedOut) as error:
            self._metrics.registrations.labels("build_failed").inc()
            yield _log_response(str(error), "ERROR", "registry")
            await context.abort(error.code, str(error))
        except RegistryError as error:
            self._metrics.registrations.labels("refused").inc()
            await context.abort(error.code, str(error))

    async def _register(
        self,
        request: registry_pb2.RegisterApplicationRequest,
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[registry_pb2.RegisterApplicationResponse]:
        # Check the caller and the request before any work is started.
        principal = await self._user(context)
        require_admin(principal, "register applications")
        draft = draft_from_request(request, principal.owner)
        container_image = container_image_from_request(request)
        target = f"{draft.owner}/{draft.application_name}"

        # Build the environment, relaying the scheduler's log lines.
        yield _log_response(f"Building the environment of {target}.", "INFO")
        started = time.monotonic()
        async for event in self._messaging.build(
            uuid.uuid4().hex,
            draft.requirements,
            draft.python_version,
            no_cache=request.no_cache,
            container_image=container_image,
        ):
            if isinstance(event, BuildLog):
                yield _log_response(
                    event.message, event.level, "build", event.timestamp
                )
            elif isinstance(event, BuildDone):
                draft.env_key = event.env_key
        self._metrics.build_seconds.observe(time.monotonic() - started)

        # Store the revision and move the alias, then tell everyone.
        deployment = await self._db(self._store.register, draft)
        self._metrics.registrations.labels("registered").inc()
        logger.info(
            "Deployed %s/%s revision %s",
            draft.owner,
            deployment.alias.name,
            deployment.revision.id,
        )
        yield _log_response(
            f"Registered revision {deployment.revision.id} of "
            f"{draft.owner}/{deployment.alias.name}.",
            "INFO",
        )
        await self._announce_deployed(deployment)
        yield registry_pb2.RegisterApplicationResponse(
            result=self._result(draft, deployment)
        )

    @_reports_errors
    async def ListApplications(
        self,
        request: registry_pb2.ListApplicationsRequest,
        context: grpc.aio.ServicerContext,
    ) -> registry_pb2.ListApplicationsResponse:
        principal = await self._user(context)
        environment = environment_or_main(request.environment_name)
        name = request.application_name
        if name:
            validate_name("application_name", name)
        await self._db(self._store.require_environment, principal.owner, environment)
        deployments = await self._db(
            self._store.list_deployments, principal.owner, environment, name
        )
        counts = await self._runner_counts(principal.owner) if deployments else {}
        applications = [_application_info(item) for item in deployments]
        for application, deployment in zip(applications, deployments, strict=True):
            application.active_runners = counts.get(deployment.alias.name, 0)
        return registry_pb2.ListApplicationsResponse(applications=applications)

    @_reports_errors
    async def ListAliases(
        self,
        request: registry_pb2.ListAliasesRequest,
        context: grpc.aio.ServicerContext,
    ) -> registry_pb2.ListAliasesResponse:
        principal = await self._user(context)
        environment = environment_or_main(request.environment_name)
        deployments = await self._db(
            self._store.list_deployments, principal.owner, environment
        )
        counts = await self._runner_counts(principal.owner) if deployments else {}
        aliases = [_alias_info(item) for item in deployments]
        for alias in aliases:
            alias.active_runners = counts.get(alias.alias, 0)
        return registry_pb2.ListAliasesResponse(aliases=aliases)

    @_reports_errors
    async def DeleteApplication(
        self,
        request: registry_pb2.DeleteApplicationRequest,
        context: grpc.aio.ServicerContext,
    ) -> registry_pb2.DeleteApplicationResponse:
        principal = await self._user(context)
        require_admin(principal, "delete applications")
        environment = environment_or_main(request.environment_name)
        name = validate_name("application_name", request.application_name)
        alias = await self._db(
            self._store.delete_application, principal.owner, environment, name
        )
        self._metrics.deletions.inc()
        logger.info("Deleted %s/%s", principal.owner, alias)
        await self._messaging.publish_deleted(principal.owner, alias, environment)
        return registry_pb2.DeleteApplicationResponse()

    @_reports_errors
    async def WhoAmI(
        self, request: registry_pb2.WhoAmIRequest, context: grpc.aio.ServicerContext
    ) -> registry_pb2.WhoAmIResponse:
        principal = await self._user(context)
        return registry_pb2.WhoAmIResponse(
            owner=principal.owner,
            key_id=principal.key_id,
            scope=_KEY_SCOPES[principal.scope],
        )

    # Revisions, aliases and run-time settings

    @_reports_errors
    async def ListRevisions(
        self,
        request: registry_pb2.ListRevisionsRequest,
        context: grpc.aio.ServicerContext,
    ) -> registry_pb2.ListRevisionsResponse:
        principal = await self._user(context)
        environment = environment_or_main(request.environment_name)
        name = validate_name("application_name", request.application_name)
        revisions = await self._db(
            self._store.list_revisions, principal.owner, environment, name
        )
        return registry_pb2.ListRevisionsResponse(
            revisions=[
                _revision_info(revision, aliases, name, environment)
                for revision, aliases in revisions
            ]
        )

    @_reports_errors
    async def SetAlias(
        self, request: registry_pb2.SetAliasRequest, context: grpc.aio.ServicerContext
    ) -> registry_pb2.AliasInfo:
        principal = await self._user(context)
        require_admin(principal, "move aliases")
        environment = environment_or_main(request.environment_name)
        name = validate_name("application_name", request.application_name)
        if not request.revision:
            raise InvalidArgument("revision is empty: name the revision to serve.")
        deployment = await self._db(
            self._store.set_alias, principal.owner, environment, name, request.revision
        )
        logger.info(
            "Alias %s/%s now serves revision %s",
            principal.owner,
            deployment.alias.name,
            deployment.revision.id,
        )
        await self._announce_deployed(deployment)
        return _alias_info(deployment)

    @_reports_errors
    async def DeleteAlias(
        self,
        request: registry_pb2.DeleteAliasRequest,
        context: grpc.aio.ServicerContext,
    ) -> registry_pb2.DeleteAliasResponse:
        principal = await self._user(context)
        require_admin(principal, "delete aliases")
        environment = environment_or_main(request.environment_name)
        name = validate_name("alias", request.alias)
        alias, revision = await self._db(
            self._store.delete_alias, principal.owner, environment, name
        )
        logger.info("Deleted alias %s/%s", principal.owner, alias)
        await self._messaging.publish_deleted(principal.owner, alias, environment)
        return registry_pb2.DeleteAliasResponse(revision=revision)

    @_reports_errors
    async def DeleteRevision(
        self,
        request: registry_pb2.DeleteRevisionRequest,
        context: grpc.aio.ServicerContext,
    ) -> registry_pb2.DeleteRevisionResponse:
        principal = await self._user(context)
        require_admin(principal, "delete revisions")
        if not request.revision:
            raise InvalidArgument("revision is empty: name the revision to delete.")
        await self._db(self._store.delete_revision, principal.owner, request.revision)
        logger.info("Deleted revision %s of %s", request.revision, principal.owner)
        return registry_pb2.DeleteRevisionResponse()

    @_reports_errors
    async def UpdateApplication(
        self,
        request: registry_pb2.UpdateApplicationRequest,
        context: grpc.aio.ServicerContext,
    ) -> registry_pb2.AliasInfo:
        principal = await self._user(context)
        require_admin(principal, "change scaling settings")
        environment = environment_or_main(request.environment_name)
        name = validate_name("application_name", request.application_name)
        changes = settings_from_proto(request.settings)
        current = await self._db(
            self._store.find_deployment, principal.owner, environment, name
        )
        validate_changes(changes, _effective(current))
        deployment = await self._db(
            self._store.update_settings, principal.owner, environment, name, changes
        )
        logger.info(
            "Changed settings of %s/%s: %s",
            principal.owner,
            deployment.alias.name,
            ", ".join(sorted(changes)) or "none",
        )
        await self._announce_deployed(deployment)
        return _alias_info(deployment)

    @_reports_errors
    async def RolloutApplication(
        self,
        request: registry_pb2.RolloutApplicationRequest,
        context: grpc.aio.ServicerContext,
    ) -> registry_pb2.RolloutApplicationResponse:
        principal = await self._user(context)
        require_admin(principal, "roll out applications")
        environment = environment_or_main(request.environment_name)
        name = validate_name("application_name", request.application_name)
        deployment = await self._db(
            self._store.find_deployment, principal.owner, environment, name
        )
        answer = await self._messaging.control(
            {
                "action": "rollout",
                "owner": principal.owner,
                "alias": deployment.alias.name,
                "force": request.force,
            }
        )
        _check_control_answer(answer)
        replaced = int(answer.get("runners") or 0)
        logger.info(
            "Rolled out %s/%s (%d runners)",
            principal.owner,
            deployment.alias.name,
            replaced,
        )
        return registry_pb2.RolloutApplicationResponse(runners=replaced)

    # Environments

    @_reports_errors
    async def CreateEnvironment(
        self,
        request: registry_pb2.CreateEnvironmentRequest,
        context: grpc.aio.ServicerContext,
    ) -> registry_pb2.EnvironmentInfo:
        principal = await self._user(context)
        require_admin(principal, "create environments")
        name = validate_name("environment name", request.name)
        if len(request.description) > 255:
            raise InvalidArgument("description is longer than 255 characters.")
        environment = await self._db(
            self._store.create_environment, principal.owner, name, request.description
        )
        logger.info("Created environment %s of %s", name, principal.owner)
        return _environment_info(environment)

    @_reports_errors
    async def ListEnvironments(
        self,
        request: registry_pb2.ListEnvironmentsRequest,
        context: grpc.aio.ServicerContext,
    ) -> registry_pb2.ListEnvironmentsResponse:
        principal = await self._user(context)
        environments = await self._db(self._store.list_environments, principal.owner)
        return registry_pb2.ListEnvironmentsResponse(
            environments=[_environment_info(item) for item in environments]
        )

    @_reports_errors
    async def DeleteEnvironment(
        self,
        request: registry_pb2.DeleteEnvironmentRequest,
        context: grpc.aio.ServicerContext,
    ) -> registry_pb2.DeleteEnvironmentResponse:
        principal = await self._user(context)
        require_admin(principal, "delete environments")
        name = validate_name("environment name", request.name)
        await self._db(self._store.delete_environment, principal.owner, name)
        logger.info("Deleted environment %s of %s", name, principal.owner)
        return registry_pb2.DeleteEnvironmentResponse()

    # Secrets: values are sealed before they reach the store and never
    # leave the registry except to the scheduler (ResolveApplication).

    @_reports_errors
    async def SetSecret(
        self,
        request: registry_pb2.SetSecretRequest,
        context: grpc.aio.ServicerContext,
    ) -> registry_pb2.SetSecretResponse:
        principal = await self._user(context)
        require_admin(principal, "manage secrets")
        environment = environment_or_main(request.environment_name)
        name = validate_secret_name(request.name)
        value = validate_secret_value(name, request.value)
        sealed = self._secret_box.seal(value)
        await self._db(
            self._store.set_secret, principal.owner, environment, name, sealed
        )
        logger.info("Set secret %s in %s/%s", name, principal.owner, environment)
        await self._messaging.publish_secrets_changed(principal.owner, environment)
        return registry_pb2.SetSecretResponse()

    @_reports_errors
    async def ListSecrets(
        self,
        request: registry_pb2.ListSecretsRequest,
        context: grpc.aio.ServicerContext,
    ) -> registry_pb2.ListSecretsResponse:
        principal = await self._user(context)
        require_admin(principal, "manage secrets")
        environment = environment_or_main(request.environment_name)
        await self._db(self._store.require_environment, principal.owner, environment)
        secrets = await self._db(self._store.list_secrets, principal.owner, environment)
        return registry_pb2.ListSecretsResponse(
            secrets=[_secret_info(item) for item in secrets]
        )

    @_reports_errors
    async def DeleteSecret(
        self,
        request: registry_pb2.DeleteSecretRequest,
        context: grpc.aio.ServicerContext,
    ) -> registry_pb2.DeleteSecretResponse:
        principal = await self._user(context)
        require_admin(principal, "manage secrets")
        environment = environment_or_main(request.environment_name)
        name = validate_secret_name(request.name)
        await self._db(self._store.require_environment, principal.owner, environment)
        await self._db(self._store.delete_secret, principal.owner, environment, name)
        logger.info("Deleted secret %s in %s/%s", name, principal.owner, environment)
        await self._messaging.publish_secrets_changed(principal.owner, environment)
        return registry_pb2.DeleteSecretResponse()

    # Keys

    @_reports_errors
    async def CreateKey(
        self,
        request: registry_pb2.CreateKeyRequest,
        context: grpc.aio.ServicerContext,
    ) -> registry_pb2.CreateKeyResponse:
        principal = await self._user(context)
        require_admin(principal, "manage keys")
        scope = _SCOPES_BY_PROTO.get(request.scope)
        if scope is None:
            raise InvalidArgument("scope is not set: create an ADMIN or an API key.")
        if len(request.alias) > 255:
            raise InvalidArgument("alias is longer than 255 characters.")
        key = await self._db(
            self._store.create_key, principal.owner, scope, request.alias
        )
        logger.info("Created %s key %s of %s", scope.value, key.key_id, principal.owner)
        return registry_pb2.CreateKeyResponse(key_id=key.key_id, key_secret=key.secret)

    @_reports_errors
    async def ListKeys(
        self, request: registry_pb2.ListKeysRequest, context: grpc.aio.ServicerContext
    ) -> registry_pb2.ListKeysResponse:
        principal = await self._user(context)
        require_admin(principal, "manage keys")
        keys = await self._db(self._store.list_keys, principal.owner)
        return registry_pb2.ListKeysResponse(keys=[_key_info(key) for key in keys])

    @_reports_errors
    async def RevokeKey(
        self, request: registry_pb2.RevokeKeyRequest, context: grpc.aio.ServicerContext
    ) -> registry_pb2.RevokeKeyResponse:
        principal = await self._user(context)
        require_admin(principal, "manage keys")
        if not request.key_id:
            raise InvalidArgument("key_id is empty: name the key to revoke.")
        await self._db(self._store.revoke_key, principal.owner, request.key_id)
        logger.info("Revoked key %s of %s", request.key_id, principal.owner)
        await self._messaging.publish_key_revoked(request.key_id)
        return registry_pb2.RevokeKeyResponse()

    # Runners: the scheduler holds the live state; the registry asks it.

    @_reports_errors
    async def ListRunners(
        self,
        request: registry_pb2.ListRunnersRequest,
        context: grpc.aio.ServicerContext,
    ) -> registry_pb2.ListRunnersResponse:
        principal = await self._user(context)
        query: dict[str, Any] = {"action": "list", "owner": principal.owner}
        if request.HasField("start_time"):
            query["since"] = request.start_time.ToDatetime(tzinfo=UTC).isoformat()
        if request.alias:
            environment = environment_or_main(request.environment_name)
            name = validate_name("alias", request.alias)
            await self._db(
                self._store.find_deployment, principal.owner, environment, name
            )
            query["alias"] = alias_for(name, environment)
        answer = await self._messaging.control(query)
        _check_control_answer(answer)
        runners = [_runner_info(item) for item in answer.get("runners") or []]
        if request.environment_name and not request.alias:
            environment = environment_or_main(request.environment_name)
            runners = [r for r in runners if r.environment_name == environment]
        if not request.list_pending:
            runners = [r for r in runners if r.state not in _PENDING_STATES]
        return registry_pb2.ListRunnersResponse(runners=runners)

    @_reports_errors
    async def KillRunner(
        self,
        request: registry_pb2.KillRunnerRequest,
        context: grpc.aio.ServicerContext,
    ) -> registry_pb2.KillRunnerResponse:
        await self._runner_action("kill", request.runner_id, False, context)
        return registry_pb2.KillRunnerResponse()

    @_reports_errors
    async def StopRunner(
        self,
        request: registry_pb2.StopRunnerRequest,
        context: grpc.aio.ServicerContext,
    ) -> registry_pb2.StopRunnerResponse:
        await self._runner_action(
            "stop", request.runner_id, request.replace_first, context
        )
        return registry_pb2.StopRunnerResponse()

    @_reports_errors
    async def ListRunnerLogs(
        self,
        request: registry_pb2.ListRunnerLogsRequest,
        context: grpc.aio.ServicerContext,
    ) -> registry_pb2.ListRunnerLogsResponse:
        principal = await self._user(context)
        if not request.runner_id:
            raise InvalidArgument("runner_id is empty: name the runner to read.")
        if request.offset < 0:
            raise InvalidArgument(f"offset {request.offset} is negative.")
        query: dict[str, Any] = {
            "action": "logs",
            "owner": principal.owner,
            "runner_id": request.runner_id,
            "offset": request.offset,
        }
        if request.HasField("since"):
            query["since"] = request.since.ToDatetime(tzinfo=UTC).isoformat()
        answer = await self._messaging.control(query)
        _check_control_answer(answer)
        return registry_pb2.ListRunnerLogsResponse(
            lines=[_log_line(item) for item in answer.get("lines") or []],
            next_offset=int(answer.get("next_offset") or request.offset),
        )

    async def _runner_action(
        self,
        action: str,
        runner_id: str,
        replace_first: bool,
        context: grpc.aio.ServicerContext,
    ) -> None:
        principal = await self._user(context)
        require_admin(principal, f"{action} runners")
        if not runner_id:
            raise InvalidArgument(f"runner_id is empty: name the runner to {action}.")
        answer = await self._messaging.control(
            {
                "action": action,
                "owner": principal.owner,
                "runner_id": runner_id,
                "replace_first": replace_first,
            }
        )
        _check_control_answer(answer)
        logger.info("%s runner %s of %s", action.title(), runner_id, principal.owner)

    async def _runner_counts(self, owner: str) -> dict[str, int]:
        """Live runners per alias; empty when no scheduler answers."""
        try:
            answer = await self._messaging.control(
                {"action": "list", "owner": owner}, timeout=2.0
            )
        except Unavailable:
            return {}
        counts: dict[str, int] = {}
        for runner in answer.get("runners") or []:
            alias = str(runner.get("alias", ""))
            counts[alias] = counts.get(alias, 0) + 1
        return counts

    # Internal calls

    @_reports_errors
    async def ResolveApplication(
        self,
        request: registry_pb2.ResolveApplicationRequest,
        context: grpc.aio.ServicerContext,
    ) -> registry_pb2.ResolveApplicationResponse:
        self._auth.require_internal(context.invocation_metadata() or ())
        deployment = await self._db(self._store.resolve, request.owner, request.alias)
        response = _resolution(deployment)
        secrets = await self._db(
            self._store.list_secrets,
            deployment.alias.owner,
            deployment.alias.environment_name,
        )
        for secret in secrets:
            value = self._secret_box.open(secret.ciphertext)
            response.secrets.add(name=secret.name, value=value)
        return response

    @_reports_errors
    async def Authenticate(
        self,
        request: registry_pb2.AuthenticateRequest,
        context: grpc.aio.ServicerContext,
    ) -> registry_pb2.AuthenticateResponse:
        self._auth.require_internal(context.invocation_metadata() or ())
        principal = await self._db(
            self._auth.check_key, request.key_id, request.key_secret
        )
        return registry_pb2.AuthenticateResponse(
            owner=principal.owner,
            key_id=principal.key_id,
            scope=_KEY_SCOPES[principal.scope],
        )

    # Helpers

    async def _user(self, context: grpc.aio.ServicerContext) -> Principal:
        metadata = context.invocation_metadata() or ()
        return await self._db(self._auth.user, tuple(metadata))

    async def _db(self, function: Callable[..., T], *args: Any) -> T:
        """Run a blocking store call on a worker thread."""
        try:
            return await asyncio.to_thread(function, *args)
        except (
            sqlalchemy.exc.OperationalError,
            sqlalchemy.exc.InterfaceError,
        ) as error:
            url = mask_url(str(self._store.engine.url))
            raise Unavailable(f"The database at {url} is unreachable.") from error

    async def _announce_deployed(self, deployment: Deployment) -> None:
        await self._messaging.publish_deployed(
            deployment.application.owner,
            deployment.alias.name,
            deployment.revision.id,
            deployment.alias.environment_name,
            deployment.revision.env_key,
            deployment.revision.deployment_strategy,
        )

    def _result(
        self, draft: RevisionDraft, deployment: Deployment
    ) -> registry_pb2.RegisterApplicationResult:
        path = f"{draft.owner}/{deployment.alias.name}"
        return registry_pb2.RegisterApplicationResult(
            revision=deployment.revision.id,
            alias=deployment.alias.name,
            owner=draft.owner,
            environment_name=draft.environment_name,
            env_key=deployment.revision.env_key,
            service_urls=registry_pb2.ServiceURLs(
                run=f"{self._gateway_url}/{path}",
                ws=f"{_websocket_base(self._gateway_url)}/{path}",
                queue=f"{self._queue_url}/{path}" if self._queue_url else "",
            ),
        )


def _websocket_base(url: str) -> str:
    if url.startswith("https://"):
        return "wss://" + url.removeprefix("https://")
    return "ws://" + url.removeprefix("http://")


def _timestamp(moment: datetime) -> Timestamp:
    if moment.tzinfo is None:  # SQLite hands back naive UTC datetimes
        moment = moment.replace(tzinfo=UTC)
    timestamp = Timestamp()
    timestamp.FromDatetime(moment)
    return timestamp


def _log_response(
    message: str, level: str, source: str = "registry", moment: datetime | None = None
) -> registry_pb2.RegisterApplicationResponse:
    line = registry_pb2.LogLine(
        message=message,
        level=level,
        source=source,
        timestamp=_timestamp(moment or datetime.now(UTC)),
    )
    return registry_pb2.RegisterApplicationResponse(log=line)


def _effective(deployment: Deployment) -> dict[str, Any]:
    return effective_settings(
        deployment.revision.code_settings, deployment.application.scaling_overrides
    )


def _settings_fields(settings: dict[str, Any]) -> dict[str, Any]:
    """The flat scaling fields ApplicationInfo and AliasInfo share."""
    return {
        "keep_alive": settings["keep_alive"],
        "max_concurrency": settings["max_concurrency"],
        "max_multiplexing": settings["max_multiplexing"],
        "min_concurrency": settings["min_concurrency"],
        "concurrency_buffer": settings["concurrency_buffer"],
        "concurrency_buffer_perc": settings["concurrency_buffer_perc"],
        "scaling_delay": settings["scaling_delay"],
        "machine_types": settings["machine_types"],
        "request_timeout": settings["request_timeout"],
        "startup_timeout": settings["startup_timeout"],
        "valid_regions": settings.get("valid_regions", []),
    }


def _application_info(deployment: Deployment) -> registry_pb2.ApplicationInfo:
    # active_runners stays 0: live runner counts belong to the scheduler.
    return registry_pb2.ApplicationInfo(
        application_id=deployment.alias.name,
        revision=deployment.revision.id,
        auth_mode=deployment.application.auth_mode,
        created_at=_timestamp(deployment.application.created_at),
        environment_name=deployment.alias.environment_name,
        endpoints=deployment.revision.endpoints,
        **_settings_fields(_effective(deployment)),
    )


def _alias_info(deployment: Deployment) -> registry_pb2.AliasInfo:
    return registry_pb2.AliasInfo(
        alias=deployment.alias.name,
        revision=deployment.revision.id,
        auth_mode=deployment.application.auth_mode,
        environment_name=deployment.alias.environment_name,
        **_settings_fields(_effective(deployment)),
    )


def _resolution(deployment: Deployment) -> registry_pb2.ResolveApplicationResponse:
    revision = deployment.revision
    response = registry_pb2.ResolveApplicationResponse(
        owner=deployment.alias.owner,
        alias=deployment.alias.name,
        revision=revision.id,
        environment_name=deployment.alias.environment_name,
        auth_mode=deployment.application.auth_mode,
        serialized_function=revision.serialized_function,
        serialization_method=revision.serialization_method,
        requirements=[
            registry_pb2.RequirementStep(packages=step)
            for step in revision.requirements
        ],
        python_version=revision.python_version,
        env_key=revision.env_key,
        settings=settings_to_proto(_effective(deployment)),
        endpoints=revision.endpoints,
        skip_retry_conditions=revision.skip_retry_conditions,
    )
    if revision.termination_grace_period_seconds is not None:
        response.termination_grace_period_seconds = (
            revision.termination_grace_period_seconds
        )
    if revision.health_check is not None:
        json_format.ParseDict(revision.health_check, response.health_check_config)
    return response


def _revision_info(
    revision: Revision, aliases: list[str], name: str, environment: str
) -> registry_pb2.RevisionInfo:
    return registry_pb2.RevisionInfo(
        revision=revision.id,
        application_name=name,
        environment_name=environment,
        created_at=_timestamp(revision.created_at),
        endpoints=revision.endpoints,
        deployment_strategy=revision.deployment_strategy,
        aliases=aliases,
        env_key=revision.env_key,
    )


def _environment_info(environment: Environment) -> registry_pb2.EnvironmentInfo:
    return registry_pb2.EnvironmentInfo(
        name=environment.name,
        description=environment.description,
        is_default=environment.name == MAIN_ENVIRONMENT,
        created_at=_timestamp(environment.created_at),
    )


def _secret_info(secret: Secret) -> registry_pb2.SecretInfo:
    return registry_pb2.SecretInfo(
        name=secret.name,
        created_at=_timestamp(secret.updated_at),
        environment_name=secret.environment_name,
    )


def _key_info(key: ApiKey) -> registry_pb2.KeyInfo:
    return registry_pb2.KeyInfo(
        key_id=key.key_id,
        created_at=_timestamp(key.created_at),
        scope=_KEY_SCOPES[KeyScope(key.scope)],
        alias=key.description,
    )


def _environment_of(alias: str) -> str:
    _, separator, environment = alias.rpartition(ENVIRONMENT_SEPARATOR)
    return environment if separator else MAIN_ENVIRONMENT


def _runner_info(item: dict[str, Any]) -> registry_pb2.RunnerInfo:
    alias = str(item.get("alias", ""))
    info = registry_pb2.RunnerInfo(
        runner_id=str(item.get("runner_id", "")),
        in_flight_requests=int(item.get("in_flight_requests") or 0),
        uptime_seconds=float(item.get("uptime_seconds") or 0.0),
        revision=str(item.get("revision", "")),
        alias=alias,
        state=str(item.get("state", "")),
        machine_type=str(item.get("machine_type", "")),
        replacement=str(item.get("replacement") or "NO_REPLACE"),
        environment_name=_environment_of(alias),
    )
    if item.get("expiration_countdown") is not None:
        info.expiration_countdown = int(item["expiration_countdown"])
    return info


def _log_line(item: dict[str, Any]) -> registry_pb2.RunnerLogLine:
    line = registry_pb2.RunnerLogLine(
        timestamp=str(item.get("timestamp") or ""),
        level=str(item.get("level") or "INFO"),
        message=str(item.get("message") or ""),
        source=str(item.get("source") or "stdout"),
    )
    if item.get("request_id") is not None:
        line.request_id = str(item["request_id"])
    return line


def _check_control_answer(answer: dict[str, Any]) -> None:
    """Raise the registry error a scheduler's refusal stands for."""
    if answer.get("ok", True):
        return
    message = str(answer.get("message") or "the scheduler refused the request")
    if answer.get("error") == "not_found":
        raise NotFound(message)
    if answer.get("error") == "invalid":
        raise InvalidArgument(message)
    raise Unavailable(message)
