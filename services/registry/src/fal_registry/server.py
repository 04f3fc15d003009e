"""Running the registry: database, NATS, the gRPC server and metrics.

``RegistryServer`` is the in-process handle used by ``main`` and tests::

    server = RegistryServer(settings)
    await server.start()      # migrations, bootstrap, NATS, gRPC
    print(server.address)     # "127.0.0.1:<port>", even for port 0
    await server.stop()
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from pathlib import Path
from wsgiref.simple_server import WSGIServer

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from fal_proto import registry_pb2, registry_pb2_grpc
from fal_registry.auth import Authenticator, KeyScope
from fal_registry.config import Settings
from fal_registry.database import create_engine, mask_url, upgrade_schema
from fal_registry.encryption import NoSecretBox, SecretBox, load_secret_box
from fal_registry.errors import RegistryError
from fal_registry.messaging import Messaging
from fal_registry.metrics import RegistryMetrics
from fal_registry.service import RegistryServicer
from fal_registry.store import Store

logger = logging.getLogger(__name__)

INTERNAL_TOKEN_ENV = "FAL_PLATFORM_INTERNAL_TOKEN"
SERVICE_NAME = registry_pb2.DESCRIPTOR.services_by_name["Registry"].full_name
SHUTDOWN_GRACE_SECONDS = 5.0


class RegistryServer:
    """One registry: start it, read its address, stop it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics = RegistryMetrics()
        self.port: int | None = None
        self.store: Store | None = None
        self._server: grpc.aio.Server | None = None
        self._health = health.aio.HealthServicer()
        self._messaging: Messaging | None = None
        self._metrics_server: tuple[WSGIServer, threading.Thread] | None = None
        self._secret_box: SecretBox | NoSecretBox = NoSecretBox()

    @property
    def address(self) -> str:
        if self.port is None:
            raise RuntimeError("The registry server has not been started.")
        return f"{self.settings.host}:{self.port}"

    async def start(self) -> None:
        """Migrate the database, bootstrap, connect to NATS and listen."""
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        settings = self.settings
        self._secret_box = load_secret_box(settings.secrets_key_file)
        engine = create_engine(settings.database_url)
        await asyncio.to_thread(upgrade_schema, engine)
        self.store = Store(engine)
        await asyncio.to_thread(bootstrap, self.store, settings)

        self._messaging = await Messaging.connect(
            settings.nats_url,
            connect_timeout=settings.nats_connect_timeout,
            ack_timeout=settings.build_ack_timeout,
            build_timeout=settings.build_timeout,
        )
        # Without SO_REUSEPORT off, a second registry binds the same port and
        # the kernel splits connections between two unrelated databases.
        self._server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
        registry_pb2_grpc.add_RegistryServicer_to_server(self._servicer(), self._server)
        health_pb2_grpc.add_HealthServicer_to_server(self._health, self._server)
        address = f"{settings.host}:{settings.port}"
        try:
            self.port = self._server.add_insecure_port(address)
        except RuntimeError as error:
            raise RegistryError(
                f"Cannot listen on {address}: the port is in use or not allowed; "
                "choose another with --port."
            ) from error
        if self.port == 0:
            raise RegistryError(
                f"Cannot listen on {settings.host}:{settings.port}: "
                "is another registry using that port?"
            )
        await self._server.start()
        for service in ("", SERVICE_NAME):
            await self._health.set(service, health_pb2.HealthCheckResponse.SERVING)

        self._start_metrics()
        logger.info(
            "Registry listening on %s (database %s, NATS %s)",
            self.address,
            mask_url(settings.database_url),
            settings.nats_url,
        )

    async def stop(self) -> None:
        """Stop taking calls, let running ones finish briefly, close links."""
        await self._health.enter_graceful_shutdown()
        if self._server is not None:
            await self._server.stop(SHUTDOWN_GRACE_SECONDS)
        if self._messaging is not None:
            await self._messaging.close()
        if self._metrics_server is not None:
            self._metrics_server[0].shutdown()
            self._metrics_server[0].server_close()
        if self.store is not None:
            self.store.engine.dispose()
        if self.port is not None:
            logger.info("Registry stopped")

    async def wait(self) -> None:
        if self._server is not None:
            await self._server.wait_for_termination()

    def _servicer(self) -> RegistryServicer:
        assert self.store is not None and self._messaging is not None
        token = self.settings.internal_token or os.environ.get(INTERNAL_TOKEN_ENV)
        if not token:
            logger.warning(
                "No internal token is set (%s or --internal-token); internal "
                "calls will be refused",
                INTERNAL_TOKEN_ENV,
            )
        return RegistryServicer(
            self.store,
            self._messaging,
            Authenticator(self.store, token),
            self.metrics,
            self.settings.gateway_url,
            self.settings.queue_url,
            self._secret_box,
        )

    def _start_metrics(self) -> None:
        if self.settings.metrics_port is None:
            return
        from prometheus_client import start_http_server

        self._metrics_server = start_http_server(
            self.settings.metrics_port,
            addr=self.settings.host,
            registry=self.metrics.registry,
        )
        logger.info("Metrics on port %d", self.settings.metrics_port)


def bootstrap(store: Store, settings: Settings) -> None:
    """Create the bootstrap owner, and its ADMIN key file when it is missing."""
    owner = settings.bootstrap_owner
    if owner is None:
        return
    store.ensure_owner(owner)
    key_file = settings.bootstrap_key_file
    if key_file is None:
        return
    if key_file.exists():
        _check_key_file(store, key_file)
        return
    key = store.create_key(owner, KeyScope.ADMIN, description="bootstrap")
    write_secret_file(key_file, key.credentials)
    logger.info("Created the bootstrap ADMIN key of %s in %s", owner, key_file)


def write_secret_file(path: Path, content: str) -> None:
    """Write ``content`` to a new file that only its owner can read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        os.fchmod(file.fileno(), 0o600)
        file.write(content + "\n")


def _check_key_file(store: Store, key_file: Path) -> None:
    key_id = key_file.read_text().strip().partition(":")[0]
    if store.find_key(key_id) is None:
        logger.warning(
            "The bootstrap key file %s holds a key this database does not know; "
            "delete the file and restart to create a new ADMIN key",
            key_file,
        )
