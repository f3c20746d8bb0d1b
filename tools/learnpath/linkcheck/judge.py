"""What an answer means: a verdict, or the request to make next.

`Judge.response` reads a status line and headers (and, when that is not
enough, the start of the body) and returns `Done` or `Again`:

* 3xx with a Location: follow it (loops, too many hops and refused targets end the job);
* 429, 5xx and resets: the retry policy decides (`retry.RetryPolicy`);
* a HEAD answered with anything but 2xx/3xx: ask again with GET before judging
  (many servers refuse or mishandle HEAD);
* 401/403/406/418/451/999: blocked, unless the body is a bot challenge, which says so;
* 404/410 and other 4xx: broken;
* 2xx: the page itself, through the soft-404 detectors and, for the URL's
  fragments, the anchors seen while reading it; then a detector's second
  opinion (YouTube's oEmbed) if one applies.

`Judge.error` does the same for a request that failed, and `results` turns a
finished job into one `Result` per URL given, with its fragment's fate as a fact.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urldefrag, urljoin, urlsplit

from learnpath.linkcheck.detectors import Detector, bot_challenge, checkable_fragment, has_anchor
from learnpath.linkcheck.job import Again, Done, Job
from learnpath.linkcheck.netguard import AddressPolicy, UrlRefused
from learnpath.linkcheck.retry import RetryPolicy, timed_out
from learnpath.linkcheck.transport import SNIFF_BYTES, ErrorKind, classify_error, parse_retry_after
from learnpath.linkcheck.verdicts import FragmentStatus, Result, Verdict

# HEAD answers we do not trust: anything but success or a redirect is asked again with GET.
_TRUSTED_HEAD = range(200, 400)
_PERMANENT = (301, 308)
_REDIRECTS = (301, 302, 303, 307, 308)
_GONE = {404: "Not Found", 410: "Gone"}
# Statuses that mean "we are not letting a robot in", not "the page is gone".
_BLOCKING = {401: "login required", 403: "forbidden", 406: "not acceptable", 418: "refused",
             451: "unavailable for legal reasons", 999: "non-standard refusal (LinkedIn-style bot block)"}

# Request failures that are final verdicts: (verdict, explanation, suggestion);
# the explanation may use {host} (with port), {name} (host name) and {detail}.
_ERROR_VERDICTS: dict[ErrorKind, tuple[Verdict, str, str]] = {
    ErrorKind.refused: (Verdict.broken, "connection refused by {host}: nothing listens there",
                        "the server is down or gone; check by hand and find where the site moved"),
    ErrorKind.dns: (Verdict.broken, "DNS lookup failed for {name}: the host does not exist",
                    "check the host name for a typo, or find where the site moved"),
    ErrorKind.tls: (Verdict.broken, "TLS failure talking to {host}: {detail}",
                    "the certificate is invalid or expired; link to another copy or tell the site"),
    ErrorKind.protocol: (Verdict.broken, "{host} did not answer with HTTP ({detail})",
                         "the address does not serve a web page; check the scheme and port"),
    ErrorKind.invalid: (Verdict.invalid, "the URL cannot be requested: {detail}", ""),
    ErrorKind.unvetted: (Verdict.invalid, "refused to connect: {detail}", ""),
}


class Body(Protocol):
    """The body of the response being judged, read on demand and within the URL's deadline."""

    @property
    def expired(self) -> bool:
        """The URL's deadline passed (the watchdog cut the connection)."""

    def read(self, limit: int, wanted: set[str] | None = None) -> str:
        """At most ``limit`` bytes as text; with ``wanted``, collect anchors into the job as it streams."""


@dataclass(frozen=True)
class Judge:
    """The rules above, for one run's options, detectors, address policy and retry policy."""

    detectors: Sequence[Detector]
    policy: AddressPolicy
    retry: RetryPolicy
    max_redirects: int = 10
    max_body_bytes: int = 2_000_000

    # -- answers -------------------------------------------------------------------------

    def response(self, job: Job, status: int, reason: str, headers: Mapping[str, str], body: Body,
                 now: float) -> Done | Again:
        if body.expired:
            # Cut mid-headers, http.client may still build a "response" from the
            # fragment it had; nothing in it can be trusted.
            return timed_out("the URL's deadline passed while the server was answering")
        job.status = status
        job.final_url = job.current
        if status in _REDIRECTS and headers.get("location"):
            return self._follow(job, status, headers["location"])
        if status == 429:  # before the HEAD fallback: a rate limit applies to GET just the same
            return self.retry.rate_limited(job, now, parse_retry_after(headers.get("retry-after"), time.time()))
        if job.method == "HEAD" and status not in _TRUSTED_HEAD:
            job.method = "GET"  # HEAD refused or mishandled: ask properly before judging
            return Again()
        if status in _BLOCKING:
            challenge = bot_challenge(status, headers, body.read(SNIFF_BYTES))
            why = challenge or f"{status} {reason or _BLOCKING[status]}: the site refuses this client"
            return Done(Verdict.blocked, why, Verdict.blocked.default_suggestion)
        if status >= 500:
            challenge = bot_challenge(status, headers, body.read(SNIFF_BYTES))
            if challenge:
                return Done(Verdict.blocked, challenge, Verdict.blocked.default_suggestion)
            return self.retry.failed(job, f"{status} {reason}".strip(), now)
        if status in _GONE:
            return Done(Verdict.broken, f"{status} {_GONE[status]}: the page is gone",
                        "find its new address or use the archived copy")
        if 400 <= status < 500:
            return Done(Verdict.broken, f"{status} {reason or 'client error'}: the server rejects the URL",
                        "check the URL for a typo or find the page's new address")
        if not 200 <= status < 300:
            return Done(Verdict.broken, f"unexpected status {status} {reason}".strip(), "check the URL by hand")
        return self._page(job, status, headers, body)

    def _page(self, job: Job, status: int, headers: Mapping[str, str], body: Body) -> Done | Again:
        """A 2xx: look at the body if anything needs it, then decide ok/redirected/soft_broken."""
        ctype = headers.get("content-type", "").lower()
        job.content_is_html = not ctype or "html" in ctype
        job.anchors, job.bytes_read, job.body_truncated = None, 0, False  # this page's, not an earlier hop's
        text = ""
        if job.method == "GET" and job.content_is_html:
            wanted = {f for f in job.originals.values() if f is not None}
            if job.need_body:
                text = body.read(self.max_body_bytes, wanted=wanted or None)
            else:
                text = body.read(SNIFF_BYTES)
            if body.expired:
                return timed_out("reading the page took longer than its deadline")
        challenge = bot_challenge(status, headers, text) if text else None
        if challenge:
            return Done(Verdict.blocked, challenge, Verdict.blocked.default_suggestion)
        if text:
            for detector in self.detectors:
                reason = detector.detect(job.current, status, headers, text)
                if reason:
                    return Done(Verdict.soft_broken, reason, Verdict.soft_broken.default_suggestion)
        page = self._page_ok(job)
        for detector in self.detectors:
            probe = detector.probe_url(job.current) if detector.probe_url else None
            if probe:
                job.page_result, job.probing, job.current = page, detector, probe
                return Again()
        return page

    @staticmethod
    def _page_ok(job: Job) -> Done:
        if job.permanent:
            chain = " -> ".join(f"{code} {url}" for code, url in job.hops)
            return Done(Verdict.redirected, f"permanently redirected ({chain})", f"replace the URL with {job.current}")
        if job.hops:
            return Done(Verdict.ok, f"{job.status} OK after {len(job.hops)} temporary redirect(s)", "nothing to do")
        return Done(Verdict.ok, f"{job.status} OK", "nothing to do")

    def probe(self, job: Job, status: int, body: Body) -> Done:
        """The oEmbed-style second opinion; any answer but a clear "gone" keeps the page's verdict."""
        assert job.probing is not None and job.page_result is not None and job.probing.judge_probe
        page, job.current = job.page_result, job.final_url or job.base
        if body.expired:
            return page
        reason = job.probing.judge_probe(status, body.read(SNIFF_BYTES) if status < 300 else "")
        return Done(Verdict.soft_broken, reason, Verdict.soft_broken.default_suggestion) if reason else page

    def _follow(self, job: Job, status: int, location: str) -> Done | Again:
        target = urljoin(job.current, location.strip())
        target_base, target_fragment = urldefrag(target)
        job.hops.append((status, target))
        if status in _PERMANENT:
            job.permanent = True
        if status == 303:
            job.method = "GET"
        if target_base in job.visited:
            chain = " -> ".join([job.base] + [u for _, u in job.hops])
            return Done(Verdict.broken, f"redirect loop: {chain}",
                        "the site redirects in a circle; report it to the site or link elsewhere")
        if len(job.hops) > self.max_redirects:
            return Done(Verdict.broken, f"more than {self.max_redirects} redirects",
                        "link to the page the redirects end at, or report the chain to the site")
        try:
            self.policy.check_syntax(target_base)
        except UrlRefused as err:
            return Done(Verdict.invalid, f"redirected to {target}, which is refused: {err}",
                        Verdict.invalid.default_suggestion)
        if target_fragment and checkable_fragment(target_fragment):
            # The redirect names its own fragment; that one is what the browser looks for.
            for url in job.originals:
                job.originals[url] = target_fragment
            job.need_body = True
            job.method = "GET"
        job.visited.add(target_base)
        job.current = job.final_url = target_base
        return Again()

    # -- failures ------------------------------------------------------------------------

    def error(self, job: Job, err: BaseException, expired: bool, stopped: bool, now: float) -> Done | Again:
        """Turn a failed request into a verdict or a retry."""
        if expired:
            return timed_out("stopped" if stopped else "the URL's deadline passed")
        if job.probing is not None:
            # The page itself answered; a probe failing says nothing about it.
            assert job.page_result is not None
            job.current = job.final_url or job.base
            return job.page_result
        kind, detail = classify_error(err)
        if kind is ErrorKind.timeout:
            return self.retry.timed_out(job, detail, now)
        if kind in _ERROR_VERDICTS:
            verdict, explanation, suggestion = _ERROR_VERDICTS[kind]
            parts = urlsplit(job.current)
            return Done(verdict, explanation.format(host=parts.netloc, name=parts.hostname, detail=detail),
                        suggestion or verdict.default_suggestion)
        return self.retry.failed(job, f"connection failed ({detail})", now)


# --------------------------------------------------------------------------- #
# Results
# --------------------------------------------------------------------------- #


def results(job: Job, done: Done, now: float) -> list[Result]:
    """One Result per URL given for ``job``, each with its own fragment's fate."""
    out = []
    for url, fragment in job.originals.items():
        verdict, explanation, suggestion = done.verdict, done.explanation, done.suggestion
        status = bytes_read = None
        if verdict.is_success and fragment is not None:
            status = fragment_status(job, fragment)
            if status is FragmentStatus.missing:
                verdict = Verdict.fragment_missing
                explanation = f"the page has no element with id or name {fragment!r}"
                suggestion = Verdict.fragment_missing.default_suggestion
            elif status is FragmentStatus.not_verified:
                bytes_read = job.bytes_read
        out.append(result(job, url, verdict, explanation, suggestion, now,
                          fragment_status=status, bytes_read=bytes_read))
    return out


def fragment_status(job: Job, fragment: str) -> FragmentStatus | None:
    """Whether the page read for ``job`` has the element ``fragment`` names (None: not looked for)."""
    if not job.content_is_html:
        return FragmentStatus.not_html
    if job.anchors is None:
        return None
    if has_anchor(job.anchors, fragment):
        return FragmentStatus.found
    # Not seen in what we read; when the cap cut the page short, the rest may have it. No alarm.
    return FragmentStatus.not_verified if job.body_truncated else FragmentStatus.missing


def result(job: Job, url: str, verdict: Verdict, explanation: str, suggestion: str, now: float,
           **facts) -> Result:
    """A Result for ``url`` of ``job`` with what the job learnt (status, hops, attempts, time)."""
    elapsed = (now - job.started) if job.started is not None else 0.0
    return Result(url=url, verdict=verdict, status=job.status, final_url=job.final_url or job.current,
                  elapsed=elapsed, attempts=job.attempts, explanation=explanation,
                  suggestion=suggestion or verdict.default_suggestion, redirects=list(job.hops), **facts)
