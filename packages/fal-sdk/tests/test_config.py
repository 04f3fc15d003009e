"""The client configuration file and the settings read from it."""

from __future__ import annotations

import stat
import tomllib
from pathlib import Path

import pytest

from fal._private.settings import get_grpc_host, get_run_url, use_plaintext
from fal.config import Config
from fal.exceptions import ConfigError, ProfileNotFoundError


def write_config(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_save_round_trips_profiles_with_private_mode(isolated_config: Path) -> None:
    config = Config(profile="local")
    config.set("host", "127.0.0.1:7081")
    config.set("key", "id:secret")
    config.set_internal("profile", "local")
    config.save()

    assert stat.S_IMODE(isolated_config.stat().st_mode) == 0o600
    assert tomllib.loads(isolated_config.read_text()) == {
        "local": {"host": "127.0.0.1:7081", "key": "id:secret"},
        "__internal__": {"profile": "local"},
    }
    reread = Config()
    assert reread.profile == "local"
    assert reread.get("key") == "id:secret"
    assert reread.profiles() == ["local"]


def test_profile_selection_prefers_argument_then_env_then_file(
    isolated_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(
        isolated_config,
        '[__internal__]\nprofile = "a"\n[a]\nhost = "a:1"\n[b]\nhost = "b:1"\n'
        '[c]\nhost = "c:1"\n',
    )
    assert Config().get("host") == "a:1"

    monkeypatch.setenv("FAL_PROFILE", "b")
    assert Config().get("host") == "b:1"
    assert Config(profile="c").get("host") == "c:1"


def test_config_path_env_var_moves_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere" / "fal.toml"
    monkeypatch.setenv("FAL_CONFIG_PATH", str(elsewhere))
    config = Config(profile="p")
    config.set("key", "a:b")
    config.save()

    assert elsewhere.exists()
    assert Config.DEFAULT_CONFIG_PATH == "~/.fal/config.toml"


def test_validate_profile_unknown_raises_profile_not_found() -> None:
    with pytest.raises(ProfileNotFoundError, match="'ghost'"):
        Config(validate_profile=True, profile="ghost")


def test_set_without_profile_raises_config_error() -> None:
    with pytest.raises(ConfigError, match="No profile is selected"):
        Config().set("key", "a:b")


def test_get_without_profile_returns_none() -> None:
    assert Config().get("key") is None


def test_unset_and_delete_profile_remove_entries(isolated_config: Path) -> None:
    write_config(
        isolated_config,
        '[__internal__]\nprofile = "a"\n[a]\nkey = "x:y"\nhost = "h"\n'
        '[b]\nhost = "b"\n',
    )
    config = Config()
    config.unset("key")
    assert config.get("key") is None
    config.delete_profile("a")
    config.save()

    reread = Config()
    assert reread.profile is None
    assert reread.profiles() == ["b"]
    assert reread.get_internal("profile") is None


def test_delete_profile_unknown_raises_profile_not_found() -> None:
    with pytest.raises(ProfileNotFoundError):
        Config().delete_profile("ghost")


def test_read_invalid_toml_raises_config_error(isolated_config: Path) -> None:
    write_config(isolated_config, "this is = = not toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        Config()


def test_grpc_host_env_beats_profile_beats_default(
    isolated_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert get_grpc_host() == "127.0.0.1:7081"
    write_config(isolated_config, '[__internal__]\nprofile = "p"\n[p]\nhost = "p:1"\n')
    assert get_grpc_host() == "p:1"
    monkeypatch.setenv("FAL_HOST", "host:2")
    assert get_grpc_host() == "host:2"
    monkeypatch.setenv("FAL_GRPC_HOST", "grpc:3")
    assert get_grpc_host() == "grpc:3"


def test_run_url_env_beats_profile_beats_default(
    isolated_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert get_run_url() == "http://127.0.0.1:7080"
    write_config(
        isolated_config, '[__internal__]\nprofile = "p"\n[p]\nrun_url = "http://p/"\n'
    )
    assert get_run_url() == "http://p"
    monkeypatch.setenv("FAL_RUN_HOST", "run.example.com")
    assert get_run_url() == "https://run.example.com"
    monkeypatch.setenv("FAL_RUN_URL", "http://gateway:9000")
    assert get_run_url() == "http://gateway:9000"


def test_use_plaintext_for_loopback_flags_and_profile(
    isolated_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert use_plaintext("127.0.0.1:7081")
    assert use_plaintext("localhost:7081")
    assert use_plaintext("[::1]:7081")
    assert not use_plaintext("registry.example.com:443")

    write_config(
        isolated_config,
        '[__internal__]\nprofile = "p"\n[p]\ngrpc_insecure = "true"\n',
    )
    assert use_plaintext("registry.example.com:443")

    isolated_config.unlink()
    monkeypatch.setenv("FAL_GRPC_INSECURE", "1")
    assert use_plaintext("registry.example.com:443")
