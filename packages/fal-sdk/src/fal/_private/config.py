"""The client configuration file: profiles of hosts and keys in TOML."""

from __future__ import annotations

import os
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import tomli_w

from fal.exceptions import ConfigError, ProfileNotFoundError

INTERNAL_SECTION = "__internal__"


class Config:
    """Profiles read from ``FAL_CONFIG_PATH`` or ``~/.fal/config.toml``.

    Changes stay in memory until ``save()``. The file holds keys, so it is
    written with mode 0600.
    """

    DEFAULT_CONFIG_PATH = "~/.fal/config.toml"

    def __init__(
        self, *, validate_profile: bool = False, profile: str | None = None
    ) -> None:
        self.path = config_path()
        self._data = _read(self.path)
        self._profile: str | None = None
        selected = profile or os.environ.get("FAL_PROFILE") or None
        selected = selected or self.get_internal("profile")
        if selected and validate_profile and selected not in self._data:
            raise ProfileNotFoundError(
                f"Profile {selected!r} is not in {self.path}; pick one of "
                f"{', '.join(self.profiles()) or '(none yet)'} or create it."
            )
        self._profile = selected

    @property
    def profile(self) -> str | None:
        """The profile ``get`` and ``set`` work on."""
        return self._profile

    @profile.setter
    def profile(self, value: str | None) -> None:
        if value and value not in self._data:
            self._data[value] = {}
        self._profile = value

    def profiles(self) -> list[str]:
        """Names of every profile in the file."""
        return [name for name in self._data if name != INTERNAL_SECTION]

    def get(self, key: str) -> str | None:
        if not self._profile:
            return None
        return _as_text(self._data.get(self._profile, {}).get(key))

    def set(self, key: str, value: str) -> None:
        self._section(self._require_profile())[key] = value

    def unset(self, key: str) -> None:
        if self._profile:
            self._data.get(self._profile, {}).pop(key, None)

    def get_internal(self, key: str) -> str | None:
        return _as_text(self._data.get(INTERNAL_SECTION, {}).get(key))

    def set_internal(self, key: str, value: str) -> None:
        self._section(INTERNAL_SECTION)[key] = value

    def unset_internal(self, key: str) -> None:
        self._data.get(INTERNAL_SECTION, {}).pop(key, None)

    def delete_profile(self, profile: str) -> None:
        """Remove a profile, and stop selecting it if it was selected."""
        if profile not in self.profiles():
            raise ProfileNotFoundError(f"Profile {profile!r} is not in {self.path}.")
        del self._data[profile]
        if self.get_internal("profile") == profile:
            self.unset_internal("profile")
        if self._profile == profile:
            self._profile = None

    def save(self) -> None:
        """Write the configuration, creating its directory (mode 0600)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {name: section for name, section in self._data.items() if section}
        descriptor, temporary = tempfile.mkstemp(
            dir=self.path.parent, prefix=".config-", suffix=".toml"
        )
        try:
            with os.fdopen(descriptor, "wb") as file:
                tomli_w.dump(data, file)
            os.chmod(temporary, 0o600)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def _section(self, name: str) -> dict[str, Any]:
        section = self._data.setdefault(name, {})
        if not isinstance(section, dict):
            raise ConfigError(f"[{name}] in {self.path} is not a table.")
        return section

    def _require_profile(self) -> str:
        if not self._profile:
            raise ConfigError(
                "No profile is selected; set FAL_PROFILE, pass profile=..., or "
                "select one with `fal profile set NAME`."
            )
        return self._profile


def config_path() -> Path:
    """Where the configuration file lives: ``FAL_CONFIG_PATH`` or the default."""
    configured = os.environ.get("FAL_CONFIG_PATH") or Config.DEFAULT_CONFIG_PATH
    return Path(configured).expanduser()


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
