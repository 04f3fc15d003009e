"""The App base class users subclass, and the endpoint decorator."""

from __future__ import annotations

import contextvars
import copy
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeVar

from fal._private.base_servable import BaseServable
from fal._private.models import ApplicationHealthCheckConfig, HealthCheck

EndpointT = TypeVar("EndpointT", bound=Callable[..., Any])

AuthMode = Literal["public", "private", "shared"]
AUTH_MODES = ("public", "private", "shared")
RETRY_CONDITIONS = ("timeout", "server_error", "connection_error")

# Options a class keyword may set that live in host_kwargs rather than in a
# class attribute of their own.
HOST_OPTIONS = frozenset(
    {
        "keep_alive",
        "resolver",
        "force_env_build",
        "python_version",
        "exposed_port",
        "_base_image",
        "_scheduler",
        "_scheduler_options",
    }
)

ROUTE_ATTRIBUTE = "__fal_route__"


@dataclass(frozen=True)
class RouteSignature:
    """Where and how one endpoint of an app is served."""

    path: str
    is_websocket: bool = False
    health_check: HealthCheck | None = None
    # Set by ``fal.realtime``: a websocket route whose frames the runtime
    # decodes, validates, buffers and batches for the handler.
    is_realtime: bool = False
    buffering: int | None = None
    session_timeout: float | None = None
    input_modal: Any = None
    output_modal: Any = None
    max_batch_size: int = 1
    content_type: str | None = None
    encode_message: Callable[[Any], bytes | str] | None = None
    decode_message: Callable[[bytes | str], Any] | None = None
    emit_timings: bool = False
    realtime_mode: str | None = None


@dataclass(frozen=True)
class RequestContext:
    """What the runtime knows about the request being served."""

    request_id: str | None
    endpoint: str | None
    lifecycle_preference: dict[str, str] | None
    headers: Mapping[str, str]


current_request_context: contextvars.ContextVar[RequestContext | None] = (
    contextvars.ContextVar("fal_current_request", default=None)
)


def endpoint(
    path: str, *, is_websocket: bool = False, health_check: HealthCheck | None = None
) -> Callable[[EndpointT], EndpointT]:
    """Mark a method of an App as served at ``path`` (POST, or a websocket)."""
    if not path.startswith("/"):
        raise ValueError(f"Endpoint path {path!r} must start with '/'.")

    def mark(function: EndpointT) -> EndpointT:
        signature = RouteSignature(path, is_websocket, health_check)
        setattr(function, ROUTE_ATTRIBUTE, signature)
        return function

    return mark


class App(BaseServable):
    """Base class of a deployable app: subclass it and add endpoints."""

    requirements: ClassVar[list[str] | list[list[str]]] = []
    local_python_modules: ClassVar[list[str]] = []
    machine_type: ClassVar[str | list[str]] = "S"
    num_gpus: ClassVar[int | None] = None
    regions: ClassVar[list[str] | None] = None
    host_kwargs: ClassVar[dict[str, Any]] = {"keep_alive": 60}
    app_name: ClassVar[str | None] = None
    app_auth: ClassVar[AuthMode | None] = None
    app_files: ClassVar[list[str]] = []
    app_files_ignore: ClassVar[list[str]] = [
        r"\.pyc$",
        r"__pycache__/",
        r"\.git/",
        r"\.DS_Store$",
    ]
    app_files_context_dir: ClassVar[str | None] = None
    request_timeout: ClassVar[int | None] = None
    startup_timeout: ClassVar[int | None] = None
    min_concurrency: ClassVar[int | None] = None
    max_concurrency: ClassVar[int | None] = None
    concurrency_buffer: ClassVar[int | None] = None
    concurrency_buffer_perc: ClassVar[int | None] = None
    scaling_delay: ClassVar[int | None] = None
    max_multiplexing: ClassVar[int | None] = None
    kind: ClassVar[str | None] = None
    image: ClassVar[Any | None] = None
    skip_retry_conditions: ClassVar[list[str] | None] = None
    termination_grace_period_seconds: ClassVar[int | None] = None
    local_file_path: ClassVar[str | None] = None

    def __init_subclass__(cls, **options: Any) -> None:
        super().__init_subclass__()
        cls.host_kwargs = copy.deepcopy(cls.host_kwargs)
        for name, value in options.items():
            _apply_class_option(cls, name, value)
        _validate_app_class(cls)

    def __init__(self, *, _allow_init: bool = False) -> None:
        if not _allow_init:
            raise RuntimeError(
                f"{type(self).__name__} is a fal App and is not instantiated "
                "directly; deploy it with `fal deploy` or serve it with `fal run`."
            )

    def setup(self) -> Any:
        """Prepare the app (load models, open clients) before it serves."""

    def teardown(self) -> Any:
        """Release what setup() acquired; runs once when the runner stops."""

    def handle_exit(self) -> None:
        """Called when the runner was asked to stop, before teardown()."""

    def health(self) -> Any:
        """Answer GET /health; raise to report the runner unhealthy."""
        return {"status": "ok"}

    def provide_hints(self) -> list[str]:
        """Routing hints of this runner (none by default)."""
        return []

    @property
    def current_request(self) -> RequestContext | None:
        """The request being served by the calling task, if any."""
        return current_request_context.get()

    @classmethod
    def route_functions(cls) -> dict[RouteSignature, Callable[..., Any]]:
        """Every endpoint of the class, unbound, keyed by its signature."""
        return dict(_route_items(cls))

    def collect_routes(self) -> dict[RouteSignature, Callable[..., Any]]:
        """Every endpoint of this app, bound to the instance."""
        return {
            signature: function.__get__(self, type(self))
            for signature, function in self.route_functions().items()
        }

    def build_app(self) -> Any:
        """The runner's FastAPI application, routes bound to this instance."""
        from fal._private.serving import build_fastapi_app

        return build_fastapi_app(self)

    @classmethod
    def get_endpoints(cls) -> list[str]:
        """The paths of the app's endpoints, sorted."""
        return sorted(signature.path for signature in cls.route_functions())

    @classmethod
    def get_health_check_config(cls) -> ApplicationHealthCheckConfig | None:
        """The health check of the one endpoint that declares it, if any."""
        for signature in cls.route_functions():
            check = signature.health_check
            if check is not None:
                return ApplicationHealthCheckConfig(
                    path=signature.path,
                    start_period_seconds=check.start_period_seconds,
                    timeout_seconds=check.timeout_seconds,
                    failure_threshold=check.failure_threshold,
                    call_regularly=check.call_regularly,
                )
        return None

    @classmethod
    def openapi(cls) -> dict[str, Any]:
        """The OpenAPI document the runner will serve for this app."""
        from fal._private.serving import build_fastapi_app

        return build_fastapi_app(cls).openapi()

    @classmethod
    def run_local(cls, *args: Any, **kwargs: Any) -> None:
        """Serve the app in this process until Ctrl-C, for debugging.

        Takes ``host`` (default 127.0.0.1) and ``port`` (default 8080).
        """
        from fal._private.local import serve_locally

        serve_locally(cls, *args, **kwargs)


APP_OPTIONS = frozenset(
    {
        "requirements",
        "local_python_modules",
        "machine_type",
        "num_gpus",
        "regions",
        "host_kwargs",
        "app_name",
        "app_auth",
        "app_files",
        "app_files_ignore",
        "app_files_context_dir",
        "request_timeout",
        "startup_timeout",
        "min_concurrency",
        "max_concurrency",
        "concurrency_buffer",
        "concurrency_buffer_perc",
        "scaling_delay",
        "max_multiplexing",
        "kind",
        "image",
        "skip_retry_conditions",
        "termination_grace_period_seconds",
    }
)


def _route_items(cls: type) -> list[tuple[RouteSignature, Callable[..., Any]]]:
    """Endpoint methods of ``cls`` and its bases; a subclass's override wins."""
    items: list[tuple[RouteSignature, Callable[..., Any]]] = []
    seen: set[str] = set()
    for klass in cls.__mro__:
        for name, member in vars(klass).items():
            if name in seen:
                continue
            seen.add(name)
            signature = getattr(member, ROUTE_ATTRIBUTE, None)
            if isinstance(signature, RouteSignature):
                items.append((signature, member))
    return items


def _apply_class_option(cls: type[App], name: str, value: Any) -> None:
    if name in APP_OPTIONS:
        setattr(cls, name, value)
    elif name in HOST_OPTIONS:
        cls.host_kwargs[name] = value
    else:
        raise TypeError(
            f"{cls.__name__} got an unknown App option {name!r}; valid options "
            f"are {', '.join(sorted(APP_OPTIONS | HOST_OPTIONS))}."
        )


def _validate_app_class(cls: type[App]) -> None:
    if cls.app_auth is not None and cls.app_auth not in AUTH_MODES:
        raise ValueError(
            f"{cls.__name__}.app_auth is {cls.app_auth!r}; use one of "
            f"{', '.join(AUTH_MODES)}."
        )
    for condition in cls.skip_retry_conditions or []:
        if condition not in RETRY_CONDITIONS:
            raise ValueError(
                f"{cls.__name__}.skip_retry_conditions holds {condition!r}; use "
                f"any of {', '.join(RETRY_CONDITIONS)}."
            )
    _validate_routes(cls)


def _validate_routes(cls: type[App]) -> None:
    paths: dict[str, str] = {}
    health_checks: list[str] = []
    for signature, function in _route_items(cls):
        name = getattr(function, "__name__", repr(function))
        if signature.path in paths:
            raise ValueError(
                f"{cls.__name__} serves {signature.path!r} twice (from "
                f"{paths[signature.path]} and {name}); give each endpoint its "
                "own path."
            )
        paths[signature.path] = name
        if signature.health_check is not None:
            health_checks.append(signature.path)
    if len(health_checks) > 1:
        raise ValueError(
            f"{cls.__name__} declares health checks on {', '.join(health_checks)}; "
            "an app may have only one health-check endpoint."
        )


def default_app_name(cls: type) -> str:
    """The app name a class deploys as when it sets none: kebab-cased."""
    words = re.sub(
        r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", cls.__name__
    )
    return words.replace("_", "-").lower()
