"""The gRPC client of the registry, speaking the SDK's plain data types."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from fal._private.credentials import Credentials, get_credentials
from fal._private.models import (
    AliasInfo,
    ApplicationInfo,
    KeyScope,
    Log,
    RegisterApplicationResult,
    RegisterApplicationResultType,
    ServiceURLs,
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
        self, request: registry_pb2.RegisterApplicationRequest
    ) -> Iterator[RegisterApplicationResult]:
        """Register an app; yield its logs as they come, then the result.

        Build ``request`` with ``fal.api.build_register_request``.
        """
        call = self._stub.RegisterApplication(request, metadata=self._metadata())
        try:
            with self._translated_errors():
                for response in call:
                    yield _register_item(response)
        finally:
            call.cancel()

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
