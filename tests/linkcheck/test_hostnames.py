"""One encoder for host names: the name vetted is the name connected to; mixed scripts are flagged.

The DNS here is a stub in place of ``socket.getaddrinfo`` that behaves as
CPython's does: a ``str`` host is first encoded with Python's IDNA 2003 codec
(``faß.example`` -> ``fass.example``). It gives the two encodings of one
name two different loopback addresses, so any place where the checker vets
one name and connects to the other shows up as a request to the wrong server.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from learnpath.catalog import CatalogInvalid, load_catalog
from learnpath.catalog.urls import normalize_url, same_url
from learnpath.hostnames import HostnameError, mixed_scripts, to_ascii
from learnpath.linkcheck import Checker, Verdict
from learnpath.linkcheck.netguard import Target
from learnpath.linkcheck.transport import ErrorKind, TrackedAdapter, classify_error, thread_state
from tests.linkcheck.conftest import quick_options
from tests.linkcheck.server import LinkServer

FIXTURE = Path(__file__).parents[1] / "fixtures" / "valid" / "small.yaml"
IDN = "faß.example"
IDNA2008 = "xn--fa-hia.example"  # what requests connects to
IDNA2003 = "fass.example"  # what Python's "idna" codec, and so getaddrinfo(str), looks up


@pytest.mark.parametrize("name", [IDN, "FAß.Example", "παράδειγμα.example", "bücher.example.",
                                  "例え.jp", "plain.example", "MiXeD.Example", "xn--fa-hia.example"])
def test_to_ascii_is_the_encoding_requests_connects_to(name: str) -> None:
    prepared = requests.Request("GET", f"http://{name}/x").prepare()
    sent = prepared.url.split("/")[2]
    assert to_ascii(name) == sent.lower()


def test_to_ascii_refuses_what_idna_2008_refuses() -> None:
    assert to_ascii(IDN) == IDNA2008 != IDN.encode("idna").decode()
    for bad in ("\u2603.example", "a\u200db.example"):  # a snowman; a joiner between Latin letters
        with pytest.raises(HostnameError):
            to_ascii(bad)


@pytest.mark.parametrize(("host", "flagged"), [
    ("p\u0430ypal.example", True),  # Cyrillic a in a Latin name
    ("xn--pypal-4ve.example", True),  # the same, written in punycode
    ("a\u03b1.example", True),  # Greek alpha beside a Latin a
    ("\u043f\u0440\u0438\u043c\u0435\u0440.example", False),  # all Cyrillic: one script per label
    ("\u4f8b\u3048.jp", False),  # Han and Hiragana are written together
    ("\ud55c\uad6d\uc5b4abc.kr", False),  # Hangul with Latin is allowed too
    (IDN, False), ("na\u00efve.example", False), ("plain.example", False),
])
def test_mixed_scripts(host: str, flagged: bool) -> None:
    assert (mixed_scripts(host) is not None) is flagged


def test_the_validator_refuses_a_url_whose_host_mixes_scripts(tmp_path: Path) -> None:
    text = FIXTURE.read_text()
    spoof = "https://ex\u0430mple.org/blog/rnn-intro"  # Cyrillic a
    assert "https://example.org/blog/rnn-intro" in text
    path = tmp_path / "resources.yaml"
    path.write_text(text.replace("https://example.org/blog/rnn-intro", spoof, 1), encoding="utf-8")
    line = next(i for i, row in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if spoof in row)
    with pytest.raises(CatalogInvalid) as caught:
        load_catalog(path)
    report = caught.value.report()
    assert f"resources.yaml:{line}:" in report and "mixes scripts" in report and "Cyrillic" in report


def test_idn_and_punycode_spellings_are_one_address() -> None:
    assert same_url(f"https://{IDN}/page", f"https://{IDNA2008}/page")
    assert same_url("https://www.FAß.example/page/", f"http://{IDNA2008}/page")
    assert not same_url(f"https://{IDN}/page", f"https://{IDNA2003}/page")  # IDNA 2003's name is another domain
    assert normalize_url(f"https://{IDN}/page") == f"https://{IDNA2008}/page"


# --------------------------------------------------------------------------- #
# The pinned connection, on loopback
# --------------------------------------------------------------------------- #


@pytest.fixture
def servers() -> Iterator[tuple[LinkServer, LinkServer]]:
    """127.0.0.1 and 127.0.0.2 on one port, so a host name can lead to either."""
    for _ in range(20):
        first = LinkServer(["127.0.0.1"])
        first.start()
        try:
            second = LinkServer(["127.0.0.2"], port=first.servers[0].server_address[1])
            second.start()
        except OSError:  # that port is taken on 127.0.0.2: try another
            first.stop()
            continue
        try:
            yield first, second
        finally:
            second.stop()
            first.stop()
        return
    pytest.fail("no port free on both 127.0.0.1 and 127.0.0.2")


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A name -> address table behind socket.getaddrinfo; every name asked is recorded in "asked"."""
    table: dict[str, str] = {}
    asked: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        # CPython encodes a str host with the IDNA 2003 codec before the resolver sees it.
        name = host.encode("idna").decode("ascii") if isinstance(host, str) else host.decode("ascii")
        if not name.endswith(".example"):
            return real(host, port, family, type, proto, flags)
        asked.append(name)
        if name not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (table[name], int(port)))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    table["asked"] = asked  # type: ignore[assignment]
    return table


def _checker() -> Checker:
    # 127.0.0.2 plays a public address; 127.0.0.1 stays private.
    return Checker(quick_options(allow_private=False, allowed_networks=("127.0.0.2/32",)), detectors=[])


def test_a_private_address_behind_the_idna_2008_name_is_refused(servers, dns) -> None:
    private, public = servers
    dns[IDNA2003], dns[IDNA2008] = "127.0.0.2", "127.0.0.1"
    port = private.servers[0].server_address[1]
    (result,) = _checker().check([f"http://{IDN}:{port}/ok"])
    assert result.verdict is Verdict.invalid, result
    assert "127.0.0.1" in result.explanation and "loopback" in result.explanation
    assert private.counters().requests == 0 and public.counters().requests == 0


def test_the_name_vetted_is_the_name_connected_to(servers, dns) -> None:
    private, public = servers
    dns[IDNA2003], dns[IDNA2008] = "127.0.0.1", "127.0.0.2"
    port = public.servers[0].server_address[1]
    (result,) = _checker().check([f"http://{IDN}:{port}/ok"])
    assert result.verdict is Verdict.ok, result
    assert public.counters().requests == 1 and private.counters().requests == 0
    assert IDNA2003 not in dns["asked"]


def test_a_pinned_connection_refuses_another_name_and_never_looks_it_up(servers, dns) -> None:
    _, public = servers
    port = public.servers[0].server_address[1]
    dns["other.example"] = "127.0.0.2"
    session = requests.Session()
    session.trust_env = False
    session.mount("http://", TrackedAdapter(max_retries=0))
    thread_state.pin = Target(url=f"http://{IDNA2008}:{port}/", host=IDNA2008, port=port, addresses=("127.0.0.2",))
    try:
        with pytest.raises(requests.ConnectionError) as caught:
            session.get(f"http://other.example:{port}/ok", timeout=2)
    finally:
        thread_state.pin = None
        session.close()
    assert classify_error(caught.value)[0] is ErrorKind.unvetted
    assert dns["asked"] == [] and public.counters().requests == 0
