"""Which URLs the checker may fetch at all.

A pull request can add any URL to the catalog, and CI fetches it. Without this
policy a URL such as ``http://169.254.169.254/`` or one whose name resolves to
``10.0.0.5`` would make CI probe its own network. So before every request (each
redirect hop included) the host name is resolved and *every* address it
resolves to must be public.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import SplitResult, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]


class UrlRefused(Exception):
    """The URL must not be fetched; the message says why and how to fix it."""


class HostUnresolvable(Exception):
    """DNS has no address for the host (the link is broken, not invalid)."""


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for ``host``."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({info[4][0] for info in infos})


def is_public(address: IPAddress) -> bool:
    """True for a globally routable unicast address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is loopback in disguise
    # is_global is False for private, loopback, link-local, reserved, shared
    # (100.64/10) and documentation ranges; multicast can be "global" but is
    # never a web server.
    return address.is_global and not address.is_multicast


def _describe(address: IPAddress) -> str:
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address.is_unspecified:
        return "unspecified"
    if address.is_private:
        return "private"
    return "reserved"


@dataclass
class AddressPolicy:
    """Refuses non-http(s) URLs, credentials and non-public addresses.

    ``allow_private`` lifts the address rule entirely (tests and local mirrors).
    ``allowed_networks`` lifts it for some networks only: tests use it to treat
    one loopback address as "public" and check that a redirect from it into
    another is still refused.
    """

    allow_private: bool = False
    allowed_networks: tuple[str, ...] = ()
    resolver: Resolver = system_resolver
    _networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._networks = [ipaddress.ip_network(n, strict=False) for n in self.allowed_networks]

    def check_syntax(self, url: str) -> SplitResult:
        """Refuse what no fetch can fix: scheme, credentials, missing or bad host."""
        try:
            parts = urlsplit(url)
            port = parts.port  # raises on a port that is not a number in range
        except ValueError as err:
            raise UrlRefused(f"malformed URL ({err}); fix the typo") from None
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            what = f"'{scheme}:'" if scheme else "no scheme"
            raise UrlRefused(f"{what} is not checked: only http and https URLs are")
        if parts.username is not None or parts.password is not None:
            raise UrlRefused("the URL carries credentials (user@host); remove them from the catalog")
        if not parts.hostname:
            raise UrlRefused("the URL has no host name")
        del port
        return parts

    def check(self, url: str) -> SplitResult:
        """Raise `UrlRefused` or `HostUnresolvable` unless ``url`` may be fetched."""
        return self.check_resolved(url)[0]

    def check_resolved(self, url: str) -> tuple[SplitResult, list[str]]:
        """As `check`, also returning the vetted addresses (empty when not resolved).

        The caller connects to exactly these addresses, so a DNS answer that
        changes between the check and the connection (rebinding) cannot slip
        a private address in.
        """
        parts = self.check_syntax(url)
        if self.allow_private:
            return parts, []
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
        try:
            addresses = self.resolver(host, port)
        except (socket.gaierror, UnicodeError) as err:
            raise HostUnresolvable(f"DNS lookup of {host} failed ({err})") from None
        if not addresses:
            raise HostUnresolvable(f"DNS lookup of {host} returned no address")
        for text in addresses:
            address = ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone id
            if not is_public(address) and not self._allowed(address):
                raise UrlRefused(
                    f"{host} resolves to {address}, a {_describe(address)} address; "
                    "only public addresses are checked (--allow-private lifts this)"
                )
        return parts, list(addresses)

    def _allowed(self, address: IPAddress) -> bool:
        return any(address in net for net in self._networks if net.version == address.version)
