"""Translate the machine's pip configuration into uv command-line flags.

uv does not read pip's configuration files or ``PIP_*`` variables, yet an
operator who pointed pip at a mirror, a wheel directory or a constraint file
expects app environments to honour them. ``IndexSettings.from_pip`` reads
pip's effective configuration and ``IndexSettings.uv_flags`` renders it.
"""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["IndexSettings", "parse_pip_config_list"]

# pip's "config list" prints `<section>.<option>='<value>'`; sections are
# "global", "install" or ":env:" (PIP_* variables). Later sections win.
_SECTION_ORDER = ("global", "install", ":env:")
_OPTIONS = ("index-url", "extra-index-url", "find-links", "constraint", "no-index")


@dataclass(frozen=True)
class IndexSettings:
    """Where packages come from, as pip would see it on this machine."""

    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    constraints: tuple[str, ...] = ()
    no_index: bool = False

    @classmethod
    def from_options(cls, options: Mapping[str, str]) -> IndexSettings:
        """Build from pip option names (``extra-index-url``...) to raw values."""
        return cls(
            index_url=options.get("index-url") or None,
            extra_index_urls=tuple(_split(options.get("extra-index-url", ""))),
            find_links=tuple(_split(options.get("find-links", ""))),
            constraints=tuple(_split(options.get("constraint", ""))),
            no_index=_truthy(options.get("no-index", "")),
        )

    @classmethod
    def from_pip(cls, environ: Mapping[str, str] | None = None) -> IndexSettings:
        """Read pip's effective configuration: config files, then PIP_* vars."""
        environ = os.environ if environ is None else environ
        listing = _pip_config_list()
        options = (
            parse_pip_config_list(listing)
            if listing is not None
            else _read_pip_config_files(environ)
        )
        options.update(_options_from_environ(environ))
        return cls.from_options(options)

    def uv_flags(self) -> list[str]:
        """Render as ``uv pip install`` flags."""
        flags: list[str] = []
        if self.no_index:
            flags.append("--no-index")
        if self.index_url:
            flags += ["--index-url", self.index_url]
        for url in self.extra_index_urls:
            flags += ["--extra-index-url", url]
        for location in self.find_links:
            flags += ["--find-links", location]
        for constraint in self.constraints:
            flags += ["--constraint", constraint]
        if self._index_count() > 1:
            # pip picks the best version across every index; uv's default
            # stops at the first index that has the package.
            flags += ["--index-strategy", "unsafe-best-match"]
        return flags

    def as_json(self) -> dict[str, object]:
        """A JSON-ready form, part of the environment key."""
        return {
            "index_url": self.index_url,
            "extra_index_urls": list(self.extra_index_urls),
            "find_links": list(self.find_links),
            "constraints": [_constraint_fingerprint(c) for c in self.constraints],
            "no_index": self.no_index,
        }

    def _index_count(self) -> int:
        if self.no_index:
            return 0
        # Without --index-url, PyPI is the implicit first index.
        return 1 + len(self.extra_index_urls)


def parse_pip_config_list(listing: str) -> dict[str, str]:
    """Parse ``pip config list`` output into option name -> value."""
    by_section: dict[str, dict[str, str]] = {}
    for line in listing.splitlines():
        key, sep, raw_value = line.partition("=")
        if not sep:
            continue
        section, dot, option = key.strip().rpartition(".")
        if not dot or option not in _OPTIONS:
            continue
        by_section.setdefault(section, {})[option] = _unquote(raw_value.strip())
    options: dict[str, str] = {}
    for section in _SECTION_ORDER:
        options.update(by_section.get(section, {}))
    return options


def _pip_config_list() -> str | None:
    for command in _pip_commands():
        try:
            completed = subprocess.run(
                [*command, "config", "list"],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if completed.returncode == 0:
            return completed.stdout
    return None


def _pip_commands() -> list[Sequence[str]]:
    commands: list[Sequence[str]] = [[sys.executable, "-m", "pip"]]
    for name in ("pip3", "pip"):
        found = shutil.which(name)
        if found:
            commands.append([found])
    return commands


def _read_pip_config_files(environ: Mapping[str, str]) -> dict[str, str]:
    """Fallback when no pip is installed: read pip's config files directly."""
    home = Path(environ.get("HOME", str(Path.home())))
    xdg_dirs = environ.get("XDG_CONFIG_DIRS", "/etc/xdg").split(":")
    files = [Path(d) / "pip" / "pip.conf" for d in xdg_dirs if d]
    files += [Path("/etc/pip.conf"), home / ".pip" / "pip.conf"]
    files.append(
        Path(environ.get("XDG_CONFIG_HOME", str(home / ".config"))) / "pip/pip.conf"
    )
    if environ.get("PIP_CONFIG_FILE"):
        files.append(Path(environ["PIP_CONFIG_FILE"]))
    options: dict[str, str] = {}
    for path in files:
        parser = configparser.RawConfigParser()
        try:
            parser.read(path)
        except configparser.Error:
            continue
        for section in ("global", "install"):
            if parser.has_section(section):
                for option in _OPTIONS:
                    if parser.has_option(section, option):
                        options[option] = parser.get(section, option)
    return options


def _options_from_environ(environ: Mapping[str, str]) -> dict[str, str]:
    options = {}
    for option in _OPTIONS:
        variable = "PIP_" + option.upper().replace("-", "_")
        if environ.get(variable):
            options[option] = environ[variable]
    return options


def _constraint_fingerprint(path: str) -> str:
    try:
        return path + ":" + Path(path).read_text()
    except OSError:
        return path


def _split(value: str) -> list[str]:
    return value.split()


def _truthy(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value
