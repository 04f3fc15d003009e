"""A small key-value store per owner, kept by the filestore."""

from __future__ import annotations

import re
from urllib.parse import quote

import httpx

from fal.toolkit.exceptions import KVStoreException
from fal.upload import FileStoreError, filestore_client

DEFAULT_TTL = 30 * 24 * 3600
MIN_TTL = 60
MAX_TTL = DEFAULT_TTL
# The filestore keeps each key as a blob named after it, hence the rule.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,254}$")
# Answers of 404 that mean "no such key" rather than a failure.
ABSENT_OK = frozenset({"GET", "DELETE"})


class KVStore:
    """String values under string keys in the database ``db_name``."""

    def __init__(self, db_name: str, *, filestore_url: str | None = None) -> None:
        self.db_name = db_name
        self._filestore_url = filestore_url
        self._client: httpx.Client | None = None

    def get(self, key: str) -> str | None:
        """The value of ``key``, or None when it is unset or expired."""
        response = self._send("GET", key)
        return None if response.status_code == 404 else response.text

    def set(self, key: str, value: str, ttl: int = DEFAULT_TTL) -> None:
        """Set ``key`` to ``value`` for ``ttl`` seconds (60 s to 30 days)."""
        if not MIN_TTL <= ttl <= MAX_TTL:
            raise KVStoreException(
                f"TTL {ttl} s is out of range; use {MIN_TTL} to {MAX_TTL} seconds."
            )
        self._send("PUT", key, content=value.encode(), params={"ttl": ttl})

    def delete(self, key: str) -> None:
        """Remove ``key``; removing a missing key is not an error."""
        self._send("DELETE", key)

    def _send(self, method: str, key: str, **kwargs: object) -> httpx.Response:
        _check_name(self.db_name, "Database")
        _check_name(key, "Key")
        path = f"/kv/{quote(self.db_name, safe='')}/{quote(key, safe='')}"
        try:
            response = self._http().request(method, path, **kwargs)  # type: ignore[arg-type]
        except (httpx.HTTPError, FileStoreError) as error:
            raise KVStoreException(f"The KV store is unreachable: {error}") from error
        if response.is_success:
            return response
        if response.status_code == 404 and method in ABSENT_OK:
            return response
        raise KVStoreException(
            f"KV {method} of key {key!r} in {self.db_name!r} failed with "
            f"{response.status_code}: {_detail(response)}"
        )

    def _http(self) -> httpx.Client:
        if self._client is None:
            self._client = filestore_client(self._filestore_url, timeout=30)
        return self._client


def _check_name(name: str, what: str) -> None:
    if not NAME_PATTERN.match(name):
        raise KVStoreException(
            f"{what} name {name!r} is not allowed: use 1 to 255 letters, digits "
            "and '_.:-' (no '/'), starting with a letter or digit."
        )


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", response.text))
    except ValueError:
        return response.text
