"""The registry client against an in-test gRPC server (boundary fake)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from fal.exceptions import (
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    RemoteError,
    UnauthenticatedError,
    UnavailableError,
)
from fal.sdk import (
    FalServerlessClient,
    FalServerlessConnection,
    FalServerlessKeyCredentials,
    KeyScope,
    ServiceURLs,
    construct_alias,
    deconstruct_alias,
)
from fal_platform.testing import free_port
from fal_proto import registry_pb2, registry_pb2_grpc

VALID_AUTHORIZATION = "Key id:secret"


class FakeRegistry(registry_pb2_grpc.RegistryServicer):
    """Answers from fixed data; checks the key like the real registry."""

    def __init__(self) -> None:
        self.requests: list[Any] = []
        self.abort_with: tuple[grpc.StatusCode, str] | None = None

    def _check(self, request: Any, context: grpc.ServicerContext) -> None:
        self.requests.append(request)
        metadata = dict(context.invocation_metadata())
        if metadata.get("authorization") != VALID_AUTHORIZATION:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "the key is not valid")
        if self.abort_with is not None:
            context.abort(*self.abort_with)

    def RegisterApplication(
        self, request: Any, context: grpc.ServicerContext
    ) -> Iterator[registry_pb2.RegisterApplicationResponse]:
        self._check(request, context)
        yield registry_pb2.RegisterApplicationResponse(
            log=registry_pb2.LogLine(message="installing", level="INFO", source="build")
        )
        yield registry_pb2.RegisterApplicationResponse(
            result=registry_pb2.RegisterApplicationResult(
                revision="rev-1",
                alias=request.application_name,
                owner="local",
                service_urls=registry_pb2.ServiceURLs(
                    run=f"http://gw/local/{request.application_name}",
                    ws=f"ws://gw/local/{request.application_name}",
                ),
                env_key="abc",
            )
        )

    def ListApplications(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._check(request, context)
        created = Timestamp(seconds=1_700_000_000)
        return registry_pb2.ListApplicationsResponse(
            applications=[
                registry_pb2.ApplicationInfo(
                    application_id="echo",
                    revision="rev-1",
                    auth_mode="private",
                    keep_alive=60,
                    max_multiplexing=1,
                    machine_types=["S"],
                    created_at=created,
                    environment_name="main",
                    endpoints=["/"],
                )
            ]
        )

    def ListAliases(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._check(request, context)
        return registry_pb2.ListAliasesResponse(
            aliases=[
                registry_pb2.AliasInfo(alias="echo", revision="rev-1", keep_alive=60)
            ]
        )

    def DeleteApplication(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._check(request, context)
        if request.application_name != "echo":
            context.abort(
                grpc.StatusCode.NOT_FOUND,
                f"application {request.application_name!r} not found",
            )
        return registry_pb2.DeleteApplicationResponse()

    def WhoAmI(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._check(request, context)
        return registry_pb2.WhoAmIResponse(
            owner="local", key_id="id", scope=registry_pb2.KEY_SCOPE_ADMIN
        )


@pytest.fixture
def registry() -> Iterator[tuple[FakeRegistry, str]]:
    fake = FakeRegistry()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    registry_pb2_grpc.add_RegistryServicer_to_server(fake, server)
    address = f"127.0.0.1:{free_port()}"
    server.add_insecure_port(address)
    server.start()
    yield fake, address
    server.stop(grace=None)


@pytest.fixture
def connection(
    registry: tuple[FakeRegistry, str],
) -> Iterator[FalServerlessConnection]:
    credentials = FalServerlessKeyCredentials("id", "secret")
    with FalServerlessClient(registry[1], credentials).connect() as connection:
        yield connection


def test_register_streams_logs_then_result(
    registry: tuple[FakeRegistry, str], connection: FalServerlessConnection
) -> None:
    request = registry_pb2.RegisterApplicationRequest(application_name="echo")

    items = list(connection.register(request))

    assert [log.message for log in items[0].logs] == ["installing"]
    assert items[0].result is None
    final = items[-1]
    assert final.result is not None
    assert final.result.revision == "rev-1"
    assert final.result.alias == "echo"
    assert final.service_urls == ServiceURLs(
        playground="", run="http://gw/local/echo", queue="", ws="ws://gw/local/echo",
        log="",
    )  # fmt: skip
    assert registry[0].requests[0].application_name == "echo"


def test_list_applications_returns_application_info(
    registry: tuple[FakeRegistry, str], connection: FalServerlessConnection
) -> None:
    applications = connection.list_applications("echo", environment_name="main")

    assert len(applications) == 1
    info = applications[0]
    assert info.application_id == "echo"
    assert info.machine_types == ["S"]
    assert info.created_at is not None
    assert info.created_at.timestamp() == 1_700_000_000
    assert info.endpoints == ["/"]
    sent = registry[0].requests[0]
    assert (sent.application_name, sent.environment_name) == ("echo", "main")


def test_list_aliases_returns_alias_info(connection: FalServerlessConnection) -> None:
    aliases = connection.list_aliases()

    assert [(alias.alias, alias.revision) for alias in aliases] == [("echo", "rev-1")]


def test_whoami_returns_owner_and_scope(connection: FalServerlessConnection) -> None:
    identity = connection.whoami()

    assert (identity.owner, identity.key_id, identity.scope) == (
        "local",
        "id",
        KeyScope.ADMIN,
    )


def test_delete_unknown_application_raises_not_found(
    connection: FalServerlessConnection,
) -> None:
    with pytest.raises(NotFoundError, match="'ghost' not found") as caught:
        connection.delete_application("ghost")

    assert caught.value.code == "NOT_FOUND"
    assert isinstance(caught.value.__cause__, grpc.RpcError)


def test_call_with_bad_key_raises_unauthenticated(
    registry: tuple[FakeRegistry, str],
) -> None:
    credentials = FalServerlessKeyCredentials("id", "wrong")
    client = FalServerlessClient(registry[1], credentials)
    with (
        client.connect() as connection,
        pytest.raises(UnauthenticatedError, match="the key is not valid"),
    ):
        connection.whoami()


@pytest.mark.parametrize(
    ("code", "error_class"),
    [
        (grpc.StatusCode.PERMISSION_DENIED, PermissionDeniedError),
        (grpc.StatusCode.INVALID_ARGUMENT, InvalidArgumentError),
        (grpc.StatusCode.UNAVAILABLE, UnavailableError),
        (grpc.StatusCode.INTERNAL, RemoteError),
    ],
)
def test_server_error_status_raises_matching_exception(
    registry: tuple[FakeRegistry, str],
    connection: FalServerlessConnection,
    code: grpc.StatusCode,
    error_class: type[RemoteError],
) -> None:
    registry[0].abort_with = (code, "application_name 'x--y' is invalid")

    with pytest.raises(error_class, match="'x--y' is invalid") as caught:
        connection.list_applications()

    assert caught.value.code == code.name


def test_register_stream_error_raises_translated_exception(
    registry: tuple[FakeRegistry, str], connection: FalServerlessConnection
) -> None:
    registry[0].abort_with = (grpc.StatusCode.UNAVAILABLE, "no scheduler answered")
    request = registry_pb2.RegisterApplicationRequest(application_name="echo")

    with pytest.raises(UnavailableError, match="no scheduler answered"):
        list(connection.register(request))


def test_connect_to_closed_port_raises_unavailable() -> None:
    credentials = FalServerlessKeyCredentials("id", "secret")
    address = f"127.0.0.1:{free_port()}"

    client = FalServerlessClient(address, credentials)
    with client.connect() as connection, pytest.raises(UnavailableError) as caught:
        connection.whoami()

    assert address in str(caught.value)


def test_construct_alias_appends_environment() -> None:
    assert construct_alias("my-app") == "my-app"
    assert construct_alias("my-app", "main") == "my-app"
    assert construct_alias("my-app", "staging") == "my-app--staging"


def test_deconstruct_alias_strips_environment() -> None:
    assert deconstruct_alias("my-app--staging", "staging") == "my-app"
    assert deconstruct_alias("my-app", "main") == "my-app"
    assert deconstruct_alias("my-app", None) == "my-app"
