"""The public names of fal.api.api, fal.container and fal.project, pinned."""

import threading

import fastapi
import httpx
import pytest

import fal.api.api
import fal.container
import fal.project
from fal_platform.testing import free_port, wait_for_port


def test_import_code_loading_modules_export_pinned_names() -> None:
    expected = {
        fal.api.api: {
            "BaseServable",
            "FalFastAPI",
            "FalMissingDependencyError",
            "FalSerializationError",
            "FalServer",
            "FalServerlessError",
            "FalServerlessHost",
            "Host",
            "InternalFalServerlessError",
            "IsolatedFunction",
            "LocalHost",
            "Options",
            "RouteSignature",
            "ServeWrapper",
            "ServedIsolatedFunction",
            "SpawnInfo",
            "UserFunctionException",
            "cached",
            "find_missing_dependencies",
            "function",
            "merge_basic_config",
        },
        fal.container: {
            "DEFAULT_DOCKERIGNORE",
            "ContainerImage",
            "DockerfileError",
            "DockerfileParser",
            "DockerignoreHandler",
        },
        fal.project: {
            "AppNotInProjectError",
            "find_project_root",
            "find_pyproject_toml",
            "parse_pyproject_toml",
            "project_app",
        },
    }
    for module, names in expected.items():
        assert set(module.__all__) == names, module.__name__
        for name in names:
            assert hasattr(module, name), f"{module.__name__}.{name}"


def test_import_function_errors_share_sdk_root() -> None:
    from fal.exceptions import FalServerlessException

    for name in ("FalMissingDependencyError", "UserFunctionException"):
        assert issubclass(getattr(fal.api.api, name), FalServerlessException)
    assert fal.api.api.cached is fal.cached
    assert fal.function is fal.api.api.function


def test_import_app_is_a_base_servable() -> None:
    import fal

    assert issubclass(fal.App, fal.api.api.BaseServable)
    assert issubclass(fal.api.api.FalFastAPI, fastapi.FastAPI)
    assert issubclass(fal.api.api.ServedIsolatedFunction, fal.api.api.IsolatedFunction)


def add(a: int, b: int) -> dict:
    return {"sum": a + b}


def test_serve_wrapper_serves_function_over_http() -> None:
    port = free_port()
    server = fal.api.api.FalServer(fal.api.api.ServeWrapper(add), port=port)
    thread = threading.Thread(target=server.run)
    thread.start()
    try:
        wait_for_port(port, timeout=10)
        base = f"http://127.0.0.1:{port}"
        answer = httpx.post(f"{base}/", json={"a": 2, "b": 3}, timeout=10)
        wrong = httpx.post(f"{base}/", json=[1, 2], timeout=10)
        missing = httpx.post(f"{base}/", json={"a": 1}, timeout=10)
        paths = list(httpx.get(f"{base}/openapi.json", timeout=10).json()["paths"])
    finally:
        server.should_exit = True
        thread.join(timeout=10)

    assert answer.json() == {"sum": 5}
    assert wrong.status_code == 422
    assert "send a JSON object" in wrong.json()["detail"]
    assert missing.status_code == 422
    assert "'b'" in missing.json()["detail"]
    assert paths == ["/"]


def test_base_servable_without_routes_names_class() -> None:
    class Empty(fal.api.api.BaseServable):
        pass

    with pytest.raises(NotImplementedError, match="Empty must define"):
        Empty().build_app()
