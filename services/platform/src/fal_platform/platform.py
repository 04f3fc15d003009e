"""The whole platform on one machine: nats-server and the three services.

`LocalPlatform` starts each part as a child process in its own session,
waits until every part answers its health check, and writes what clients
need into the platform home: ``endpoints.json``, ``admin_key`` and a
``local`` profile in the fal config. ``stop()`` (or ``fal-platform down``
from another process, through ``pids.json``) ends every process it started.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from fal_platform.testing import free_port, nats_server_binary

logger = logging.getLogger(__name__)

DEFAULT_HOME = Path("~/.fal-platform").expanduser()
DEFAULT_OWNER = "local"
DEFAULT_PORTS = {"gateway": 7080, "registry": 7081, "filestore": 7082, "nats": 7222}
HEALTH_TIMEOUT = 60.0
STOP_GRACE = 15.0


class PlatformError(RuntimeError):
    """The platform could not be started, found or stopped."""


@dataclass
class Ports:
    """Where each part listens; 0 means "pick a free port"."""

    gateway: int = DEFAULT_PORTS["gateway"]
    registry: int = DEFAULT_PORTS["registry"]
    filestore: int = DEFAULT_PORTS["filestore"]
    nats: int = DEFAULT_PORTS["nats"]

    def resolved(self) -> Ports:
        return Ports(
            **{name: port or free_port() for name, port in asdict(self).items()}
        )


@dataclass
class Endpoints:
    """The contents of ``endpoints.json``: how clients reach the platform."""

    gateway_url: str
    registry_address: str
    filestore_url: str
    nats_url: str
    owner: str
    home: str
    # Base URL of the queue API; "" in files written before it existed.
    queue_url: str = ""

    @classmethod
    def load(cls, home: Path) -> Endpoints:
        path = home / "endpoints.json"
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise PlatformError(
                f"No platform found in {home}: {path} does not exist. "
                "Start one with 'fal-platform up'."
            ) from None
        fields = cls.__dataclass_fields__
        return cls(**{key: data[key] for key in fields if key in data})


@dataclass(frozen=True)
class S3Settings:
    """Where the filestore keeps blobs: a local directory unless ``bucket``.

    Credentials are not options: the filestore reads them the way boto3
    does (``AWS_ACCESS_KEY_ID`` and ``AWS_SECRET_ACCESS_KEY``, ~/.aws), from
    the environment ``up`` runs in.
    """

    bucket: str | None = None
    endpoint_url: str | None = None
    region: str | None = None
    prefix: str = ""
    create_bucket: bool = False

    def arguments(self) -> list[str]:
        """The filestore's command-line flags for these settings."""
        if not self.bucket:
            return []
        flags = ["--backend", "s3", "--s3-bucket", self.bucket]
        if self.endpoint_url:
            flags += ["--s3-endpoint-url", self.endpoint_url]
        if self.region:
            flags += ["--s3-region", self.region]
        if self.prefix:
            flags += ["--s3-prefix", self.prefix]
        if self.create_bucket:
            flags.append("--s3-create-bucket")
        return flags


@dataclass
class _Child:
    name: str
    process: subprocess.Popen[bytes]


@dataclass
class LocalPlatform:
    """Start, health-check and stop the platform's processes in one home."""

    home: Path = DEFAULT_HOME
    ports: Ports = field(default_factory=Ports)
    owner: str = DEFAULT_OWNER
    config_path: Path | None = None
    s3: S3Settings = field(default_factory=lambda: S3Settings())
    # The registry's database; None means SQLite in the platform home.
    database_url: str | None = None
    children: list[_Child] = field(default_factory=list)
    endpoints: Endpoints | None = None

    # -- start ---------------------------------------------------------------

    def start(self) -> Endpoints:
        """Start every part and return once all of them are healthy."""
        self.home = self.home.expanduser().resolve()
        self._refuse_if_running()
        for folder in ("logs", "nats", "envs", "payloads", "files"):
            (self.home / folder).mkdir(parents=True, exist_ok=True)
        ports = self.ports.resolved()
        _refuse_busy_ports(ports)
        token = self._internal_token()
        endpoints = Endpoints(
            gateway_url=f"http://127.0.0.1:{ports.gateway}",
            queue_url=f"http://127.0.0.1:{ports.gateway}/queue",
            registry_address=f"127.0.0.1:{ports.registry}",
            filestore_url=f"http://127.0.0.1:{ports.filestore}",
            nats_url=f"nats://127.0.0.1:{ports.nats}",
            owner=self.owner,
            home=str(self.home),
        )
        try:
            self._start_all(ports, endpoints, token)
        except BaseException:
            self.stop()
            raise
        (self.home / "endpoints.json").write_text(
            json.dumps(asdict(endpoints), indent=2) + "\n"
        )
        self.endpoints = endpoints
        self._write_profile(endpoints)
        return endpoints

    def _start_all(self, ports: Ports, endpoints: Endpoints, token: str) -> None:
        python = sys.executable
        # Step 1: messaging, which the registry and scheduler connect to.
        self._spawn(
            "nats",
            [nats_server_binary(), "-a", "127.0.0.1", "-p", str(ports.nats),
             "-js", "-sd", str(self.home / "nats")],
        )  # fmt: skip
        _wait_for(lambda: _port_open(ports.nats), "nats-server", self._log("nats"))

        # Step 2: the services, started together, then health-checked.
        self._spawn(
            "registry",
            [python, "-m", "fal_registry",
             "--host", "127.0.0.1", "--port", str(ports.registry),
             "--database-url", self._database_url(),
             "--nats-url", endpoints.nats_url,
             "--gateway-url", endpoints.gateway_url,
             "--queue-url", endpoints.queue_url,
             "--bootstrap-owner", self.owner,
             "--bootstrap-key-file", str(self.home / "admin_key"),
             "--secrets-key-file", str(self._secrets_key_file())],
            token,
        )  # fmt: skip
        self._spawn(
            "filestore",
            [python, "-m", "fal_filestore", "--host", "127.0.0.1",
             "--port", str(ports.filestore), "--root", str(self.home / "files"),
             "--public-url", endpoints.filestore_url,
             "--default-owner", self.owner, *self.s3.arguments()],
            token,
        )  # fmt: skip
        self._spawn(
            "scheduler",
            [python, "-m", "fal_scheduler",
             "--host", "127.0.0.1", "--port", str(ports.gateway),
             "--registry-address", endpoints.registry_address,
             "--nats-url", endpoints.nats_url, "--home", str(self.home),
             "--filestore-url", endpoints.filestore_url],
            token,
        )  # fmt: skip
        self._write_pids()
        _wait_for(
            lambda: _grpc_healthy(endpoints.registry_address),
            "registry",
            self._log("registry"),
        )
        _wait_for(
            lambda: _http_healthy(endpoints.filestore_url),
            "filestore",
            self._log("filestore"),
        )
        _wait_for(
            lambda: _http_healthy(endpoints.gateway_url),
            "scheduler",
            self._log("scheduler"),
        )
        _wait_for(
            lambda: (self.home / "admin_key").exists(),
            "the admin key",
            self._log("registry"),
        )
        self._check_children()

    def _spawn(self, name: str, command: list[str], token: str | None = None) -> None:
        env = dict(os.environ)
        if token is not None:
            env["FAL_PLATFORM_INTERNAL_TOKEN"] = token
        log = self._log(name).open("ab")
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        log.close()
        self.children.append(_Child(name, process))
        logger.info("started %s (pid %d)", name, process.pid)

    def _check_children(self) -> None:
        for child in self.children:
            code = child.process.poll()
            if code is not None:
                raise PlatformError(
                    f"{child.name} exited with code {code} during start-up.\n"
                    + _tail(self._log(child.name))
                )

    def _secrets_key_file(self) -> Path:
        """The key that encrypts app secrets at rest, made once (Fernet format)."""
        path = self.home / "secrets_key"
        if not path.exists():
            key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
            _write_private(path, key)
        return path

    def _internal_token(self) -> str:
        path = self.home / "internal_token"
        if not path.exists():
            _write_private(path, secrets.token_urlsafe(32))
        return path.read_text().strip()

    def _refuse_if_running(self) -> None:
        pids = _read_pids(self.home)
        alive = [pid for pid in pids.values() if _alive(pid)]
        if alive:
            raise PlatformError(
                f"A platform is already running from {self.home} (pids {alive}). "
                "Stop it with 'fal-platform down' first."
            )

    def _write_pids(self) -> None:
        pids = {child.name: child.process.pid for child in self.children}
        (self.home / "pids.json").write_text(json.dumps(pids) + "\n")

    def _write_profile(self, endpoints: Endpoints) -> None:
        from fal.config import Config

        if self.config_path is not None:
            os.environ["FAL_CONFIG_PATH"] = str(self.config_path)
        config = Config(profile="local")
        config.set("host", endpoints.registry_address)
        config.set("run_url", endpoints.gateway_url)
        config.set("filestore_url", endpoints.filestore_url)
        config.set("key", self.admin_key())
        if not config.get_internal("profile"):
            config.set_internal("profile", "local")
        config.save()

    def _database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'registry.db'}"

    def _log(self, name: str) -> Path:
        return self.home / "logs" / f"{name}.log"

    def admin_key(self) -> str:
        """The bootstrap admin key, ``key_id:key_secret``."""
        return (self.home / "admin_key").read_text().strip()

    # -- stop ----------------------------------------------------------------

    def stop(self) -> None:
        """Stop every process this object started, services before NATS.

        NATS goes last so that the services can disconnect from it cleanly
        instead of retrying against a server that is already gone.
        """
        services = [child for child in self.children if child.name != "nats"]
        messaging = [child for child in self.children if child.name == "nats"]
        for group in (services, messaging):
            for child in reversed(group):
                _terminate(child.process.pid)
            for child in reversed(group):
                _reap(child.process)
        self.children.clear()
        (self.home / "pids.json").unlink(missing_ok=True)

    def wait(self) -> str:
        """Block until a child exits; return its name."""
        while True:
            for child in self.children:
                if child.process.poll() is not None:
                    return child.name
            time.sleep(0.5)


def stop_home(home: Path) -> list[str]:
    """Stop the platform recorded in ``home/pids.json``; return what was stopped."""
    pids = _read_pids(home)
    stopped = [name for name, pid in pids.items() if _alive(pid)]
    services = [pid for name, pid in pids.items() if name != "nats"]
    messaging = [pid for name, pid in pids.items() if name == "nats"]
    for group in (services, messaging):
        for pid in group:
            _terminate(pid)
        deadline = time.monotonic() + STOP_GRACE
        for pid in group:
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _alive(pid):
                _kill_group(pid, signal.SIGKILL)
    (home / "pids.json").unlink(missing_ok=True)
    return stopped


_PORT_FLAGS = {
    "gateway": "--gateway-port",
    "registry": "--registry-port",
    "filestore": "--filestore-port",
    "nats": "--nats-port",
}


def _refuse_busy_ports(ports: Ports) -> None:
    """Fail before starting anything when a port is taken, naming its flag."""
    for name, port in asdict(ports).items():
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                flag = _PORT_FLAGS.get(name, f"--{name}-port")
                raise PlatformError(
                    f"Port {port} for the {name} is already in use on 127.0.0.1; "
                    f"choose another with {flag} (0 picks a free one) "
                    "or stop what is using it."
                ) from None


def health(home: Path) -> dict[str, bool]:
    """Ask each part of the platform in ``home`` whether it is healthy."""
    endpoints = Endpoints.load(home)
    nats_port = int(endpoints.nats_url.rsplit(":", 1)[1])
    return {
        "nats": _port_open(nats_port),
        "registry": _grpc_healthy(endpoints.registry_address),
        "filestore": _http_healthy(endpoints.filestore_url),
        "scheduler": _http_healthy(endpoints.gateway_url),
    }


# -- helpers -------------------------------------------------------------------


def _wait_for(check: object, what: str, log: Path) -> None:
    assert callable(check)
    deadline = time.monotonic() + HEALTH_TIMEOUT
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise PlatformError(
        f"{what} was not healthy after {HEALTH_TIMEOUT:.0f}s.\n" + _tail(log)
    )


def _tail(log: Path, lines: int = 20) -> str:
    try:
        text = log.read_text(errors="replace").splitlines()[-lines:]
    except FileNotFoundError:
        return f"(no log at {log})"
    return f"Last lines of {log}:\n" + "\n".join(text)


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _grpc_healthy(address: str) -> bool:
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=1)
        except grpc.RpcError:
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def _http_healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _read_pids(home: Path) -> dict[str, int]:
    try:
        return {
            k: int(v) for k, v in json.loads((home / "pids.json").read_text()).items()
        }
    except FileNotFoundError:
        return {}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours counts as gone.
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return waited == 0


def _terminate(pid: int) -> None:
    _kill_group(pid, signal.SIGTERM)


def _kill_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _reap(process: subprocess.Popen[bytes]) -> None:
    try:
        process.wait(timeout=STOP_GRACE)
    except subprocess.TimeoutExpired:
        _kill_group(process.pid, signal.SIGKILL)
        process.wait()


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text + "\n")
