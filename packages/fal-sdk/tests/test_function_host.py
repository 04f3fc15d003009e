"""fal.function on the local host, Options and merge_basic_config."""

from __future__ import annotations

import threading

import httpx
import pytest

import fal
from fal.api.api import LocalHost, Options, merge_basic_config
from fal.container import ContainerImage


def test_function_on_local_host_runs_in_process() -> None:
    calls: list[int] = []

    @fal.function(host=LocalHost(), requirements=["six"], machine_type="M")
    def double(value: int) -> int:
        calls.append(value)
        return value * 2

    assert double(21) == 42
    assert calls == [21]
    assert double.options.environment["requirements"] == ["six"]
    assert double.options.host["machine_type"] == "M"
    assert double.__name__ == "double"


def test_function_on_adds_options_and_keeps_original() -> None:
    @fal.function(host=LocalHost(), requirements=["six"])
    def identity(value: int) -> int:
        return value

    bigger = identity.on(requirements=["numpy"], machine_type="L")

    assert bigger.options.environment["requirements"] == ["six", "numpy"]
    assert bigger.options.host["machine_type"] == "L"
    assert identity.options.host == {}
    assert bigger(3) == 3


def test_function_unknown_option_is_refused_with_valid_ones() -> None:
    with pytest.raises(TypeError, match="does not take machine; it takes"):
        fal.function(host=LocalHost(), machine="GPU")


def test_function_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="kind is 'conda'"):
        fal.function("conda", host=LocalHost())


def test_merge_basic_config_adds_requirements_overrides_rest() -> None:
    target = {"requirements": ["a", "b"], "machine_type": "S"}

    merge_basic_config(target, {"requirements": ["b", "c"], "machine_type": "M"})

    assert target == {"requirements": ["a", "b", "c"], "machine_type": "M"}


def test_options_add_requirements_and_exposed_port() -> None:
    options = Options(host={"exposed_port": "8000"})

    options.add_requirements(["x"])
    options.add_requirements(["x", "y"])

    assert options.environment["requirements"] == ["x", "y"]
    assert options.get_exposed_port() == 8000
    assert Options().get_exposed_port() is None


def test_container_image_is_exported_from_fal() -> None:
    assert fal.ContainerImage is ContainerImage


class Counter(fal.App):
    def setup(self) -> None:
        self.count = 100

    def teardown(self) -> None:
        Counter.torn_down = True  # type: ignore[attr-defined]

    @fal.endpoint("/")
    def add(self, value: int) -> dict[str, int]:
        self.count += value
        return {"count": self.count}


def test_run_local_serves_app_in_process_until_stopped() -> None:
    from fal_platform.testing import free_port

    port = free_port()
    started = threading.Event()
    servers = []

    def on_started(server: object) -> None:
        servers.append(server)
        started.set()

    thread = threading.Thread(
        target=Counter.run_local,
        kwargs={"port": port, "on_started": on_started},
        daemon=True,
    )
    thread.start()
    assert started.wait(20)

    first = httpx.post(f"http://127.0.0.1:{port}/", json={"value": 1}).json()
    second = httpx.post(f"http://127.0.0.1:{port}/", json={"value": 2}).json()
    servers[0].should_exit = True
    thread.join(20)

    assert (first, second) == ({"count": 101}, {"count": 103})
    assert not thread.is_alive()
    assert Counter.torn_down  # type: ignore[attr-defined]


def test_wrap_app_serves_app_as_local_function() -> None:
    from fal.app import wrap_app
    from fal_platform.testing import free_port

    wrapped = wrap_app(Counter, keep_alive=10)
    port = free_port()
    started = threading.Event()
    servers = []

    def on_started(server: object) -> None:
        servers.append(server)
        started.set()

    thread = threading.Thread(
        target=wrapped, kwargs={"port": port, "on_started": on_started}, daemon=True
    )
    thread.start()
    assert started.wait(20)
    answer = httpx.post(f"http://127.0.0.1:{port}/", json={"value": 5}).json()
    servers[0].should_exit = True
    thread.join(20)

    assert answer == {"count": 105}
    assert wrapped.__name__ == "Counter"
    assert wrapped.options.host == {"machine_type": "S", "keep_alive": 10}


def test_wrap_app_refuses_serverless_host() -> None:
    from fal.api.api import FalServerlessHost
    from fal.app import wrap_app

    with pytest.raises(TypeError, match="takes only a LocalHost"):
        wrap_app(Counter, host=FalServerlessHost())


def test_remote_exception_that_cannot_travel_raises_with_traceback() -> None:
    from fal._private.function import _result_of
    from fal.api.api import UserFunctionException

    answer = {"ok": False, "error": None, "traceback": "Traceback...\nBoom: x\n"}

    with pytest.raises(UserFunctionException, match="Boom: x"):
        _result_of(answer)


def test_function_endpoint_reports_exception_and_traceback() -> None:
    import base64

    import cloudpickle

    from fal._private.function import LocalHost, _function_app, _result_of
    from fal._private.function_app import FunctionCall

    def explode(value: int) -> int:
        raise KeyError(value)

    options = LocalHost().parse_options(requirements=["six"])
    app_class = _function_app(explode, options)
    payload = base64.b64encode(cloudpickle.dumps(((3,), {}))).decode()

    answer = app_class.call(app_class(_allow_init=True), FunctionCall(payload=payload))

    assert answer["ok"] is False
    assert "in explode" in answer["traceback"]
    with pytest.raises(KeyError) as caught:
        _result_of(answer)
    assert "Remote traceback" in caught.value.__notes__[0]
    assert app_class.requirements == ["six"]
