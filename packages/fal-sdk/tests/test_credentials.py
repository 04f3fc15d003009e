"""Where the SDK finds its API key, and how it presents it."""

from __future__ import annotations

from pathlib import Path

import pytest

from fal.exceptions import CredentialsError, MissingCredentialsError
from fal.sdk import FalServerlessKeyCredentials, get_credentials


def write_profile_key(path: Path, key: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'[__internal__]\nprofile = "p"\n[p]\nkey = "{key}"\n')


def test_to_headers_returns_key_authorization() -> None:
    credentials = FalServerlessKeyCredentials("id", "s3cr3t")

    assert credentials.to_headers() == {"Authorization": "Key id:s3cr3t"}
    assert credentials.to_grpc_metadata() == (("authorization", "Key id:s3cr3t"),)
    assert "s3cr3t" not in repr(credentials)


def test_get_credentials_prefers_fal_key(
    isolated_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_profile_key(isolated_config, "profile:key")
    monkeypatch.setenv("FAL_KEY_ID", "env-id")
    monkeypatch.setenv("FAL_KEY_SECRET", "env-secret")
    monkeypatch.setenv("FAL_KEY", "fal:key")

    assert get_credentials() == FalServerlessKeyCredentials("fal", "key")


def test_get_credentials_profile_key_beats_key_id_pair(
    isolated_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_profile_key(isolated_config, "profile:key")
    monkeypatch.setenv("FAL_KEY_ID", "env-id")
    monkeypatch.setenv("FAL_KEY_SECRET", "env-secret")

    assert get_credentials() == FalServerlessKeyCredentials("profile", "key")


def test_get_credentials_falls_back_to_key_id_pair(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAL_KEY_ID", "env-id")
    monkeypatch.setenv("FAL_KEY_SECRET", "env-secret")

    assert get_credentials() == FalServerlessKeyCredentials("env-id", "env-secret")


def test_get_credentials_explicit_key_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAL_KEY", "fal:key")

    assert get_credentials(key="given:key") == FalServerlessKeyCredentials(
        "given", "key"
    )


def test_get_credentials_without_key_raises_missing() -> None:
    with pytest.raises(MissingCredentialsError, match="FAL_KEY"):
        get_credentials()


def test_get_credentials_malformed_key_raises_credentials_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAL_KEY", "no-colon-here")

    with pytest.raises(CredentialsError, match="malformed"):
        get_credentials()
