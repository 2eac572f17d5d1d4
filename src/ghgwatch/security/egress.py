"""Outbound requests to user-given URLs (webhooks, command webhooks): refuse internal targets.

A webhook URL is user input; without a check it turns the platform into a proxy to its own network (loopback
services, cloud metadata at 169.254.169.254, private addresses). :func:`check_url` refuses such targets unless an
administrator allows them (``GHGWATCH_SECURITY__ALLOW_PRIVATE_TARGETS=true``: on-premise receivers, tests).
Names are resolved and every address is checked, at creation and again before each delivery (a name may be
re-pointed after it was accepted).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

ALLOWED_SCHEMES = frozenset({"http", "https"})


class UnsafeTarget(ValueError):
    """The URL is malformed, uses another scheme, or points at an internal address."""


def _is_internal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (address.is_private or address.is_loopback or address.is_link_local or address.is_multicast
            or address.is_reserved or address.is_unspecified or not address.is_global)


def parse_target(url: str) -> tuple[str, int]:
    """The host and port of an http(s) URL, or :class:`UnsafeTarget` saying what is wrong with it."""
    if len(url) > 2000:
        raise UnsafeTarget("URL longer than 2000 characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeTarget(f"not a valid URL: {exc}") from exc
    if parts.scheme not in ALLOWED_SCHEMES:
        raise UnsafeTarget("only http and https URLs are allowed")
    if not parts.hostname:
        raise UnsafeTarget("the URL has no host")
    if parts.username or parts.password:
        raise UnsafeTarget("credentials in the URL are not allowed (use the route's secret)")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def check_addresses(host: str, addresses: list[str], *, allow_private: bool) -> None:
    if allow_private:
        return
    for text in addresses:
        try:
            address = ipaddress.ip_address(text.split("%")[0])
        except ValueError:
            continue
        if _is_internal(address):
            raise UnsafeTarget(f"{host} resolves to an internal address ({address}); "
                               "an administrator can allow such targets with security.allow_private_targets")


async def check_url(url: str, *, allow_private: bool = False) -> None:
    """Raise :class:`UnsafeTarget` unless ``url`` is an http(s) URL whose host resolves only to public addresses."""
    host, port = parse_target(url)
    if allow_private:
        return
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    if literal is not None:
        check_addresses(host, [str(literal)], allow_private=False)
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise UnsafeTarget(f"cannot resolve {host}: {exc.strerror or exc}") from exc
    check_addresses(host, [str(info[4][0]) for info in infos], allow_private=False)
