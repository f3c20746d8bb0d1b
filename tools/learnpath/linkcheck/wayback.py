"""Suggest an archived copy for a link that is confirmed broken.

The Wayback Machine's availability API answers ``GET {base}?url=URL`` with
``{"archived_snapshots": {"closest": {"available": true, "url": ..., "timestamp": ...,
"status": "200"}}}`` or ``{"archived_snapshots": {}}``. A lookup is a courtesy:
a slow, down or odd answer means "no suggestion", never an error, and every
lookup is bounded in time.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # requests is imported when a lookup happens: a cached run never needs it
    import requests

DEFAULT_WAYBACK_URL = "https://archive.org/wayback/available"
# Wayback's own back end gives up after 5 s; waiting longer gains nothing.
DEFAULT_TIMEOUT = 6.0
# Confirmed-broken links are few on a good catalog; cap the work on a bad day.
MAX_LOOKUPS = 50
PARALLEL_LOOKUPS = 4
# The answer is a few hundred bytes; anything much larger is not Wayback talking.
MAX_BODY = 64 * 1024


@dataclass(frozen=True)
class Snapshot:
    """The archived copy closest to now."""

    url: str
    timestamp: str  # YYYYMMDDhhmmss, as Wayback gives it


def closest_snapshot(
    url: str,
    base_url: str = DEFAULT_WAYBACK_URL,
    timeout: float = DEFAULT_TIMEOUT,
    session: requests.Session | None = None,
    user_agent: str | None = None,
) -> Snapshot | None:
    """Ask for the closest archived copy of ``url``; None when there is none or Wayback cannot say."""
    import requests

    getter = session or requests
    headers = {"User-Agent": user_agent} if user_agent else {}
    deadline = time.monotonic() + timeout
    try:
        response = getter.get(base_url, params={"url": url}, timeout=(min(timeout, 5.0), timeout),
                              headers=headers, stream=True)
        with response:
            if response.status_code != 200:
                return None
            body = _read_bounded(response, deadline)
        data = json.loads(body) if body is not None else None
    except (requests.RequestException, ValueError, OSError):
        return None
    return _parse(data)


def _read_bounded(response: requests.Response, deadline: float) -> bytes | None:
    """Read at most ``MAX_BODY`` bytes before ``deadline``: a dripping server cannot hold us."""
    body = bytearray()
    for chunk in response.iter_content(64):
        body.extend(chunk)
        if len(body) > MAX_BODY or time.monotonic() > deadline:
            return None
    return bytes(body)


def _parse(data: object) -> Snapshot | None:
    """Pull the closest snapshot out of an availability answer, tolerating any shape."""
    if not isinstance(data, dict):
        return None
    snapshots = data.get("archived_snapshots")
    closest = snapshots.get("closest") if isinstance(snapshots, dict) else None
    if not isinstance(closest, dict) or closest.get("available") is not True:
        return None
    url, stamp = closest.get("url"), closest.get("timestamp")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return None
    if str(closest.get("status", "200")) != "200":
        return None  # an archived 404 is no replacement
    return Snapshot(url=_prefer_https(url), timestamp=str(stamp or ""))


def _prefer_https(url: str) -> str:
    """Wayback answers with http:// links; its site serves the same pages over https."""
    prefix = "http://web.archive.org/"
    return "https://web.archive.org/" + url[len(prefix):] if url.startswith(prefix) else url


def lookup_many(
    urls: Iterable[str],
    base_url: str = DEFAULT_WAYBACK_URL,
    timeout: float = DEFAULT_TIMEOUT,
    user_agent: str | None = None,
) -> dict[str, Snapshot | None]:
    """Look up several URLs a few at a time, all within about ``2 x timeout`` in total.

    URLs beyond ``MAX_LOOKUPS`` and lookups still running at the deadline get
    no answer (absent from the result). The workers are daemon threads, so a
    stuck archive can neither stall the report nor keep the process alive.
    """
    import requests

    todo: queue.SimpleQueue[str] = queue.SimpleQueue()
    unique = list(dict.fromkeys(urls))[:MAX_LOOKUPS]
    for url in unique:
        todo.put(url)
    deadline = time.monotonic() + 2 * timeout + 1
    answers: dict[str, Snapshot | None] = {}
    lock = threading.Lock()

    def work() -> None:
        session = requests.Session()
        while time.monotonic() < deadline - 0.5:
            try:
                url = todo.get_nowait()
            except queue.Empty:
                return
            answer = closest_snapshot(url, base_url, min(timeout, deadline - time.monotonic()),
                                      session, user_agent)
            with lock:
                answers[url] = answer

    workers = [threading.Thread(target=work, name="wayback", daemon=True)
               for _ in range(min(PARALLEL_LOOKUPS, len(unique)))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))
    with lock:
        return dict(answers)
