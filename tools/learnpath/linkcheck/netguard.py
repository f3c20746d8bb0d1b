"""Which URLs the checker may fetch at all.

A pull request can add any URL to the catalog, and CI fetches it. Without this
policy a URL such as ``http://169.254.169.254/`` or one whose name resolves to
``10.0.0.5`` would make CI probe its own network. So before every request (each
redirect hop included) the host name is resolved and *every* address it
resolves to must be public. The name resolved is the one the connection is
made for, encoded by `learnpath.hostnames.to_ascii` (IDNA 2008 / UTS 46, as
requests encodes it), and the connection goes to exactly the vetted addresses
(`transport`'s pinned connections), so neither a second encoding nor a second
DNS answer can lead somewhere unvetted. An IPv6 address that embeds an IPv4
one (NAT64, 6to4, Teredo, IPv4-mapped or -compatible) is judged by the IPv4
address it stands for.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import SplitResult, urlsplit, urlunsplit

from learnpath.hostnames import HostnameError, to_ascii

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


# Not public, whatever the running Python's ipaddress thinks: before the fix for
# CVE-2024-4032 (3.11.10, 3.12.4) its is_global calls several of these public. From
# IANA's IPv4 and IPv6 Special-Purpose Address Registries (globally reachable: False),
# plus blocks that are never a web server (multicast, documentation, deprecated).
_NOT_PUBLIC = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    "::/128", "::1/128", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32", "3fff::/20",
    "5f00::/16", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052 well-known prefix
_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")  # RFC 2765 (SIIT) IPv4-translated
_COMPATIBLE = ipaddress.ip_network("::/96")  # RFC 4291 IPv4-compatible (deprecated)


def embedded_ipv4(address: IPAddress) -> list[tuple[str, ipaddress.IPv4Address]]:
    """The IPv4 addresses an IPv6 address stands for, each with the mechanism's name.

    A packet to ``64:ff9b::a00:1`` (NAT64), ``2002:a00:1::`` (6to4),
    ``::ffff:10.0.0.1`` (IPv4-mapped) or ``::10.0.0.1`` (IPv4-compatible) can
    end up at 10.0.0.1, so the embedded address is what must be judged.
    Teredo (``2001::/32``) carries its server's and, obfuscated, its client's.
    """
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.ipv4_mapped is not None:
        return [("IPv4-mapped", address.ipv4_mapped)]
    if address in _NAT64:
        return [("NAT64", low32)]
    if address in _TRANSLATED:
        return [("IPv4-translated", low32)]
    if address in _COMPATIBLE and int(address) > 1:  # :: and ::1 are themselves
        return [("IPv4-compatible", low32)]
    if address.sixtofour is not None:
        return [("6to4", address.sixtofour)]
    if address.teredo is not None:
        server, client = address.teredo
        return [("Teredo server", server), ("Teredo client", client)]
    return []


def is_public(address: IPAddress) -> bool:
    """True for a globally routable unicast address, judged by any IPv4 address it embeds."""
    inner = embedded_ipv4(address)
    if inner:
        return all(is_public(v4) for _, v4 in inner)
    if any(address in net for net in _NOT_PUBLIC if net.version == address.version):
        return False
    # is_global also says False for private, loopback, link-local, reserved and
    # shared (100.64/10) ranges; multicast can be "global" but is never a web server.
    return address.is_global and not address.is_multicast


def _kind(address: IPAddress) -> str:
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


def describe(address: IPAddress) -> str:
    """Why ``address`` is not public, as a phrase: "a loopback address", "... (NAT64 form of 10.0.0.1)"."""
    for mechanism, v4 in embedded_ipv4(address):
        if not is_public(v4):
            return f"a {_kind(v4)} address ({mechanism} form of {v4})"
    return f"a {_kind(address)} address"


@dataclass(frozen=True)
class Target:
    """A URL the policy lets through: what to request, and where the connection may go."""

    url: str  # the URL to request, its host in ASCII (IDNA 2008 / UTS 46): requests sends it as is
    host: str  # that host name, lower case: the only name the connection may be made for
    port: int
    addresses: tuple[str, ...] = ()  # the vetted addresses; empty when nothing was resolved (allow_private)


def _ascii_url(parts: SplitResult, host: str) -> str:
    """The URL with its host written as ``host`` (only an IDN host changes)."""
    if host == parts.hostname:
        return urlunsplit(parts)
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


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
        try:
            to_ascii(parts.hostname)
        except HostnameError as err:
            raise UrlRefused(f"{err}; fix the host name") from None
        del port
        return parts

    def check(self, url: str) -> Target:
        """What to request for ``url`` and where to connect; raises `UrlRefused` or `HostUnresolvable`.

        With the address rule on, the host is resolved and every address must
        be public; the caller connects to exactly these addresses, so a DNS
        answer that changes between the check and the connection (rebinding)
        cannot slip a private address in.
        """
        parts = self.check_syntax(url)
        host = to_ascii(parts.hostname or "")
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
        target = Target(url=_ascii_url(parts, host), host=host, port=port)
        if self.allow_private:
            return target
        try:
            addresses = self.resolver(host, port)
        except (socket.gaierror, UnicodeError) as err:
            raise HostUnresolvable(f"DNS lookup of {host} failed ({err})") from None
        if not addresses:
            raise HostUnresolvable(f"DNS lookup of {host} returned no address")
        for text in addresses:
            address = ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone id
            if not is_public(address) and not self._allowed(address):
                shown = host if host == parts.hostname else f"{parts.hostname} ({host})"
                raise UrlRefused(
                    f"{shown} resolves to {address}, {describe(address)}; "
                    "only public addresses are checked (--allow-private lifts this)"
                )
        return Target(url=target.url, host=host, port=port, addresses=tuple(addresses))

    def _allowed(self, address: IPAddress) -> bool:
        return any(address in net for net in self._networks if net.version == address.version)
