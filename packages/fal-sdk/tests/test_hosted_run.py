"""define_environment, app-file manifests and how register() applies them."""

from __future__ import annotations

import json

import grpc
import pytest

import fal
from fal._private.hosted_run import (
    EnvironmentDefinition,
    apply_environment,
    define_environment,
    files_manifest,
)
from fal._private.register import build_register_request
from fal.container import ContainerImage
from fal.sdk import FalServerlessConnection, FalServerlessKeyCredentials
from fal_proto import registry_pb2


class Tiny(fal.App):
    requirements = ["six"]

    @fal.endpoint("/")
    def hello(self) -> dict:
        return {}


def connection() -> FalServerlessConnection:
    channel = grpc.insecure_channel("127.0.0.1:9")  # never reached
    return FalServerlessConnection(
        "127.0.0.1:9", FalServerlessKeyCredentials("id", "secret"), channel
    )


def test_define_environment_virtualenv_returns_checked_definition() -> None:
    definition = connection().define_environment(
        "virtualenv", requirements=["six", "attrs"], python_version="3.12"
    )

    assert definition == EnvironmentDefinition(
        "virtualenv",
        {"requirements": [["six", "attrs"]], "python_version": "3.12"},
        False,
    )


def test_define_environment_container_keeps_image_and_force() -> None:
    image = ContainerImage.from_dockerfile_str("FROM python:3.12-slim")

    definition = define_environment("container", force=True, image=image)

    assert definition.kind == "container"
    assert definition.configuration["image"] is image
    assert definition.force is True


def test_define_environment_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match=r"'conda'.*container, virtualenv"):
        define_environment("conda", requirements=["six"])


def test_define_environment_unknown_option_is_refused() -> None:
    with pytest.raises(ValueError, match="does not take image"):
        define_environment("virtualenv", image="python:3.12")


def test_define_environment_container_without_image_is_refused() -> None:
    with pytest.raises(ValueError, match="needs image"):
        define_environment("container", requirements=["six"])


def test_define_environment_bad_requirements_are_refused() -> None:
    with pytest.raises(TypeError, match="requirements must be"):
        define_environment("virtualenv", requirements=[1, 2])


def test_define_environment_non_string_python_version_is_refused() -> None:
    with pytest.raises(ValueError, match=r"python_version is 3\.12"):
        define_environment("virtualenv", python_version=3.12)


def test_apply_environment_replaces_requirements_and_sets_image() -> None:
    request = registry_pb2.RegisterApplicationRequest(
        requirements=[registry_pb2.RequirementStep(packages=["six"])]
    )
    image = ContainerImage.from_dockerfile_str("FROM python:3.12-slim")
    definition = define_environment(
        "container", force=True, image=image, requirements=["attrs"]
    )

    apply_environment(request, definition)

    assert [list(step.packages) for step in request.requirements] == [["attrs"]]
    assert json.loads(request.container_image_json)["dockerfile_str"]
    assert request.no_cache is True


def test_files_manifest_accepts_metadata_dicts_and_fills_defaults() -> None:
    manifest = files_manifest([{"hash": "abc", "relative_path": "./data/a.txt"}])

    assert manifest == [
        {"hash": "abc", "relative_path": "data/a.txt", "mode": "420", "size": "0"}
    ]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"relative_path": "a.txt"}, "files\\[0\\] has no hash"),
        ({"hash": "abc", "relative_path": "../a.txt"}, "outside"),
        ({"hash": "abc", "relative_path": "a", "mode": "rw"}, "mode 'rw'"),
        ("a.txt", "files\\[0\\] is 'a.txt'"),
    ],
)
def test_files_manifest_bad_entry_is_refused(entry: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        files_manifest([entry])


def test_build_register_request_carries_files_manifest() -> None:
    manifest = files_manifest([{"hash": "abc", "relative_path": "a.txt"}])

    request = build_register_request(Tiny, files=manifest)

    assert json.loads(request.metadata_json)["app_files"] == manifest


def test_register_files_with_prebuilt_request_is_refused() -> None:
    request = build_register_request(Tiny)

    with pytest.raises(ValueError, match="needs the App class"):
        next(
            connection().register(
                request, files=[{"hash": "abc", "relative_path": "a.txt"}]
            )
        )


def test_register_two_environments_is_refused() -> None:
    first = define_environment("virtualenv")

    with pytest.raises(ValueError, match="one EnvironmentDefinition"):
        next(connection().register(Tiny, [first, first]))


def test_run_other_serialization_method_is_refused() -> None:
    with pytest.raises(ValueError, match="'dill'"):
        connection().run(print, None, serialization_method="dill")
