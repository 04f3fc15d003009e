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
from fal_registry.errors import BuildFailed, BuildTimedOut, RegistryError, Unavailable
from fal_registry.messaging import BuildDone, BuildLog, Messaging
from fal_registry.metrics import RegistryMetrics
from fal_registry.names import environment_or_main, validate_name
from fal_registry.registration import draft_from_request
from fal_registry.scaling import effective_settings, settings_to_proto
from fal_registry.store import Deployment, RevisionDraft, Store

logger = logging.getLogger(__name__)

T = TypeVar("T")
Method = Callable[[Any, Any, grpc.aio.ServicerContext], Awaitable[Any]]

_KEY_SCOPES = {
    KeyScope.ADMIN: registry_pb2.KEY_SCOPE_ADMIN,
    KeyScope.API: registry_pb2.KEY_SCOPE_API,
}


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
    ) -> None:
        self._store = store
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
        target = f"{draft.owner}/{draft.application_name}"

        # Build the environment, relaying the scheduler's log lines.
        yield _log_response(f"Building the environment of {target}.", "INFO")
        started = time.monotonic()
        async for event in self._messaging.build(
            uuid.uuid4().hex, draft.requirements, draft.python_version
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
        deployments = await self._db(
            self._store.list_deployments, principal.owner, environment, name
        )
        return registry_pb2.ListApplicationsResponse(
            applications=[_application_info(item) for item in deployments]
        )

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
        return registry_pb2.ListAliasesResponse(
            aliases=[_alias_info(item) for item in deployments]
        )

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

    # Internal calls

    @_reports_errors
    async def ResolveApplication(
        self,
        request: registry_pb2.ResolveApplicationRequest,
        context: grpc.aio.ServicerContext,
    ) -> registry_pb2.ResolveApplicationResponse:
        self._auth.require_internal(context.invocation_metadata() or ())
        deployment = await self._db(self._store.resolve, request.owner, request.alias)
        return _resolution(deployment)

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
