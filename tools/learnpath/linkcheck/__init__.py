"""The link checker: fetch URLs politely and turn each into a `Verdict`.

Library API (the CLI in `learnpath.linkcheck.command` is a thin layer on it)::

    from learnpath.linkcheck import Checker, FetchOptions, Verdict

    checker = Checker(FetchOptions(per_host=2, read_timeout=10))
    for result in checker.check(["https://example.org/a", "https://example.org/b#intro"]):
        print(result.verdict.icon, result.url, result.explanation, "->", result.suggestion)
"""

from learnpath.linkcheck.detectors import DEFAULT_DETECTORS, Detector, default_detectors, youtube_detector
from learnpath.linkcheck.fetch import USER_AGENT, CheckStats, Checker, FetchOptions, check_urls
from learnpath.linkcheck.netguard import AddressPolicy, UrlRefused
from learnpath.linkcheck.verdicts import Result, Verdict

__all__ = [
    "AddressPolicy", "CheckStats", "Checker", "DEFAULT_DETECTORS", "Detector", "FetchOptions", "Result",
    "USER_AGENT", "UrlRefused", "Verdict", "check_urls", "default_detectors", "youtube_detector",
]
