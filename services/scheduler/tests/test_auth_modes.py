"""The gateway's app auth modes: public and shared apps need no key."""

from __future__ import annotations

import httpx
import pytest
from scheduler_helpers import OTHER_KEY, FakeRegistry, stand_in_app


@pytest.mark.parametrize("auth_mode", ["public", "shared"])
async def test_call_public_or_shared_app_without_key_succeeds(
    gateway: httpx.AsyncClient,
    fake_registry: tuple[FakeRegistry, str],
    auth_mode: str,
) -> None:
    fake_registry[0].apps[("local", "echo")] = stand_in_app(auth_mode=auth_mode)

    anonymous = await gateway.post("/local/echo", json={})
    other = await gateway.post(
        "/local/echo",
        json={},
        headers={"Authorization": f"Key {OTHER_KEY[0]}:{OTHER_KEY[1]}"},
    )

    assert (anonymous.status_code, other.status_code) == (200, 200)


async def test_call_private_app_of_other_owner_is_404(
    gateway: httpx.AsyncClient, fake_registry: tuple[FakeRegistry, str]
) -> None:
    fake_registry[0].apps[("local", "echo")] = stand_in_app(auth_mode="private")

    response = await gateway.post(
        "/local/echo",
        json={},
        headers={"Authorization": f"Key {OTHER_KEY[0]}:{OTHER_KEY[1]}"},
    )

    assert response.status_code == 404
