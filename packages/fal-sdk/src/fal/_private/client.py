"""The gRPC client of the registry, speaking the SDK's plain data types."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, TypeVar

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from fal._private.credentials import Credentials, get_credentials
from fal._private.hosted_run import (
    EnvironmentDefinition,
    HostedRunResult,
    define_environment,
    run_hosted,
)
from fal._private.models import (
    AliasInfo,
    ApplicationHealthCheckConfig,
    ApplicationInfo,
    DeploymentStrategy,
    EnvironmentInfo,
    KeyScope,
    Log,
    MachineRequirements,
    RegisterApplicationResult,
    RegisterApplicationResultType,
    ReplaceState,
    RevisionInfo,
    RunnerInfo,
    RunnerState,
    ServerlessSecret,
    ServiceURLs,
    UserKeyInfo,
    WhoAmIInfo,
)
from fal._private.settings import use_plaintext
from fal.exceptions import (
    AlreadyExistsError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    RemoteError,
    UnauthenticatedError,
    UnavailableError,
)
from fal_proto import registry_pb2, registry_pb2_grpc

ResultT = TypeVar("ResultT")

_ERRORS_BY_CODE: dict[grpc.StatusCode, type[RemoteError]] = {
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.UNAUTHENTICATED: UnauthenticatedError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExistsError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
}

_SCOPES = {
    registry_pb2.KEY_SCOPE_ADMIN: KeyScope.ADMIN,
    registry_pb2.KEY_SCOPE_API: KeyScope.API,
}
_PROTO_SCOPES = {scope: value for value, scope in _SCOPES.items()}
# Machine requirement fields sent as they are (None: not sent).
_REQUIREMENT_FIELDS = (
    "num_gpus",
    "keep_alive",
    "max_concurrency",
    "max_multiplexing",
    "min_concurrency",
    "concurrency_buffer",
    "concurrency_buffer_perc",
    "scaling_delay",
    "request_timeout",
    "startup_timeout",
)


@dataclass
class FalServerlessClient:
    """Connects to the registry at ``hostname`` with ``credentials``."""

    hostname: str
    credentials: Credentials = field(default_factory=get_credentials)

    def connect(self) -> FalServerlessConnection:
        if use_plaintext(self.hostname):
            channel = grpc.insecure_channel(self.hostname)
        else:
            channel = grpc.secure_channel(self.hostname, grpc.ssl_channel_credentials())
        return FalServerlessConnection(self.hostname, self.credentials, channel)


class FalServerlessConnection:
    """An open channel to the registry; close it, or use it as a context."""

    def __init__(
        self, hostname: str, credentials: Credentials, channel: grpc.Channel
    ) -> None:
        self.hostname = hostname
        self.credentials = credentials
        self._channel = channel
        self._stub = registry_pb2_grpc.RegistryStub(channel)

    def __enter__(self) -> FalServerlessConnection:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    @property
    def stub(self) -> registry_pb2_grpc.RegistryStub:
        return self._stub

    def register(
        self,
        function: Any,
        environments: Any = None,
        application_name: str | None = None,
        auth_mode: str | None = None,
        *,
        source_code: str | None = None,
        health_check_config: ApplicationHealthCheckConfig | None = None,
        serialization_method: str = "cloudpickle",
        machine_requirements: MachineRequirements | None = None,
        metadata: dict[str, Any] | None = None,
        deployment_strategy: DeploymentStrategy = DeploymentStrategy.ROLLING,
        scale: bool = True,
        private_logs: bool = False,
        files: Any = None,
        skip_retry_conditions: list[str] | None = None,
        environment_name: str | None = None,
        termination_grace_period_seconds: int | None = None,
        reset_scale: bool = False,
    ) -> Iterator[RegisterApplicationResult]:
        """Register an app; yield its logs as they come, then the result.

        ``function`` is the App class (or a request built with
        ``fal.api.build_register_request``). ``environments`` is one
        ``define_environment`` result (or a list holding one); it replaces
        the app's own requirements and image. ``files`` is a manifest of
        files already in the filestore (``FileMetadata`` or their dicts),
        written into the runners' working directory like ``App.app_files``.
        """
        from fal._private.hosted_run import (
            apply_environment,
            files_manifest,
            single_environment,
        )

        environment = single_environment(environments)
        manifest = files_manifest(files)
        if isinstance(function, registry_pb2.RegisterApplicationRequest):
            if manifest:
                raise ValueError(
                    "register(files=...) needs the App class: a prebuilt request "
                    "carries its app already pickled, so files cannot be added."
                )
            request = function
        else:
            request = _build_request(
                function,
                application_name=application_name,
                auth_mode=auth_mode,
                environment_name=environment_name,
                deployment_strategy=deployment_strategy,
                scale=scale,
                private_logs=private_logs,
                source_code=source_code,
                reset_scale=reset_scale,
                files=manifest,
            )
        if environment is not None:
            apply_environment(request, environment)
        _apply_overrides(
            request,
            serialization_method=serialization_method,
            machine_requirements=machine_requirements,
            metadata=metadata,
            skip_retry_conditions=skip_retry_conditions,
            termination_grace_period_seconds=termination_grace_period_seconds,
            health_check_config=health_check_config,
        )
        call = self._stub.RegisterApplication(request, metadata=self._metadata())
        try:
            with self._translated_errors():
                for response in call:
                    yield _register_item(response)
        finally:
            call.cancel()

    def define_environment(
        self, kind: str, force: bool = False, **options: Any
    ) -> EnvironmentDefinition:
        """A checked environment for ``run`` and ``register``.

        ``kind`` is 'virtualenv' (``requirements``, ``python_version``) or
        'container' (``image``, a ``fal.ContainerImage``, and optionally
        ``requirements``); ``force`` rebuilds it even when it exists.
        """
        return define_environment(kind, force, **options)

    def run(
        self,
        function: Callable[..., ResultT],
        environments: Any,
        *,
        serialization_method: str = "cloudpickle",
        machine_requirements: MachineRequirements | None = None,
        setup_function: Callable[[], Any] | None = None,
        files: Any = None,
        application_name: str | None = None,
        auth_mode: str | None = None,
        environment_name: str | None = None,
    ) -> Iterator[HostedRunResult[ResultT]]:
        """Run ``function()`` once on the platform; stream its progress.

        Yields IN_PROGRESS items with the deploy's logs, then one SUCCESS
        item holding the return value, or INTERNAL_FAILURE with the error
        (a remote traceback included) in its logs. With ``setup_function``
        the runner calls ``function(setup_function())``. The temporary app
        is deleted afterwards.
        """
        if serialization_method != "cloudpickle":
            raise ValueError(
                f"serialization_method is {serialization_method!r}; this platform "
                "only takes 'cloudpickle'."
            )
        return run_hosted(
            self,
            function,
            environments,
            machine_requirements=machine_requirements,
            setup_function=setup_function,
            files=files,
            application_name=application_name,
            auth_mode=auth_mode,
            environment_name=environment_name,
        )

    def list_applications(
        self,
        application_name: str | None = None,
        *,
        environment_name: str | None = None,
    ) -> list[ApplicationInfo]:
        request = registry_pb2.ListApplicationsRequest(
            application_name=application_name or "",
            environment_name=environment_name or "",
        )
        with self._translated_errors():
            response = self._stub.ListApplications(request, metadata=self._metadata())
        return [_application_info(item) for item in response.applications]

    def list_aliases(self, environment_name: str | None = None) -> list[AliasInfo]:
        request = registry_pb2.ListAliasesRequest(
            environment_name=environment_name or ""
        )
        with self._translated_errors():
            response = self._stub.ListAliases(request, metadata=self._metadata())
        return [_alias_info(item) for item in response.aliases]

    def delete_application(
        self, application_id: str, environment_name: str | None = None
    ) -> None:
        request = registry_pb2.DeleteApplicationRequest(
            application_name=application_id, environment_name=environment_name or ""
        )
        with self._translated_errors():
            self._stub.DeleteApplication(request, metadata=self._metadata())

    def list_revisions(
        self, application_name: str, *, environment_name: str | None = None
    ) -> list[RevisionInfo]:
        """The app's revisions, newest first."""
        request = registry_pb2.ListRevisionsRequest(
            application_name=application_name,
            environment_name=environment_name or "",
        )
        response = self._call(self._stub.ListRevisions, request)
        return [_revision_info(item) for item in response.revisions]

    def set_alias(
        self,
        application_name: str,
        revision: str,
        *,
        environment_name: str | None = None,
    ) -> AliasInfo:
        """Serve ``revision`` under the app's alias."""
        request = registry_pb2.SetAliasRequest(
            application_name=application_name,
            revision=revision,
            environment_name=environment_name or "",
        )
        return _alias_info(self._call(self._stub.SetAlias, request))

    def delete_alias(
        self, alias: str, *, environment_name: str | None = None
    ) -> str | None:
        """Remove an alias; return the revision it served."""
        request = registry_pb2.DeleteAliasRequest(
            alias=alias, environment_name=environment_name or ""
        )
        return self._call(self._stub.DeleteAlias, request).revision or None

    def delete_revision(self, revision: str) -> None:
        request = registry_pb2.DeleteRevisionRequest(revision=revision)
        self._call(self._stub.DeleteRevision, request)

    def update_application(
        self,
        application_name: str,
        keep_alive: int | None = None,
        max_multiplexing: int | None = None,
        max_concurrency: int | None = None,
        min_concurrency: int | None = None,
        concurrency_buffer: int | None = None,
        concurrency_buffer_perc: int | None = None,
        scaling_delay: int | None = None,
        request_timeout: int | None = None,
        startup_timeout: int | None = None,
        valid_regions: list[str] | None = None,
        machine_types: list[str] | None = None,
        *,
        environment_name: str | None = None,
    ) -> AliasInfo:
        """Change the given scaling settings; None leaves a setting as it is."""
        settings = registry_pb2.MachineRequirements(
            machine_types=machine_types or [], valid_regions=valid_regions or []
        )
        values = {
            "keep_alive": keep_alive,
            "max_multiplexing": max_multiplexing,
            "max_concurrency": max_concurrency,
            "min_concurrency": min_concurrency,
            "concurrency_buffer": concurrency_buffer,
            "concurrency_buffer_perc": concurrency_buffer_perc,
            "scaling_delay": scaling_delay,
            "request_timeout": request_timeout,
            "startup_timeout": startup_timeout,
        }
        for name, value in values.items():
            if value is not None:
                setattr(settings, name, int(value))
        request = registry_pb2.UpdateApplicationRequest(
            application_name=application_name,
            environment_name=environment_name or "",
            settings=settings,
        )
        return _alias_info(self._call(self._stub.UpdateApplication, request))

    def scale(self, application_name: str, max_concurrency: int | None = None) -> None:
        """Set the app's ceiling of runners."""
        self.update_application(application_name, max_concurrency=max_concurrency)

    def rollout_application(
        self,
        application_name: str,
        force: bool = False,
        *,
        environment_name: str | None = None,
    ) -> None:
        """Replace the app's runners with fresh ones on the same revision."""
        request = registry_pb2.RolloutApplicationRequest(
            application_name=application_name,
            environment_name=environment_name or "",
            force=force,
        )
        self._call(self._stub.RolloutApplication, request)

    def create_environment(
        self, name: str, description: str | None = None
    ) -> EnvironmentInfo:
        request = registry_pb2.CreateEnvironmentRequest(
            name=name, description=description or ""
        )
        return _environment_info(self._call(self._stub.CreateEnvironment, request))

    def list_environments(self) -> list[EnvironmentInfo]:
        request = registry_pb2.ListEnvironmentsRequest()
        response = self._call(self._stub.ListEnvironments, request)
        return [_environment_info(item) for item in response.environments]

    def delete_environment(self, name: str) -> None:
        request = registry_pb2.DeleteEnvironmentRequest(name=name)
        self._call(self._stub.DeleteEnvironment, request)

    def set_secret(
        self, name: str, value: str, *, environment_name: str | None = None
    ) -> None:
        request = registry_pb2.SetSecretRequest(
            name=name, value=value, environment_name=environment_name or ""
        )
        self._call(self._stub.SetSecret, request)

    def list_secrets(
        self, *, environment_name: str | None = None
    ) -> list[ServerlessSecret]:
        """Names and dates of the secrets; values are never returned."""
        request = registry_pb2.ListSecretsRequest(
            environment_name=environment_name or ""
        )
        response = self._call(self._stub.ListSecrets, request)
        return [
            ServerlessSecret(
                name=item.name,
                created_at=_required_datetime(item.created_at),
                environment_name=item.environment_name or None,
            )
            for item in response.secrets
        ]

    def delete_secret(self, name: str, *, environment_name: str | None = None) -> None:
        request = registry_pb2.DeleteSecretRequest(
            name=name, environment_name=environment_name or ""
        )
        self._call(self._stub.DeleteSecret, request)

    def create_user_key(self, scope: KeyScope, alias: str | None) -> tuple[str, str]:
        """Make a key; return ``(key_id, key_secret)``, the secret shown once."""
        request = registry_pb2.CreateKeyRequest(
            scope=_PROTO_SCOPES[KeyScope(scope)], alias=alias or ""
        )
        response = self._call(self._stub.CreateKey, request)
        return response.key_id, response.key_secret

    def list_user_keys(self) -> list[UserKeyInfo]:
        response = self._call(self._stub.ListKeys, registry_pb2.ListKeysRequest())
        return [
            UserKeyInfo(
                key_id=item.key_id,
                created_at=_required_datetime(item.created_at),
                scope=_SCOPES.get(item.scope, KeyScope.API),
                alias=item.alias,
            )
            for item in response.keys
        ]

    def revoke_user_key(self, key_id: str) -> None:
        self._call(self._stub.RevokeKey, registry_pb2.RevokeKeyRequest(key_id=key_id))

    def list_runners(self, start_time: datetime | None = None) -> list[RunnerInfo]:
        """Every live runner of the caller's apps."""
        return self._list_runners(registry_pb2.ListRunnersRequest(), start_time)

    def list_alias_runners(
        self,
        alias: str,
        *,
        list_pending: bool = True,
        start_time: datetime | None = None,
        environment_name: str | None = None,
    ) -> list[RunnerInfo]:
        """The live runners of one app."""
        request = registry_pb2.ListRunnersRequest(
            alias=alias,
            environment_name=environment_name or "",
            list_pending=list_pending,
        )
        return self._list_runners(request, start_time)

    def kill_runner(self, runner_id: str) -> None:
        """Stop a runner at once, in-flight requests included."""
        request = registry_pb2.KillRunnerRequest(runner_id=runner_id)
        self._call(self._stub.KillRunner, request)

    def stop_runner(self, runner_id: str, replace_first: bool = False) -> None:
        """Drain a runner, optionally starting its replacement first."""
        request = registry_pb2.StopRunnerRequest(
            runner_id=runner_id, replace_first=replace_first
        )
        self._call(self._stub.StopRunner, request)

    def runner_logs(
        self, runner_id: str, offset: int = 0, since: datetime | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        """A runner's output lines after byte ``offset``, and the next offset.

        Each line is ``{timestamp, level, message, request_id, source}``;
        ``since`` leaves out lines written before it.
        """
        request = registry_pb2.ListRunnerLogsRequest(runner_id=runner_id, offset=offset)
        if since is not None:
            request.since.FromDatetime(since.astimezone(UTC))
        response = self._call(self._stub.ListRunnerLogs, request)
        lines = [
            {
                "timestamp": line.timestamp or None,
                "level": line.level,
                "message": line.message,
                "request_id": (
                    line.request_id if line.HasField("request_id") else None
                ),
                "source": line.source,
            }
            for line in response.lines
        ]
        return lines, int(response.next_offset)

    def _list_runners(
        self, request: registry_pb2.ListRunnersRequest, start_time: datetime | None
    ) -> list[RunnerInfo]:
        if not request.alias:
            request.list_pending = True
        if start_time is not None:
            request.start_time.FromDatetime(start_time.astimezone(UTC))
        response = self._call(self._stub.ListRunners, request)
        return [_runner_info(item) for item in response.runners]

    def _call(self, method: Any, request: Any) -> Any:
        with self._translated_errors():
            return method(request, metadata=self._metadata())

    def whoami(self) -> WhoAmIInfo:
        with self._translated_errors():
            response = self._stub.WhoAmI(
                registry_pb2.WhoAmIRequest(), metadata=self._metadata()
            )
        return WhoAmIInfo(response.owner, response.key_id, _SCOPES.get(response.scope))

    def _metadata(self) -> tuple[tuple[str, str], ...]:
        return self.credentials.to_grpc_metadata()

    @contextlib.contextmanager
    def _translated_errors(self) -> Iterator[None]:
        try:
            yield
        except grpc.RpcError as error:
            raise translate_rpc_error(error, self.hostname) from error


def translate_rpc_error(error: grpc.RpcError, hostname: str) -> RemoteError:
    """The SDK exception for a failed gRPC call."""
    code = error.code() if isinstance(error, grpc.Call) else grpc.StatusCode.UNKNOWN
    details = (error.details() if isinstance(error, grpc.Call) else None) or str(error)
    error_class = _ERRORS_BY_CODE.get(code, RemoteError)
    if error_class is UnavailableError:
        details = f"The registry at {hostname} is unavailable: {details}"
    return error_class(details, code.name)


def _register_item(
    response: registry_pb2.RegisterApplicationResponse,
) -> RegisterApplicationResult:
    if response.HasField("log"):
        line = response.log
        log = Log(line.message, line.level, line.source, _datetime(line.timestamp))
        return RegisterApplicationResult(result=None, logs=[log])
    result = response.result
    urls = result.service_urls
    return RegisterApplicationResult(
        result=RegisterApplicationResultType(
            application_id=result.revision,
            alias=result.alias,
            owner=result.owner,
            environment_name=result.environment_name,
            env_key=result.env_key,
        ),
        service_urls=ServiceURLs(
            urls.playground, urls.run, urls.queue, urls.ws, urls.log
        ),
    )


def _scaling_fields(message: Any) -> dict[str, Any]:
    return {
        "keep_alive": message.keep_alive,
        "max_concurrency": message.max_concurrency,
        "max_multiplexing": message.max_multiplexing,
        "active_runners": message.active_runners,
        "min_concurrency": message.min_concurrency,
        "concurrency_buffer": message.concurrency_buffer,
        "concurrency_buffer_perc": message.concurrency_buffer_perc,
        "scaling_delay": message.scaling_delay,
        "machine_types": list(message.machine_types),
        "request_timeout": message.request_timeout,
        "startup_timeout": message.startup_timeout,
        "valid_regions": list(message.valid_regions),
        "environment_name": message.environment_name or None,
    }


def _application_info(message: registry_pb2.ApplicationInfo) -> ApplicationInfo:
    return ApplicationInfo(
        application_id=message.application_id,
        created_at=(
            _datetime(message.created_at) if message.HasField("created_at") else None
        ),
        revision=message.revision,
        auth_mode=message.auth_mode,
        endpoints=list(message.endpoints),
        **_scaling_fields(message),
    )


def _alias_info(message: registry_pb2.AliasInfo) -> AliasInfo:
    return AliasInfo(
        alias=message.alias,
        revision=message.revision,
        auth_mode=message.auth_mode,
        **_scaling_fields(message),
    )


def _datetime(timestamp: Timestamp) -> datetime | None:
    if not timestamp.seconds and not timestamp.nanos:
        return None
    return timestamp.ToDatetime(tzinfo=UTC)


def _required_datetime(timestamp: Timestamp) -> datetime:
    return _datetime(timestamp) or datetime.fromtimestamp(0, UTC)


def _revision_info(message: registry_pb2.RevisionInfo) -> RevisionInfo:
    return RevisionInfo(
        revision=message.revision,
        application_name=message.application_name,
        created_at=_datetime(message.created_at),
        aliases=list(message.aliases),
        endpoints=list(message.endpoints),
        deployment_strategy=message.deployment_strategy,
        environment_name=message.environment_name or None,
    )


def _environment_info(message: registry_pb2.EnvironmentInfo) -> EnvironmentInfo:
    return EnvironmentInfo(
        name=message.name,
        description=message.description or None,
        is_default=message.is_default,
        created_at=_required_datetime(message.created_at),
    )


def _runner_info(message: registry_pb2.RunnerInfo) -> RunnerInfo:
    try:
        state = RunnerState(message.state)
    except ValueError:
        state = RunnerState.PENDING
    try:
        replacement = ReplaceState(message.replacement or "NO_REPLACE")
    except ValueError:
        replacement = ReplaceState.NO_REPLACE
    metadata: dict[str, Any] = {}
    if message.external_metadata_json:
        metadata = json.loads(message.external_metadata_json)
    return RunnerInfo(
        runner_id=message.runner_id,
        in_flight_requests=message.in_flight_requests,
        expiration_countdown=(
            message.expiration_countdown
            if message.HasField("expiration_countdown")
            else None
        ),
        uptime=timedelta(seconds=message.uptime_seconds),
        external_metadata=metadata,
        revision=message.revision,
        alias=message.alias,
        state=state,
        machine_type=message.machine_type,
        replacement=replacement,
    )


def _build_request(app_class: Any, **options: Any) -> Any:
    from fal._private.register import build_register_request

    return build_register_request(app_class, **options)


def _apply_overrides(
    request: registry_pb2.RegisterApplicationRequest,
    *,
    serialization_method: str,
    machine_requirements: MachineRequirements | None,
    metadata: dict[str, Any] | None,
    skip_retry_conditions: list[str] | None,
    termination_grace_period_seconds: int | None,
    health_check_config: ApplicationHealthCheckConfig | None,
) -> None:
    """Let register()'s keyword arguments override what the class declares."""
    if not request.serialization_method:
        request.serialization_method = serialization_method
    if machine_requirements is not None:
        request.machine_requirements.CopyFrom(
            _machine_requirements(machine_requirements)
        )
    if metadata is not None:
        request.metadata_json = json.dumps(metadata)
    if skip_retry_conditions is not None:
        request.skip_retry_conditions[:] = skip_retry_conditions
    if termination_grace_period_seconds is not None:
        request.termination_grace_period_seconds = termination_grace_period_seconds
    if health_check_config is not None:
        config = request.health_check_config
        config.path = health_check_config.path
        for name in (
            "start_period_seconds",
            "timeout_seconds",
            "failure_threshold",
            "call_regularly",
        ):
            value = getattr(health_check_config, name)
            if value is not None:
                setattr(config, name, value)


def _machine_requirements(
    requirements: MachineRequirements,
) -> registry_pb2.MachineRequirements:
    message = registry_pb2.MachineRequirements(
        machine_types=list(requirements.machine_types),
        valid_regions=list(requirements.valid_regions or []),
    )
    for name in _REQUIREMENT_FIELDS:
        value = getattr(requirements, name)
        if value is not None:
            setattr(message, name, int(value))
    return message
