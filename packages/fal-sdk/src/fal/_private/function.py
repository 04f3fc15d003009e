"""``fal.function``: plain Python functions that run where a host says.

``LocalHost`` calls the function in this process. ``FalServerlessHost``
runs it on the platform: on the first call it registers an ephemeral app
that wraps the function (its requirements built like any app's), then
sends each call's arguments pickled to that app through the gateway and
unpickles the result. An exception raised remotely is raised again here,
with the remote traceback attached as a note. The ephemeral apps are
deleted when the host is closed or the interpreter exits.
"""

from __future__ import annotations

import atexit
import base64
import copy
import functools
import hashlib
import json
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Generic, ParamSpec, TypeVar

from fal._private.api_errors import (
    FalSerializationError,
    InternalFalServerlessError,
    UserFunctionException,
)
from fal._private.app import App

__all__ = [
    "FalServerlessHost",
    "Host",
    "IsolatedFunction",
    "LocalHost",
    "Options",
    "function",
    "merge_basic_config",
]

ArgsT = ParamSpec("ArgsT")
ReturnT = TypeVar("ReturnT")

KINDS = ("virtualenv", "container")
# Options that shape the environment; the rest are placement and scaling.
ENVIRONMENT_KEYS = frozenset(
    {"kind", "requirements", "python_version", "image", "local_python_modules"}
)
HOST_KEYS = frozenset(
    {
        "machine_type",
        "num_gpus",
        "keep_alive",
        "max_concurrency",
        "max_multiplexing",
        "min_concurrency",
        "request_timeout",
        "startup_timeout",
        "regions",
    }
)


@dataclass
class Options:
    """How and where a function runs: its environment and its host settings."""

    host: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    gateway: dict[str, Any] = field(default_factory=dict)

    def add_requirements(self, requirements: list[str]) -> None:
        """Add requirements to the environment's, keeping order, no repeats."""
        merge_basic_config(self.environment, {"requirements": requirements})

    def get_exposed_port(self) -> int | None:
        port = self.host.get("exposed_port")
        return int(port) if port is not None else None

    def merged(self, other: Options) -> Options:
        """These options with ``other``'s laid over them."""
        result = copy.deepcopy(self)
        merge_basic_config(result.host, other.host)
        merge_basic_config(result.environment, other.environment)
        merge_basic_config(result.gateway, other.gateway)
        return result


def merge_basic_config(target: dict[str, Any], incoming: dict[str, Any]) -> None:
    """Lay ``incoming`` over ``target`` in place; requirements are added up.

    ``requirements`` lists are concatenated without repeats; every other
    key of ``incoming`` replaces the one in ``target``.
    """
    for key, value in incoming.items():
        if key == "requirements" and isinstance(value, list):
            merged = list(target.get("requirements") or [])
            merged += [item for item in value if item not in merged]
            target["requirements"] = merged
        else:
            target[key] = value


class Host:
    """Where functions run; subclasses decide how a call is carried out."""

    supported_keys: ClassVar[frozenset[str]] = ENVIRONMENT_KEYS | HOST_KEYS

    def parse_options(self, **config: Any) -> Options:
        """Sort ``config`` into Options, refusing keys this host does not know."""
        unknown = sorted(set(config) - self.supported_keys)
        if unknown:
            raise TypeError(
                f"{type(self).__name__} does not take {', '.join(unknown)}; it "
                f"takes {', '.join(sorted(self.supported_keys))}."
            )
        kind = config.get("kind", "virtualenv")
        if kind not in KINDS:
            raise ValueError(f"kind is {kind!r}; use one of {', '.join(KINDS)}.")
        options = Options()
        for key, value in config.items():
            if value is None:
                continue
            section = options.environment if key in ENVIRONMENT_KEYS else options.host
            section[key] = value
        return options

    def run(
        self,
        func: Callable[..., ReturnT],
        options: Options,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> ReturnT:
        raise NotImplementedError


@dataclass
class LocalHost(Host):
    """Runs functions in this process, ignoring environment options."""

    def run(
        self,
        func: Callable[..., ReturnT],
        options: Options,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> ReturnT:
        return func(*args, **kwargs)


@dataclass
class FalServerlessHost(Host):
    """Runs functions on the platform the configured profile points at."""

    timeout: float = 300.0
    _deployed: dict[str, str] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        atexit.register(self.close)

    def run(
        self,
        func: Callable[..., ReturnT],
        options: Options,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> ReturnT:
        url = self._ensure_deployed(func, options)
        payload = _dumps_for(func, (args, kwargs))
        answer = self._post(url, payload)
        return _result_of(answer)

    def close(self) -> None:
        """Delete the ephemeral apps this host registered."""
        with self._lock:
            deployed, self._deployed = self._deployed, {}
        if not deployed:
            return
        from fal._private.client import FalServerlessClient
        from fal._private.settings import get_grpc_host

        with FalServerlessClient(get_grpc_host()).connect() as connection:
            for url in deployed.values():
                alias = url.rstrip("/").rsplit("/", 1)[-1]
                try:
                    connection.delete_application(alias)
                except Exception:  # cleanup must go on
                    continue

    def _ensure_deployed(self, func: Callable[..., Any], options: Options) -> str:
        key = _deployment_key(func, options)
        with self._lock:
            if key not in self._deployed:
                self._deployed[key] = _register_function(func, options)
            return self._deployed[key]

    def _post(self, url: str, payload: str) -> dict[str, Any]:
        import httpx

        from fal._private.http import _auth_headers, raise_for_status

        response = httpx.post(
            url,
            json={"payload": payload},
            headers=_auth_headers(None),
            timeout=self.timeout,
        )
        raise_for_status(response)
        answer = response.json()
        if not isinstance(answer, dict) or "ok" not in answer:
            raise InternalFalServerlessError(
                f"The function's app at {url} answered {answer!r}, not a result."
            )
        return answer


@dataclass
class IsolatedFunction(Generic[ArgsT, ReturnT]):
    """A function bound to a host and the options it runs with."""

    host: Host
    raw_func: Callable[ArgsT, ReturnT]
    options: Options

    def __post_init__(self) -> None:
        functools.update_wrapper(self, self.raw_func)

    def __call__(self, *args: ArgsT.args, **kwargs: ArgsT.kwargs) -> ReturnT:
        return self.host.run(self.raw_func, self.options, args, kwargs)

    def on(
        self, host: Host | None = None, **config: Any
    ) -> IsolatedFunction[ArgsT, ReturnT]:
        """The same function on another host or with more options."""
        target = host or self.host
        options = self.options.merged(target.parse_options(**config))
        return replace(self, host=target, options=options)


def function(
    kind: str = "virtualenv",
    *,
    host: Host | None = None,
    local_python_modules: list[str] | None = None,
    **config: Any,
) -> Callable[[Callable[ArgsT, ReturnT]], IsolatedFunction[ArgsT, ReturnT]]:
    """Make a plain function run on ``host`` (the platform by default).

    ``config`` holds ``requirements``, ``machine_type``, ``keep_alive`` and
    the other options an App takes.
    """
    chosen = host or _default_host()
    options = chosen.parse_options(
        kind=kind, local_python_modules=local_python_modules, **config
    )

    def wrap(func: Callable[ArgsT, ReturnT]) -> IsolatedFunction[ArgsT, ReturnT]:
        return IsolatedFunction(chosen, func, options)

    return wrap


@functools.cache
def _default_host() -> FalServerlessHost:
    return FalServerlessHost()


def _function_app(func: Callable[..., Any], options: Options) -> type[App]:
    from fal._private.function_app import call_function

    environment, host = options.environment, options.host
    namespace: dict[str, Any] = {
        "__module__": func.__module__,
        "__qualname__": f"_FalFunction_{func.__name__}",
        "_fal_function": staticmethod(func),
        "call": call_function,
        "requirements": list(environment.get("requirements") or []),
        "local_python_modules": list(environment.get("local_python_modules") or []),
        "app_auth": "private",
        "host_kwargs": {"keep_alive": host.get("keep_alive", 60)},
    }
    for key in ("machine_type", "num_gpus", "max_concurrency", "max_multiplexing"):
        if key in host:
            namespace[key] = host[key]
    for key in ("min_concurrency", "request_timeout", "startup_timeout"):
        if key in host:
            namespace[key] = host[key]
    if "regions" in host:
        namespace["regions"] = host["regions"]
    if environment.get("kind") == "container":
        namespace["kind"] = "container"
        namespace["image"] = environment.get("image")
    if "python_version" in environment:
        namespace["host_kwargs"]["python_version"] = environment["python_version"]
    return type(f"_FalFunction_{func.__name__}", (App,), namespace)


def _register_function(func: Callable[..., Any], options: Options) -> str:
    """Register the function's ephemeral app; return its run URL."""
    from fal._private.client import FalServerlessClient
    from fal._private.register import build_register_request
    from fal._private.settings import get_grpc_host

    app_class = _function_app(func, options)
    name = f"fn-{_slug(func.__name__)}-{secrets.token_hex(4)}"
    request = build_register_request(app_class, application_name=name, ephemeral=True)
    with FalServerlessClient(get_grpc_host()).connect() as connection:
        results = [item for item in connection.register(request) if item.result]
    if not results or results[-1].result is None:
        raise InternalFalServerlessError(
            f"The registry ended the deploy of {name} without a result."
        )
    final = results[-1]
    urls = final.service_urls
    if urls is not None and urls.run:
        return str(urls.run)
    from fal._private.settings import get_run_url

    result = final.result
    assert result is not None  # checked above
    return f"{get_run_url()}/{result.owner}/{result.alias}"


def _dumps_for(func: Callable[..., Any], value: Any) -> str:
    import sys

    import cloudpickle

    from fal._private.serialization import _pickled_by_value

    module = sys.modules.get(func.__module__)
    modules = [module] if module is not None and module.__name__ != "__main__" else []
    try:
        with _pickled_by_value(iter(modules)):
            return _encode(cloudpickle.dumps(value))
    except Exception as error:
        raise FalSerializationError(
            f"The arguments of {func.__name__} could not be pickled: {error}"
        ) from error


def _result_of(answer: dict[str, Any]) -> Any:
    import cloudpickle

    if answer["ok"]:
        return cloudpickle.loads(base64.b64decode(answer["result"]))
    remote_traceback = str(answer.get("traceback") or "")
    error: BaseException | None = None
    if answer.get("error"):
        try:
            error = cloudpickle.loads(base64.b64decode(answer["error"]))
        except Exception:  # fall back to the traceback
            error = None
    if not isinstance(error, BaseException):
        raise UserFunctionException(
            f"The remote function raised an exception:\n{remote_traceback}"
        )
    error.add_note(f"Remote traceback:\n{remote_traceback}")
    raise error


def _deployment_key(func: Callable[..., Any], options: Options) -> str:
    document = json.dumps(
        [id(func), options.host, options.environment], sort_keys=True, default=repr
    )
    return hashlib.sha256(document.encode()).hexdigest()


def _encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _slug(name: str) -> str:
    slug = "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")
    return slug[:30] or "function"
