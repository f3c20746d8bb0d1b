"""When a failed request is tried again, and when the checker gives up.

Retried: connection resets, 5xx answers and 429 (Too Many Requests), each up
to ``retries`` more times, waiting an exponential backoff with full jitter
(so many URLs of one host do not come back together) or the server's
``Retry-After``, whichever is longer. A Retry-After above ``retry_after_cap``
is not worth waiting for within a run: the URL is transient, re-checked on
the next run. A timeout is retried only with ``retry_timeouts``: a hung
server would otherwise cost its timeout several times over. Nothing is
retried once the URL's deadline would pass before the retry starts.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from learnpath.linkcheck.job import Again, Done, Job, RateLimit
from learnpath.linkcheck.options import FetchOptions
from learnpath.linkcheck.verdicts import Verdict

GIVE_UP_SUGGESTION = "nothing yet; it is re-checked on the next run (the server is struggling or rate-limiting)"


@dataclass
class RetryPolicy:
    """The retry rules of one run (see the module docstring)."""

    retries: int = 2
    backoff: float = 0.5
    retry_after_cap: float = 30.0
    retry_timeouts: bool = False
    rng: random.Random = field(default_factory=random.Random)

    @classmethod
    def from_options(cls, options: FetchOptions) -> RetryPolicy:
        return cls(retries=options.retries, backoff=options.backoff, retry_after_cap=options.retry_after_cap,
                   retry_timeouts=options.retry_timeouts)

    def wait(self, failures: int) -> float:
        """The backoff before retry number ``failures + 1``: nominally backoff x 2^failures, x [0.5, 1.5)."""
        return self.backoff * (2 ** failures) * self.rng.uniform(0.5, 1.5)

    def rate_limited(self, job: Job, now: float, retry_after: float | None) -> Done | Again:
        """A 429: the host slows down in any case; the URL waits for Retry-After or gives up."""
        if retry_after is not None and retry_after > self.retry_after_cap:
            return Done(Verdict.transient,
                        f"429 Too Many Requests, asked to wait {retry_after:.0f} s (more than the "
                        f"{self.retry_after_cap:.0f} s cap)", Verdict.transient.default_suggestion,
                        rate_limit=RateLimit())
        limit = RateLimit(pause_until=now + retry_after if retry_after is not None else None)
        outcome = self.failed(job, "429 Too Many Requests", now, at_least=retry_after or 0.0)
        if isinstance(outcome, Done):
            return Done(outcome.verdict, outcome.explanation, outcome.suggestion, rate_limit=limit)
        return Again(at=outcome.at, retry=True, rate_limit=limit)

    def failed(self, job: Job, what: str, now: float, at_least: float = 0.0) -> Done | Again:
        """A retryable failure (reset, 5xx, 429): try again after a backoff, or give up as transient."""
        wait = max(self.wait(job.failures), at_least)
        job.failures += 1
        if job.failures > self.retries:
            return Done(Verdict.transient, f"{what} on each of {job.failures} attempts", GIVE_UP_SUGGESTION)
        if now + wait >= job.deadline:
            return Done(Verdict.transient, f"{what}; no time left to retry before the URL's deadline",
                        Verdict.transient.default_suggestion)
        if job.method == "HEAD":
            job.method = "GET"  # a server that fails HEAD may be fine with GET
        return Again(at=now + wait, retry=True)

    def timed_out(self, job: Job, detail: str, now: float) -> Done | Again:
        """A request that timed out: retried only with ``retry_timeouts``."""
        if self.retry_timeouts:
            return self.failed(job, f"timed out ({detail})", now)
        return timed_out(detail)


def timed_out(detail: str) -> Done:
    """The verdict for a URL that ran out of time."""
    return Done(Verdict.transient, f"timed out: {detail}",
                "nothing yet; a slow or hung server is re-checked on the next run "
                "(--retry-timeouts retries it within the run)")
