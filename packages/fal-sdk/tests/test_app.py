"""App class options, endpoint collection and the in-process HTTP app."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

import fal
from fal._private.app import default_app_name
from fal.app import RequestContext, build_fastapi_app
from fal.sdk import ApplicationHealthCheckConfig


class Prompt(BaseModel):
    text: str


class Reply(BaseModel):
    text: str


def test_subclass_keywords_set_attributes_and_host_options() -> None:
    class Model(fal.App, machine_type="GPU", keep_alive=300, max_concurrency=2):
        pass

    assert Model.machine_type == "GPU"
    assert Model.max_concurrency == 2
    assert Model.host_kwargs["keep_alive"] == 300
    assert fal.App.host_kwargs == {"keep_alive": 60}


def test_subclass_host_kwargs_copy_leaves_parent_unchanged() -> None:
    class Parent(fal.App, keep_alive=10):
        pass

    class Child(Parent, keep_alive=20):
        pass

    assert Parent.host_kwargs["keep_alive"] == 10
    assert Child.host_kwargs["keep_alive"] == 20


def test_subclass_defaults_match_reference() -> None:
    class Plain(fal.App):
        pass

    assert Plain.machine_type == "S"
    assert Plain.requirements == []
    assert Plain.host_kwargs == {"keep_alive": 60}
    assert Plain.app_auth is None
    assert Plain.max_multiplexing is None


def test_subclass_unknown_keyword_raises_type_error_naming_it() -> None:
    with pytest.raises(TypeError, match="machine_typo"):

        class Broken(fal.App, machine_typo="GPU"):
            pass


def test_subclass_bad_auth_mode_raises_value_error() -> None:
    with pytest.raises(ValueError, match="secret"):

        class Broken(fal.App, app_auth="secret"):
            pass


def test_subclass_duplicate_path_raises_value_error() -> None:
    with pytest.raises(ValueError, match="'/' twice"):

        class Broken(fal.App):
            @fal.endpoint("/")
            def one(self) -> dict:
                return {}

            @fal.endpoint("/")
            def two(self) -> dict:
                return {}


def test_instantiate_without_allow_init_raises_clear_error() -> None:
    class Direct(fal.App):
        pass

    with pytest.raises(RuntimeError, match="not instantiated directly"):
        Direct()
    assert isinstance(Direct(_allow_init=True), Direct)


def test_get_endpoints_lists_paths_including_inherited() -> None:
    class Base(fal.App):
        @fal.endpoint("/")
        def root(self) -> dict:
            return {}

    class Derived(Base):
        @fal.endpoint("/extra", is_websocket=False)
        def extra(self) -> dict:
            return {}

    assert Derived.get_endpoints() == ["/", "/extra"]
    routes = Derived(_allow_init=True).collect_routes()
    assert {signature.path for signature in routes} == {"/", "/extra"}
    assert all(callable(method) for method in routes.values())


def test_get_health_check_config_returns_the_declared_check() -> None:
    class Checked(fal.App):
        @fal.endpoint("/ready", health_check=fal.HealthCheck(timeout_seconds=3))
        def ready(self) -> dict:
            return {}

    assert Checked.get_health_check_config() == ApplicationHealthCheckConfig(
        path="/ready",
        start_period_seconds=None,
        timeout_seconds=3,
        failure_threshold=None,
        call_regularly=None,
    )


def test_endpoint_path_without_slash_raises_value_error() -> None:
    with pytest.raises(ValueError, match="must start with '/'"):
        fal.endpoint("predict")


def test_default_app_name_is_kebab_case() -> None:
    class TextToImage(fal.App):
        pass

    class HTTPServer_v2(fal.App):
        pass

    assert default_app_name(TextToImage) == "text-to-image"
    assert default_app_name(HTTPServer_v2) == "http-server-v2"


def test_serve_in_process_plain_parameters_become_body_fields() -> None:
    class Adder(fal.App):
        @fal.endpoint("/add")
        def add(self, a: int, b: int = 2) -> dict:
            return {"sum": a + b}

    client = TestClient(build_fastapi_app(Adder(_allow_init=True)))
    assert client.post("/add", json={"a": 1}).json() == {"sum": 3}
    assert client.post("/add", params={"a": 1}).status_code == 422


def test_serve_in_process_current_request_carries_headers() -> None:
    seen: list[RequestContext | None] = []

    class Recorder(fal.App):
        @fal.endpoint("/")
        def record(self, prompt: Prompt) -> Reply:
            seen.append(self.current_request)
            return Reply(text=prompt.text)

    client = TestClient(build_fastapi_app(Recorder(_allow_init=True)))
    response = client.post("/", json={"text": "hi"}, headers={"x-fal-request-id": "r1"})

    assert response.json() == {"text": "hi"}
    context = seen[0]
    assert context is not None
    assert context.request_id == "r1"
    assert context.endpoint == "/"
    assert context.headers["x-fal-request-id"] == "r1"


def test_openapi_describes_model_endpoints() -> None:
    class Described(fal.App):
        @fal.endpoint("/")
        def generate(self, prompt: Prompt) -> Reply:
            return Reply(text=prompt.text)

    document = Described.openapi()
    assert "/" in document["paths"]
    assert "post" in document["paths"]["/"]
    assert "Prompt" in document["components"]["schemas"]
    assert "Reply" in document["components"]["schemas"]


def test_cached_returns_remembered_result() -> None:
    calls: list[int] = []

    @fal.cached
    def load(size: int) -> int:
        calls.append(size)
        return size * 2

    assert load(2) == 4
    assert load(2) == 4
    assert calls == [2]
