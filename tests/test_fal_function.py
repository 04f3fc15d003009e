"""fal.function against a real platform: remote result, remote exception."""

from __future__ import annotations

import traceback
from collections.abc import Iterator

import pytest

import fal
from fal.api.api import FalServerlessHost
from fal_platform.testing import RunningPlatform


class Odd(ValueError):
    """Raised by the remote function for odd numbers."""


@pytest.fixture(scope="module")
def host(platform: RunningPlatform) -> Iterator[FalServerlessHost]:
    serverless = FalServerlessHost(timeout=120)
    try:
        yield serverless
    finally:
        serverless.close()


def halve_with_six(value: int) -> dict[str, object]:
    import six  # only in the function's environment's requirements

    if value % 2:
        raise Odd(f"{value} is odd")
    return {"half": value // 2, "six": six.__version__}


def test_function_runs_remotely_with_its_requirements(
    host: FalServerlessHost,
) -> None:
    remote = fal.function(
        "virtualenv", host=host, requirements=["six"], machine_type="S"
    )(halve_with_six)

    first = remote(10)
    second = remote(4)

    assert first["half"] == 5
    assert first["six"]
    assert second["half"] == 2
    assert len(host._deployed) == 1  # one ephemeral app serves every call


def test_function_exception_reraised_with_remote_traceback(
    host: FalServerlessHost,
) -> None:
    remote = fal.function(host=host, requirements=["six"])(halve_with_six)

    with pytest.raises(Odd, match="7 is odd") as caught:
        remote(7)

    notes = "".join(getattr(caught.value, "__notes__", []))
    assert "Remote traceback" in notes
    assert "in halve_with_six" in notes
    assert "Odd: 7 is odd" in notes
    assert "halve_with_six" in "".join(traceback.format_exception(caught.value))


def test_function_close_deletes_its_apps(platform: RunningPlatform) -> None:
    serverless = FalServerlessHost(timeout=120)
    remote = fal.function(host=serverless, requirements=["six"])(halve_with_six)
    remote(2)
    alias = next(iter(serverless._deployed.values())).rsplit("/", 1)[-1]

    serverless.close()

    listing = platform.fal("apps", "list", "--json", check=True).stdout
    assert alias not in listing
