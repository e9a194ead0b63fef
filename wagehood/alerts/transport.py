"""The HTTP client of webhook deliveries: connected to the address that was checked.

``urls.checked_addresses`` resolves a channel's host and refuses non-public addresses; if
httpx then resolved the name again, a DNS server answering "public" to the check and
"127.0.0.1" to the connection (DNS rebinding) would send the delivery to an internal
service. ``client(address, ...)`` therefore gives httpx a network backend that opens its TCP
connection to ``address`` whatever the URL's host name is, while the URL still decides the
``Host`` header and the TLS server name (SNI) and certificate check. Proxy variables
(``HTTP_PROXY``, ``ALL_PROXY``...) are ignored (``trust_env=False``): they would route
around the check.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpcore

from wagehood.alerts.urls import Resolver, resolve

if TYPE_CHECKING:
    import httpx


@dataclass(frozen=True)
class Network:
    """How deliveries reach the network: the resolver the check uses, the socket layer."""

    resolver: Resolver = resolve
    backend: httpcore.NetworkBackend | None = None


class PinnedBackend(httpcore.NetworkBackend):
    """A network backend that connects every TCP stream to one address (the checked one)."""

    def __init__(self, address: str, inner: httpcore.NetworkBackend | None = None) -> None:
        """Connect to ``address`` through ``inner`` (default: httpcore's sync backend)."""
        self.address = address
        self.inner = inner or httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        """Open the stream to the pinned address (``host`` is only the URL's name)."""
        return self.inner.connect_tcp(self.address, port, timeout, local_address, socket_options)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        """Refuse: webhooks go over TCP only."""
        raise httpcore.ConnectError("webhooks do not use unix sockets")

    def sleep(self, seconds: float) -> None:
        """Sleep as the inner backend does."""
        self.inner.sleep(seconds)


def client(
    address: str | None, timeout: float, backend: httpcore.NetworkBackend | None = None
) -> httpx.Client:
    """Return an httpx client for one delivery, pinned to ``address`` when one is given.

    ``address`` is None only when the operator allowed private targets (nothing was
    checked, so there is nothing to pin). ``backend`` is the test seam under the pinning.
    """
    import httpx  # noqa: PLC0415 - lazily: importing httpx loads click (tests/test_imports.py)

    transport = httpx.HTTPTransport(trust_env=False)
    if address is not None:
        # httpx exposes no network-backend option; its transport is a thin shell around
        # this httpcore pool, built here the way httpx builds it, with the pinned backend.
        transport._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            network_backend=PinnedBackend(address, backend),
        )
    return httpx.Client(
        transport=transport, timeout=timeout, follow_redirects=False, trust_env=False
    )
