"""The link checker: fetch URLs politely and turn each into a `Verdict`.

Library API (the CLI in `learnpath.linkcheck.command` is a thin layer on it)::

    from learnpath.linkcheck import Checker, FetchOptions, Verdict

    checker = Checker(FetchOptions(per_host=2, read_timeout=10))
    for result in checker.check(["https://example.org/a", "https://example.org/b#intro"]):
        print(result.verdict.icon, result.url, result.explanation, "->", result.suggestion)

Names are imported on first use: a run answered from the history alone never
pays for importing ``requests``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from learnpath.lazy import lazy_exports

_EXPORTS = {
    "DEFAULT_DETECTORS": "detectors", "Detector": "detectors", "default_detectors": "detectors",
    "youtube_detector": "detectors",
    "Checker": "checker", "CheckStats": "hosts", "FetchOptions": "options", "USER_AGENT": "options",
    "AddressPolicy": "netguard", "UrlRefused": "netguard",
    "FragmentStatus": "verdicts", "Result": "verdicts", "Verdict": "verdicts",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from learnpath.linkcheck.detectors import DEFAULT_DETECTORS, Detector, default_detectors, youtube_detector
    from learnpath.linkcheck.checker import Checker
    from learnpath.linkcheck.hosts import CheckStats
    from learnpath.linkcheck.options import USER_AGENT, FetchOptions
    from learnpath.linkcheck.netguard import AddressPolicy, UrlRefused
    from learnpath.linkcheck.verdicts import FragmentStatus, Result, Verdict


__getattr__ = lazy_exports(__name__, _EXPORTS, globals())
