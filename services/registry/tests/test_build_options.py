"""What the registry forwards to the scheduler's build: no_cache, images."""

from __future__ import annotations

import json

import grpc
import pytest

from fal_registry.testing import FakeScheduler, RunningRegistry


async def test_register_no_cache_is_forwarded_to_build(
    registry: RunningRegistry, scheduler: FakeScheduler
) -> None:
    await registry.register("cached")
    await registry.register("rebuilt", no_cache=True)

    assert "no_cache" not in scheduler.requests[0]
    assert scheduler.requests[1]["no_cache"] is True


async def test_register_container_image_is_forwarded_to_build(
    registry: RunningRegistry, scheduler: FakeScheduler
) -> None:
    image = {"dockerfile_str": "FROM python:3.11\n", "build_args": {"A": "1"}}

    await registry.register("boxed", container_image_json=json.dumps(image))

    assert scheduler.requests[0]["container_image"] == image


@pytest.mark.parametrize(
    ("value", "expected"),
    [("{not json", "not valid JSON"), ('{"build_args": {}}', "dockerfile_str")],
)
async def test_register_bad_container_image_is_invalid_argument(
    registry: RunningRegistry, scheduler: FakeScheduler, value: str, expected: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await registry.register("boxed", container_image_json=value)

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert expected in (raised.value.details() or "")
    assert scheduler.requests == []
