"""Building the registry's RegisterApplicationRequest from an App class."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import cloudpickle
import pytest

from fal.api import build_register_request
from fal.api.deploy import requirement_steps
from fal.sdk import DeploymentStrategy
from fal.utils import load_function_from
from fal_proto import registry_pb2

APP_SOURCE = """
import fal
from pydantic import BaseModel


class Prompt(BaseModel):
    text: str


class Painter(
    fal.App, machine_type=["GPU-H100", "GPU-A100"], keep_alive=300, max_concurrency=2
):
    requirements = [["setuptools"], ["numpy==2.0", "pillow"]]
    regions = ["eu-west"]
    num_gpus = 1
    min_concurrency = 1
    max_multiplexing = 4
    startup_timeout = 600
    skip_retry_conditions = ["timeout"]
    termination_grace_period_seconds = 20

    @fal.endpoint("/")
    def paint(self, prompt: Prompt) -> dict:
        return {"text": prompt.text}

    @fal.endpoint("/health-check", health_check=fal.HealthCheck(timeout_seconds=4))
    def check(self) -> dict:
        return {}
"""

LOCAL_MODULE_APP = """
import fal
import shout_helpers


class Shouter(fal.App):
    local_python_modules = ["shout_helpers"]

    @fal.endpoint("/")
    def shout(self, text: str) -> dict:
        return {"text": shout_helpers.shout(text)}
"""


@pytest.fixture
def painter_request(
    write_app: Callable[..., Path],
) -> registry_pb2.RegisterApplicationRequest:
    loaded = load_function_from(None, str(write_app(APP_SOURCE)))
    return build_register_request(
        loaded.function,
        environment_name="staging",
        deployment_strategy=DeploymentStrategy.RECREATE,
        ephemeral=True,
        reset_scale=True,
        source_code=loaded.source_code,
    )


def test_build_request_copies_app_settings(
    painter_request: registry_pb2.RegisterApplicationRequest,
) -> None:
    request = painter_request

    assert request.application_name == "painter"
    assert request.auth_mode == ""
    assert request.serialization_method == "cloudpickle"
    assert request.python_version == f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert [list(step.packages) for step in request.requirements] == [
        ["setuptools"],
        ["numpy==2.0", "pillow"],
    ]
    assert list(request.endpoints) == ["/", "/health-check"]
    assert request.environment_name == "staging"
    assert request.deployment_strategy == registry_pb2.DEPLOYMENT_STRATEGY_RECREATE
    assert request.ephemeral and request.reset_scale and request.scale
    assert list(request.skip_retry_conditions) == ["timeout"]
    assert request.termination_grace_period_seconds == 20
    assert "class Painter" in request.source_code


def test_build_request_machine_requirements_from_class(
    painter_request: registry_pb2.RegisterApplicationRequest,
) -> None:
    machine = painter_request.machine_requirements

    assert list(machine.machine_types) == ["GPU-H100", "GPU-A100"]
    assert machine.keep_alive == 300
    assert machine.max_concurrency == 2
    assert machine.min_concurrency == 1
    assert machine.max_multiplexing == 4
    assert machine.num_gpus == 1
    assert machine.startup_timeout == 600
    assert list(machine.valid_regions) == ["eu-west"]
    assert not machine.HasField("request_timeout")


def test_build_request_health_check_and_openapi_metadata(
    painter_request: registry_pb2.RegisterApplicationRequest,
) -> None:
    health = painter_request.health_check_config
    metadata = json.loads(painter_request.metadata_json)

    assert health.path == "/health-check"
    assert health.timeout_seconds == 4
    assert not health.HasField("failure_threshold")
    assert "/" in metadata["openapi"]["paths"]
    assert "Prompt" in metadata["openapi"]["components"]["schemas"]


def test_build_request_payload_unpickles_to_the_app(
    painter_request: registry_pb2.RegisterApplicationRequest,
) -> None:
    app_class = cloudpickle.loads(painter_request.serialized_function)

    assert app_class.__name__ == "Painter"
    assert app_class.get_endpoints() == ["/", "/health-check"]


def test_build_request_payload_carries_local_modules(
    write_app: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_app(LOCAL_MODULE_APP)
    (path.parent / "shout_helpers.py").write_text(
        "def shout(text):\n    return text.upper() + '!'\n"
    )
    loaded = load_function_from(None, str(path))
    payload = tmp_path / "payload"
    payload.write_bytes(build_register_request(loaded.function).serialized_function)

    # A fresh interpreter elsewhere has neither the app file nor the helper.
    script = (
        "import sys, cloudpickle\n"
        "app = cloudpickle.loads(open(sys.argv[1], 'rb').read())\n"
        "print(app(_allow_init=True).shout('hey')['text'])\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", script, str(payload)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert output.stdout.strip() == "HEY!"


def test_build_request_explicit_name_and_auth_win(
    write_app: Callable[..., Path],
) -> None:
    loaded = load_function_from(None, str(write_app(APP_SOURCE)))

    request = build_register_request(
        loaded.function, application_name="art", auth_mode="public"
    )

    assert request.application_name == "art"
    assert request.auth_mode == "public"
    assert request.deployment_strategy == registry_pb2.DEPLOYMENT_STRATEGY_ROLLING


def test_build_request_bad_auth_mode_raises_value_error(
    write_app: Callable[..., Path],
) -> None:
    loaded = load_function_from(None, str(write_app(APP_SOURCE)))

    with pytest.raises(ValueError, match="'secret'"):
        build_register_request(loaded.function, auth_mode="secret")


def test_requirement_steps_accepts_flat_and_nested_lists() -> None:
    assert requirement_steps([]) == []
    assert requirement_steps(["a", "b"]) == [["a", "b"]]
    assert requirement_steps([["a"], ["b", "c"]]) == [["a"], ["b", "c"]]


def test_requirement_steps_mixed_list_raises_type_error() -> None:
    with pytest.raises(TypeError, match="list of package specifiers"):
        requirement_steps(["a", ["b"]])


IMAGE_ENDPOINT_APP = """
import fal


class Toolkit(fal.App):
    @fal.endpoint("/image")
    def image(self) -> dict:
        return {}
"""


def test_build_request_image_endpoint_raises_reserved_name_error(
    write_app: Callable[..., Path],
) -> None:
    loaded = load_function_from(None, str(write_app(IMAGE_ENDPOINT_APP)))

    with pytest.raises(ValueError, match="'image' is a reserved App attribute"):
        build_register_request(loaded.function)
