"""The knobs of a run (`FetchOptions`) and the bounds every one of them must keep.

Every number is finite and within a stated range: ``nan`` compares false with
everything, so a NaN delay made the dispatcher spin forever, and an infinite
timeout killed the watchdog thread. `FetchOptions` refuses both, and the CLI
parses its flags against the very same `BOUNDS`, so a bad value is a usage
error naming the flag, never a hang or a traceback.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from learnpath import PROJECT_URL, __version__
from learnpath.linkcheck.netguard import AddressPolicy

USER_AGENT = f"learnpath-linkcheck/{__version__} (+{PROJECT_URL})"

# With no --workers, a run gets a worker for every slot it can use (hosts x per-host),
# up to this many. As in lychee (128 concurrent requests by default, 10 per host): the
# per-host limit is what keeps a run polite, so a global limit below the run's own
# slots only makes it slower. Threads, not async tasks, hence a lower cap.
MAX_DEFAULT_WORKERS = 64


@dataclass(frozen=True)
class Bound:
    """The range a numeric option must lie in (``low`` excluded when ``low_open``)."""

    low: float
    high: float
    unit: str = "seconds"
    low_open: bool = False
    integer: bool = False

    def problem(self, value: float) -> str | None:
        """Why ``value`` is out of range, or None."""
        if isinstance(value, bool) or not isinstance(value, int if self.integer else (int, float)):
            return f"must be {'a whole' if self.integer else 'a'} number, not {value!r}"
        if not math.isfinite(value):
            return f"must be a finite number of {self.unit} (got {value})"
        if value < self.low or (self.low_open and value == self.low):
            return f"must be {'above' if self.low_open else 'at least'} {self.low:g} {self.unit} (got {value:g})"
        if value > self.high:
            return f"must be at most {self.high:g} {self.unit} (got {value:g})"
        return None


# Each numeric field of FetchOptions and its range; the CLI's flags use the same entries.
BOUNDS: dict[str, Bound] = {
    "workers": Bound(1, 512, "requests", integer=True),
    "per_host": Bound(1, 64, "requests", integer=True),
    "min_delay": Bound(0, 600),
    "connect_timeout": Bound(0, 600, low_open=True),
    "read_timeout": Bound(0, 3600, low_open=True),
    "url_deadline": Bound(0, 3600, low_open=True),
    "run_deadline": Bound(0, 7 * 86400, low_open=True),
    "max_redirects": Bound(0, 50, "redirects", integer=True),
    "retries": Bound(0, 20, "retries", integer=True),
    "backoff": Bound(0, 600),
    "retry_after_cap": Bound(0, 86400),
    "max_body_bytes": Bound(1024, 1 << 30, "bytes", integer=True),
    "slowdown_delay": Bound(0, 600),
}


@dataclass(frozen=True)
class FetchOptions:
    """Knobs for a run; the CLI maps its flags onto these one to one."""

    workers: int | None = None  # requests in flight at once; None: hosts x per_host, up to MAX_DEFAULT_WORKERS
    per_host: int = 2
    min_delay: float = 0.0  # seconds between request starts to one host
    connect_timeout: float = 5.0
    read_timeout: float = 10.0  # the CLI's --timeout
    url_deadline: float = 30.0  # wall clock for one URL, all attempts and hops included
    run_deadline: float | None = None  # wall clock for the whole run
    max_redirects: int = 10
    retries: int = 2  # extra attempts after the first, for resets, 5xx and 429
    backoff: float = 0.5  # first retry waits about this long, then doubles (with jitter)
    retry_after_cap: float = 30.0  # longest Retry-After honoured; longer gives up as transient
    retry_timeouts: bool = False
    allow_private: bool = False
    allowed_networks: tuple[str, ...] = ()  # treated as public (tests: one loopback "public" host)
    max_body_bytes: int = 2_000_000
    user_agent: str = USER_AGENT
    verify_tls: bool = True
    ca_bundle: str | None = None  # a PEM file of extra trusted roots (tests' own CA)
    get_bodies: bool = False  # GET every page so body detectors see all of them
    slowdown_delay: float = 0.25  # min delay a host gets on its second 429 (doubling on each further one)

    def __post_init__(self) -> None:
        problems = []
        for spec in fields(self):
            bound = BOUNDS.get(spec.name)
            value = getattr(self, spec.name)
            if bound is None or value is None and spec.name in ("workers", "run_deadline"):
                continue
            problem = bound.problem(value)
            if problem:
                problems.append(f"{spec.name} {problem}")
        if problems:
            raise ValueError("invalid fetch options: " + "; ".join(problems))

    def policy(self) -> AddressPolicy:
        return AddressPolicy(allow_private=self.allow_private, allowed_networks=self.allowed_networks)

    def workers_for(self, hosts: int) -> int:
        """Requests in flight at once for a run over ``hosts`` hosts."""
        if self.workers is not None:
            return self.workers
        return max(1, min(hosts * self.per_host, MAX_DEFAULT_WORKERS))
