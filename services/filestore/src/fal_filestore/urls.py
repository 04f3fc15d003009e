"""Which URLs the filestore may fetch on a caller's behalf."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


class UnsafeURLError(ValueError):
    """A URL that points at a private, loopback or otherwise internal address."""


def check_fetchable_url(url: str, *, allow_private: bool) -> str:
    """Return ``url`` when it is http(s) to a public address, else raise.

    Every address the host name resolves to must be public; this refuses
    loopback, private, link-local (cloud metadata), multicast and reserved
    ranges unless the operator allows private addresses.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeURLError(f"URL {url!r} must be an http or https URL with a host.")
    if allow_private:
        return url
    for address in _addresses(parts.hostname, url):
        if not address.is_global:
            raise UnsafeURLError(
                f"URL {url!r} resolves to the non-public address {address}; "
                "the operator must allow private addresses to fetch from it."
            )
    return url


def _addresses(
    host: str, url: str
) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as error:
        raise UnsafeURLError(f"Host of URL {url!r} does not resolve.") from error
    return [ipaddress.ip_address(info[4][0]) for info in infos]
