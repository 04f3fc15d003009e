"""Serve an App in the current process, for debugging (``App.run_local``)."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import uvicorn

from fal._private.serving import build_fastapi_app

if TYPE_CHECKING:
    from fal._private.app import App

__all__ = ["serve_locally", "wrap_app"]

logger = logging.getLogger(__name__)


def serve_locally(
    app_class: type[App],
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    on_started: Callable[[uvicorn.Server], None] | None = None,
) -> None:
    """Set the app up, serve it on ``host:port`` until stopped, tear it down.

    No environment is built and nothing is pickled: the app runs with this
    interpreter's packages, so breakpoints and prints work as usual.
    ``on_started`` receives the server once it listens; setting its
    ``should_exit`` stops it, as Ctrl-C does.
    """
    asyncio.run(_serve(app_class, host, port, on_started))


async def _serve(
    app_class: type[App],
    host: str,
    port: int,
    on_started: Callable[[uvicorn.Server], None] | None,
) -> None:
    # Set up before listening, as a runner does.
    instance = app_class(_allow_init=True)
    await _call(instance.setup)

    config = uvicorn.Config(
        build_fastapi_app(instance), host=host, port=port, lifespan="off"
    )
    server = _LocalServer(config)
    serving = asyncio.create_task(server.serve())
    if on_started is not None:
        while not server.started and not serving.done():
            await asyncio.sleep(0.01)
        on_started(server)
    logger.info("Serving %s on http://%s:%d", app_class.__name__, host, port)
    try:
        await serving
    finally:
        await _call(instance.handle_exit)
        await _call(instance.teardown)


class _LocalServer(uvicorn.Server):
    """A uvicorn server that stops on Ctrl-C without re-raising it.

    uvicorn raises the caught signal again once it has stopped, which would
    interrupt the app's teardown; here Ctrl-C only ends the serving.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        stop_signals = (signal.SIGINT, signal.SIGTERM)
        originals = {sig: signal.signal(sig, self.handle_exit) for sig in stop_signals}
        try:
            yield
        finally:
            for sig, handler in originals.items():
                signal.signal(sig, handler)


async def _call(method: Callable[[], Any]) -> Any:
    if inspect.iscoroutinefunction(method):
        return await method()
    result = await asyncio.to_thread(method)
    if inspect.isawaitable(result):
        result = await result
    return result


def wrap_app(cls: type[App], **kwargs: Any) -> Any:
    """The App as an IsolatedFunction that serves it in this process.

    Calling the result runs ``serve_locally(cls, ...)``. Only ``LocalHost``
    is supported: on the platform an app is deployed (``fal deploy``), not
    called as a function.
    """
    from fal._private.function import IsolatedFunction, LocalHost
    from fal._private.register import requirement_steps

    host = kwargs.pop("host", None) or LocalHost()
    if not isinstance(host, LocalHost):
        raise TypeError(
            f"wrap_app serves {cls.__name__} in this process and takes only a "
            f"LocalHost, not {type(host).__name__}; deploy apps with `fal deploy`."
        )
    requirements = [r for step in requirement_steps(cls.requirements) for r in step]
    options = host.parse_options(
        requirements=requirements, machine_type=cls.machine_type, **kwargs
    )

    def serve(*args: Any, **serve_kwargs: Any) -> None:
        serve_locally(cls, *args, **serve_kwargs)

    serve.__name__ = serve.__qualname__ = cls.__name__
    serve.__doc__ = cls.__doc__
    return IsolatedFunction(host, serve, options)
