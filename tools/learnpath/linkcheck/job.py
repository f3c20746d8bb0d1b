"""One URL's check in progress (`Job`), and what one request concludes about it (`Done`, `Again`).

A job is every distinct URL without its fragment; the URLs given with
fragments ride along in ``originals``. It advances one request at a time:
the run loop hands it to a worker, the worker makes one request and returns
`Done` (a verdict) or `Again` (make the next request, possibly later). While
a worker holds a job, only that worker touches it; the run loop reads and
updates it only between requests.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from learnpath.linkcheck.detectors import Detector
from learnpath.linkcheck.verdicts import Verdict


@dataclass
class Job:
    """One distinct URL (without fragment) being checked, with everything learnt so far."""

    base: str  # URL without fragment, as first requested
    originals: dict[str, str | None]  # each URL as given -> its fragment (None if none to check)
    need_body: bool
    seq: int = 0  # order of arrival: ties in every queue go to the earlier job
    current: str = ""  # the URL the next request asks for
    method: str = "HEAD"
    hops: list[tuple[int, str]] = field(default_factory=list)
    visited: set[str] = field(default_factory=set)
    permanent: bool = False
    attempts: int = 0
    failures: int = 0  # retryable failures so far
    started: float | None = None
    deadline: float = float("inf")
    ready_at: float = 0.0
    queued_at: float = 0.0  # when it last became ready to run (waiting for a slot counts from here)
    last_start: float = 0.0
    status: int | None = None
    final_url: str | None = None
    # set once the page itself is judged and an oEmbed-style probe is pending
    probing: Detector | None = None
    page_result: Done | None = None
    anchors: set[str] | None = None  # ids and names seen in the body, when a fragment is checked
    content_is_html: bool = True
    bytes_read: int = 0  # of the body, when it was read
    body_truncated: bool = False  # the body cap was reached before the page ended

    def __post_init__(self) -> None:
        self.current = self.current or self.base
        self.visited.add(self.base)


@dataclass(frozen=True)
class RateLimit:
    """A 429: the host must slow down; ``pause_until`` is the Retry-After it asked for, if honoured."""

    pause_until: float | None = None


@dataclass(frozen=True)
class Done:
    """The job's verdict."""

    verdict: Verdict
    explanation: str
    suggestion: str = ""
    rate_limit: RateLimit | None = None  # news for the host's schedule, even when giving up


@dataclass(frozen=True)
class Again:
    """Make the job's next request (its fields already updated) no earlier than ``at``."""

    at: float = 0.0
    retry: bool = False  # a retry after a failure (counted in the stats), not just the next hop
    rate_limit: RateLimit | None = None


Outcome = Done | Again
