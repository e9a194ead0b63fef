"""Webhook URL checks (a server-side request feature must not reach internal services).

A channel URL must be ``http``/``https`` without credentials, and every address its host
resolves to must be globally routable: loopback, private, link-local (cloud metadata at
169.254.169.254), unique-local, multicast, reserved and unspecified addresses are refused
unless the operator sets ``WEBHOOK_ALLOW_PRIVATE=true``. IPv6 forms that carry an IPv4
address (``::a.b.c.d``, ``::ffff:a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``) are
judged by the IPv4 address they carry; the deprecated IPv4-compatible block ``::/96`` is
refused outright. The check runs when a channel is created or changed and again before every
delivery, and the delivery connects to the address that was checked (``transport.py``), so a
name that resolves elsewhere a moment later (DNS rebinding) cannot redirect it. Redirects are
not followed, so a public URL cannot bounce to a private one.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from urllib.parse import SplitResult, urlsplit

from wagehood.errors import ValidationError

MAX_URL = 2000
Resolver = Callable[[str, int], list[str]]


def resolve(host: str, port: int) -> list[str]:
    """Return every address ``host`` resolves to (A and AAAA)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def check_url(url: str, allow_private: bool, resolver: Resolver = resolve) -> str:
    """Return ``url`` if it is an acceptable webhook target, else raise ``ValidationError``."""
    checked_addresses(url, allow_private, resolver)
    return url


def checked_addresses(url: str, allow_private: bool, resolver: Resolver = resolve) -> list[str]:
    """Return the checked addresses of ``url``'s host (none when private targets are allowed).

    Raises:
        ValidationError: the URL is malformed, its host does not resolve, or any of its
            addresses is not public.
    """
    parts = _split(url)
    host = parts.hostname or ""
    if allow_private:
        return []
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = resolver(host, port)
    except (OSError, UnicodeError) as error:
        raise ValidationError(f"cannot resolve webhook host {host!r}: {error}", "url") from error
    for address in addresses:
        if not is_public(address):
            raise ValidationError(
                f"webhook host {host!r} resolves to non-public address {address}; "
                "set WEBHOOK_ALLOW_PRIVATE=true to allow private targets",
                "url",
            )
    if not addresses:
        raise ValidationError(f"webhook host {host!r} has no address", "url")
    return addresses


def _split(url: object) -> SplitResult:
    if not isinstance(url, str) or not url or len(url) > MAX_URL:
        raise ValidationError(f"url must be a string of 1-{MAX_URL} characters", "url")
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as error:
        raise ValidationError(f"invalid url: {error}", "url") from error
    if parts.scheme not in ("http", "https"):
        raise ValidationError("url must start with http:// or https://", "url")
    if not parts.hostname:
        raise ValidationError("url has no host", "url")
    if parts.username or parts.password:
        raise ValidationError("url must not contain credentials", "url")
    return parts


def is_public(address: str) -> bool:
    """Return whether ``address`` is a globally routable unicast address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _IPV4_COMPATIBLE:
            return False
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return is_public(str(embedded))
    return ip.is_global and not ip.is_multicast


_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # deprecated (RFC 4291); ::1 and :: too
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    # The IPv4 address an IPv6 form carries: mapped, 6to4, or NAT64 (its last 32 bits).
    if ip.ipv4_mapped is not None or ip.sixtofour is not None:
        return ip.ipv4_mapped or ip.sixtofour
    if any(ip in network for network in _NAT64):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def redact(url: str) -> str:
    """Return ``url`` without anything after the host (paths often embed webhook tokens)."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(invalid url)"
    host = parts.hostname or ""
    tail = "/…" if parts.path.strip("/") or parts.query else ""
    return f"{parts.scheme}://{host}{port}{tail}"
