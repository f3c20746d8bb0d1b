"""Which URLs are refused before any request: schemes, credentials, private addresses, redirects."""

from __future__ import annotations

import ipaddress
import re
import socket
import threading
import time

import pytest

from learnpath.linkcheck import Checker, FetchOptions, Verdict
from learnpath.linkcheck.netguard import AddressPolicy, HostUnresolvable, UrlRefused, is_public
from tests.linkcheck.conftest import quick_options
from tests.linkcheck.server import LinkServer


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.0.0.2", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
    "0.0.0.0", "224.0.0.1", "239.255.255.250", "255.255.255.255", "::1", "fe80::1", "fc00::1", "ff02::1",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "192.0.2.1", "240.0.0.1",
])
def test_non_public_addresses(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111",
                                     "64:ff9b::101:101", "2002:101:101::1", "::ffff:1.1.1.1"])
def test_public_addresses(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


# IPv6 forms that lead to an IPv4 address, each wrapping a private one. Python before the
# CVE-2024-4032 fix calls every one of these "global"; is_global alone would let them through.
@pytest.mark.parametrize(("address", "words"), [
    ("64:ff9b::a00:1", "NAT64 form of 10.0.0.1"),
    ("64:ff9b::7f00:1", "loopback address (NAT64 form of 127.0.0.1)"),
    ("2002:a9fe:a9fe::1", "link-local address (6to4 form of 169.254.169.254)"),
    ("2002:c0a8:1::", "6to4 form of 192.168.0.1"),
    ("::7f00:1", "IPv4-compatible form of 127.0.0.1"),
    ("::ffff:0:a00:1", "IPv4-translated form of 10.0.0.1"),
    ("::ffff:a9fe:a9fe", "IPv4-mapped form of 169.254.169.254"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo client form of 192.0.2.45"),
    ("64:ff9b:1::a00:1", "private"),  # local-use NAT64 prefix: private whatever it carries
    ("fec0::1", "address"), ("3fff::1", "address"),  # site-local (deprecated), documentation
])
def test_embedded_and_special_ipv6_addresses_are_judged_by_what_they_reach(address: str, words: str) -> None:
    policy = AddressPolicy(resolver=fake_resolver({"sneaky.test": [address]}))
    with pytest.raises(UrlRefused, match=re.escape(words)):
        policy.check("https://sneaky.test/")


def fake_resolver(table: dict[str, list[str]]):
    def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return table[host]
    return resolve


POLICY = AddressPolicy(resolver=fake_resolver({
    "public.test": ["93.184.215.14"],
    "internal.test": ["10.0.0.5"],
    "mixed.test": ["93.184.215.14", "192.168.0.10"],  # one bad address is enough to refuse
    "metadata.test": ["169.254.169.254"],
}))


@pytest.mark.parametrize(("url", "words"), [
    ("ftp://public.test/file", "only http and https"),
    ("file:///etc/passwd", "only http and https"),
    ("javascript:alert(1)", "only http and https"),
    ("//public.test/x", "no scheme"),
    ("http://user:secret@public.test/", "credentials"),
    ("http:///nohost", "no host"),
    ("http://public.test:70000/", "malformed"),
    ("http://internal.test/", "10.0.0.5, a private address"),
    ("https://mixed.test/", "192.168.0.10"),
    ("http://metadata.test/latest/", "link-local"),
])
def test_refused_urls_say_why(url: str, words: str) -> None:
    with pytest.raises(UrlRefused, match=words.replace(".", r"\.")):
        POLICY.check(url)


def test_a_public_host_passes_and_an_unknown_one_is_unresolvable() -> None:
    assert POLICY.check("https://public.test/a?b#c").host == "public.test"
    with pytest.raises(HostUnresolvable):
        POLICY.check("https://nowhere.test/")


@pytest.mark.parametrize("host", ["127.0.0.1", "2130706433", "0x7f000001", "localhost", "[::1]", "0.0.0.0"])
def test_loopback_spellings_are_refused_with_the_system_resolver(host: str) -> None:
    # Numeric forms and localhost resolve locally (no DNS query leaves the machine).
    with pytest.raises(UrlRefused):
        AddressPolicy().check(f"http://{host}:8080/")


def test_allow_private_lifts_only_the_address_rule() -> None:
    policy = AddressPolicy(allow_private=True)
    policy.check("http://127.0.0.1/")
    with pytest.raises(UrlRefused):
        policy.check("gopher://127.0.0.1/")


def test_the_checker_refuses_loopback_without_allow_private_and_sends_nothing() -> None:
    with LinkServer(["127.0.0.1"]) as srv:
        (result,) = Checker(FetchOptions(), detectors=[]).check([srv.url("/ok")])
        assert result.verdict is Verdict.invalid and "loopback" in result.explanation
        assert result.attempts == 0 and srv.counters().requests == 0


def test_a_redirect_into_a_private_address_is_refused() -> None:
    # 127.0.0.2 plays a public site; it redirects to 127.0.0.1, which stays private.
    with LinkServer(["127.0.0.1", "127.0.0.2"]) as srv:
        options = quick_options(allow_private=False, allowed_networks=("127.0.0.2/32",))
        url = srv.url("/redirect?to=" + srv.url("/ok", 0), 1)
        (result,) = Checker(options, detectors=[]).check([url])
        assert result.verdict is Verdict.invalid, result
        assert "127.0.0.1" in result.explanation and f"redirect from {url}" in result.explanation
        assert srv.counters(1).requests >= 1 and srv.counters(0).requests == 0


def test_an_unresolvable_host_is_broken() -> None:
    checker = Checker(quick_options(allow_private=False), detectors=[],
                      policy=AddressPolicy(resolver=fake_resolver({})))
    (result,) = checker.check(["https://no-such-host.test/page"])
    assert result.verdict is Verdict.broken and "DNS" in result.explanation and result.attempts == 0


def test_a_dns_lookup_slower_than_the_connect_timeout_is_transient() -> None:
    release = threading.Event()

    def slow_resolver(host: str, port: int) -> list[str]:
        release.wait(10)  # a resolver stuck on an unreachable name server
        return ["93.184.215.14"]

    checker = Checker(quick_options(allow_private=False, connect_timeout=0.3), detectors=[],
                      policy=AddressPolicy(resolver=slow_resolver))
    try:
        start = time.monotonic()
        (result,) = checker.check(["https://slow-dns.test/"])
        assert result.verdict is Verdict.transient and "DNS" in result.explanation
        assert time.monotonic() - start < 8  # the stuck resolver answers after 10 s
    finally:
        release.set()


def test_tls_is_verified_against_the_given_ca_bundle(link_server: LinkServer) -> None:
    url = link_server.tls_url("/page#intro")
    (trusted,) = Checker(quick_options(ca_bundle=link_server.ca_file), detectors=[]).check([url])
    assert trusted.verdict is Verdict.ok, trusted
    (untrusted,) = Checker(quick_options(), detectors=[]).check([url])
    assert untrusted.verdict is Verdict.broken and "TLS" in untrusted.explanation
    (unverified,) = Checker(quick_options(verify_tls=False), detectors=[]).check([url])
    assert unverified.verdict is Verdict.ok


@pytest.mark.parametrize(("field", "value"), [
    ("workers", 0), ("per_host", 0), ("read_timeout", 0), ("retries", -1), ("max_body_bytes", 10),
    ("run_deadline", 0), ("workers", 2.5), ("min_delay", float("nan")), ("min_delay", float("inf")),
    ("read_timeout", float("inf")), ("url_deadline", float("nan")), ("connect_timeout", float("inf")),
    ("run_deadline", float("inf")), ("backoff", float("nan")), ("retry_after_cap", float("inf")),
    ("slowdown_delay", -1.0), ("per_host", True),
])
def test_bad_options_are_refused_with_the_field_named(field: str, value) -> None:
    with pytest.raises(ValueError, match=field):
        FetchOptions(**{field: value})


def test_the_connection_goes_to_the_vetted_address_not_a_fresh_dns_answer() -> None:
    # The resolver says 127.0.0.2 (allowed here); the system would say 127.0.0.1 for
    # "localhost". Connecting anywhere but the vetted address would reach the wrong server.
    with LinkServer(["127.0.0.1", "127.0.0.2"]) as srv:
        port = srv.servers[1].server_address[1]
        policy = AddressPolicy(allowed_networks=("127.0.0.2/32",), resolver=fake_resolver({"localhost": ["127.0.0.2"]}))
        checker = Checker(quick_options(allow_private=False), detectors=[], policy=policy)
        (result,) = checker.check([f"http://localhost:{port}/ok"])
        assert result.verdict is Verdict.ok, result
        assert srv.counters(1).requests == 1 and srv.counters(0).requests == 0


@pytest.mark.parametrize(("field", "value"), [("confirm_runs", 0), ("confirm_hours", float("nan")),
                                               ("confirm_hours", float("inf")), ("max_age", float("inf"))])
def test_bad_history_policies_are_refused(field: str, value) -> None:
    from learnpath.linkcheck.history import Policy

    with pytest.raises(ValueError, match=field):
        Policy(**{field: value})
