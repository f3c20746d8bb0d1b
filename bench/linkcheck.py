"""Benchmark `learnpath check-links` on 2,000 links over 20 loopback hosts.

Starts the test suite's loopback server (tests/linkcheck/server.py) with a
fixed latency per response on 127.0.0.2 ... 127.0.0.21, writes a Markdown page
of N links (mostly healthy, plus a few of every failure case, three of them
never answering), runs the real command in a subprocess (per-host limit 2,
10 s timeout) and prints:

* wall time, peak memory (ru_maxrss of the checker's process), requests made;
* the lower bound max(ceil(N/H/c) x latency + Retry-After, timeout) and the ratio;
* a second bound the issue's leaves out: with W workers, the request time of
  the run (every request one latency, the links that never finish their whole
  timeout) cannot take less than that total / W. Printed apart, so it is clear
  whether the worker limit, not the checker, is what keeps a run from the bound;
* whether every verdict is the expected one, and the most concurrent requests
  any host saw;
* two re-runs within --max-age: the healthy links alone (all cached: target
  under 1 s) and the whole page (failures are never cached, so the hung links
  cost their timeout again).

Targets (issue 3): wall <= 1.25 x bound, peak memory < 150 MB, every verdict
correct, no host above its limit, cached re-run < 1 s. Figures are printed,
never asserted: `python bench/linkcheck.py [--links 2000] [--latency 0.05]`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from learnpath.linkcheck.hosts import host_key  # noqa: E402
from learnpath.linkcheck.options import FetchOptions  # noqa: E402
from tests.linkcheck.server import LinkServer  # noqa: E402

RETRY_AFTER = 1.0


@dataclass(frozen=True)
class Case:
    name: str
    path: str  # on the loopback host; "{k}" makes each URL distinct
    expected: str  # verdict value
    count: int


# A few of every case the issue lists; the rest of the page is healthy.
CASES = [
    Case("404", "/status/404?k={k}", "broken", 3),
    Case("410", "/status/410?k={k}", "broken", 3),
    Case("500 then 200", "/flaky/b{k}?fail=1", "ok", 3),
    Case("301 chain", "/chain/301/2?k={k}", "redirected", 3),
    Case("308 chain", "/chain/308/2?k={k}", "redirected", 3),
    Case("302 chain to 200", "/chain/302/2?k={k}", "ok", 2),
    Case("redirect loop", "/loop/a?k={k}", "broken", 3),
    Case("429 + Retry-After then 200", f"/ratelimit/b{{k}}?after={RETRY_AFTER:g}", "ok", 3),
    Case("HEAD 405, GET 200", "/head405?k={k}", "ok", 3),
    Case("fragment present", "/page?k={k}#intro", "ok", 3),
    Case("fragment missing", "/page?k={k}#nowhere", "fragment_missing", 3),
    Case("soft 404", "/soft404?k={k}", "soft_broken", 3),
    Case("huge body", "/huge?k={k}", "ok", 2),
    Case("never answers", "/hang?k={k}", "transient", 3),
    Case("slow drip", "/drip?k={k}", "transient", 2),
]
SLOW_HOSTS_FOR = [c for c in CASES if c.expected == "transient" for _ in range(c.count)]
SPECIAL = [("refused connection", "broken", 2), ("not HTTP", "broken", 2), ("invalid TLS", "broken", 2)]


def build_page(srv: LinkServer, total: int, hosts: int) -> tuple[list[tuple[str, str, str]], list[str]]:
    """(url, case, expected) for every link, and the healthy URLs alone.

    Failure cases go round-robin over the hosts, except the slow ones (never
    answers, drip): each gets a host of its own among the last ones, so no
    host has both its slots held, and none shares a host with a 429 case.
    """
    links: list[tuple[str, str, str]] = []
    k, slow_host = 0, hosts - 1
    for case in CASES:
        for _ in range(case.count):
            if case.expected == "transient":
                host, slow_host = slow_host, slow_host - 1
            else:
                host = k % (hosts - len(SLOW_HOSTS_FOR))
            links.append((srv.url(case.path.format(k=k), host=host), case.name, case.expected))
            k += 1
    special_urls = {"refused connection": lambda i: srv.refused_url + f"r{i}",
                    "not HTTP": lambda i: srv.garbage_url + f"g{i}",
                    "invalid TLS": lambda i: srv.tls_url(f"/ok?t={i}")}
    for name, expected, count in SPECIAL:
        links += [(special_urls[name](i), name, expected) for i in range(count)]
    healthy = [srv.url(f"/ok?n={i}", host=i % hosts) for i in range(total - len(links))]
    links += [(url, "healthy", "ok") for url in healthy]
    return links, healthy


def write_page(path: Path, urls: list[str]) -> None:
    path.write_text("# Benchmark links\n\n" + "".join(f"- [link {i}]({u})\n" for i, u in enumerate(urls)))


@dataclass(frozen=True)
class Run:
    code: int
    wall: float  # seconds
    cpu: float  # user + system seconds of the checker's process: less sensitive to a busy machine
    rss_kib: int  # peak resident memory of the checker's process
    started: float  # monotonic time the process was started


def run_checker(args: list[str], cwd: Path) -> Run:
    """Run the command in its own process and measure it."""
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "learnpath", "check-links", *args], cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=open(cwd / "stderr.txt", "a"))
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Run(proc.returncode, time.monotonic() - start, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--links", type=int, default=2000)
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--per-host", type=int, default=2)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per response (default 0.05)")
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=None,
                        help="requests in flight at once (default: the checker's own, hosts x per-host up to a cap)")
    parser.add_argument("--get-bodies", action=argparse.BooleanOptionalAction, default=True,
                        help="GET every page so soft-404/huge/drip cases read bodies (default: on)")
    opts = parser.parse_args()

    addresses = [f"127.0.0.{i}" for i in range(2, 2 + opts.hosts)]
    with LinkServer(addresses=addresses, latency=opts.latency, tls=True) as srv, \
            tempfile.TemporaryDirectory(prefix="linkcheck-bench-") as tmp:
        work = Path(tmp)
        links, healthy = build_page(srv, opts.links, opts.hosts)
        write_page(work / "links.md", [u for u, _, _ in links])
        write_page(work / "healthy.md", healthy)
        common = ["--allow-private", "--no-wayback", "--no-progress", "--history", "history.json",
                  "--per-host", str(opts.per_host), "--timeout", f"{opts.timeout:g}",
                  "--format", "json"] + (["--get-bodies"] if opts.get_bodies else [])
        if opts.workers is not None:
            common += ["--workers", str(opts.workers)]
        # What the checker uses: its default sizes itself from the hosts the page names.
        page_hosts = len({host_key(url) for url, _, _ in links})
        workers = FetchOptions(workers=opts.workers, per_host=opts.per_host).workers_for(page_hosts)

        first = run_checker(["links.md", *common, "--output", "report.json"], work)
        servers = srv.servers + ([srv.tls_server] if srv.tls_server else [])
        requests = sum(s.counters.requests for s in servers)
        max_active = max(s.counters.max_active for s in servers)
        max_conns = max(s.counters.max_connections for s in servers)
        first_request = min(t for s in servers for times in s.counters.times.values() for t in times) - first.started
        report = json.loads((work / "report.json").read_text()) if (work / "report.json").exists() else None

        wrong = []
        if report is not None:
            got = {r["url"]: r for r in report["results"]}
            for url, case, expected in links:
                verdict = got.get(url, {}).get("verdict", "missing")
                if verdict != expected:
                    wrong.append(f"{case}: {url} -> {verdict}, expected {expected} "
                                 f"({got.get(url, {}).get('explanation', '')[:90]})")

        rerun_healthy = run_checker(["healthy.md", *common, "--output", "rerun-healthy.json"], work)
        cached = json.loads((work / "rerun-healthy.json").read_text())["run"]["cached"]
        rerun_all = run_checker(["links.md", *common, "--output", "rerun-all.json"], work)
        rerun_fetched = json.loads((work / "rerun-all.json").read_text())["run"]["fetched"]

        n, h, c = len(links), opts.hosts, opts.per_host
        bound = max(math.ceil(n / h / c) * opts.latency + RETRY_AFTER, opts.timeout)
        stuck = len(SLOW_HOSTS_FOR)  # hold a worker for the whole timeout
        worker_bound = ((requests - stuck) * opts.latency + stuck * opts.timeout) / workers
        shown = f"{workers}" + (" (default: hosts x per-host)" if opts.workers is None else "")
        print(f"links {n} on {h} hosts ({page_hosts} host:port pairs), per-host {c}, workers {shown}, "
              f"latency {opts.latency * 1000:.0f} ms, "
              f"timeout {opts.timeout:g} s, bodies {'GET' if opts.get_bodies else 'HEAD first'}")
        print(f"exit code            {first.code}")
        print(f"wall time            {first.wall:.2f} s (CPU {first.cpu:.2f} s)")
        print(f"first request        {first_request:.2f} s after the process started (imports, reading the page)")
        print(f"lower bound          {bound:.2f} s = max(ceil({n}/{h}/{c}) x {opts.latency:g} s + "
              f"{RETRY_AFTER:g} s Retry-After, {opts.timeout:g} s timeout)")
        print(f"ratio                {first.wall / bound:.2f} (target <= 1.25)")
        print(f"worker bound         {worker_bound:.2f} s = ({requests - stuck} requests x {opts.latency:g} s + "
              f"{stuck} x {opts.timeout:g} s never finishing) / {workers} workers "
              f"({'below' if worker_bound <= bound else 'ABOVE'} the bound above)")
        print(f"peak memory          {first.rss_kib / 1024:.1f} MB (ru_maxrss of the checker; target < 150 MB)")
        print(f"requests made        {requests} (server side)")
        print(f"max per host         {max_active} requests, {max_conns} connections at once (limit {c})")
        print(f"verdicts             {'all correct' if not wrong and report else f'{len(wrong)} wrong'}")
        for line in wrong[:40]:
            print(f"  {line}")
        print(f"re-run, healthy only {rerun_healthy.wall:.2f} s, CPU {rerun_healthy.cpu:.2f} s "
              f"({cached} of {len(healthy)} cached; target < 1 s)")
        print(f"re-run, whole page   {rerun_all.wall:.2f} s, CPU {rerun_all.cpu:.2f} s "
              f"({rerun_fetched} re-fetched: failures are never cached)")
        print(f"load average         {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (timings stretch on a busy machine)")


if __name__ == "__main__":
    main()
