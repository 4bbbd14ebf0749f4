"""Requests that fail Slack's signature check: counted, and logged at most once a minute.

A wrong SLACK_SIGNING_SECRET fails every request Slack sends, and Bolt answers each 401 with
only an INFO line (hidden without -v, and carrying the request's body). Here each failure is
counted and sorted by its likely cause, and one WARNING a minute gives the count since the
last one with the fix, so a flood of forged requests costs one line a minute. Never logged:
the secret, the signature, the body.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable

from bot.slack.credentials import SIGNING_SECRET_HELP

log = logging.getLogger(__name__)

WINDOW_SECONDS = 60.0
# slack_sdk's SignatureVerifier refuses a timestamp further than this from the local clock.
CLOCK_SKEW_SECONDS = 5 * 60
# Bolt logs each failure here at INFO, with the request body (a slash command's carries the
# legacy verification token); the WARNING below replaces it.
BOLT_VERIFICATION_LOGGER = "slack_bolt.RequestVerification"

SECRET, CLOCK, UNSIGNED, MALFORMED = "secret", "clock", "unsigned", "malformed"
CAUSES = {
    SECRET: "signed with another secret: if Slack sent them, SLACK_SIGNING_SECRET is wrong; "
            f"{SIGNING_SECRET_HELP}, then restart faqbot serve",
    CLOCK: f"timestamped over {CLOCK_SKEW_SECONDS // 60} minutes from this server's clock: "
           "if Slack sent them, set the server's clock right (NTP)",
    UNSIGNED: "without Slack's signature headers: not from Slack (a scanner, or a proxy "
              "that drops X-Slack-* headers)",
    MALFORMED: "with repeated or malformed signature headers: not from Slack",
}


def cause(headers: dict[str, list[str]], now: float) -> str:
    """Why a request Bolt refused failed the check, from its headers alone."""
    signature = headers.get("x-slack-signature", [""])[0]
    timestamp = headers.get("x-slack-request-timestamp", [""])[0]
    if not signature or not timestamp:
        return UNSIGNED
    if not timestamp.isdigit():
        return MALFORMED
    return CLOCK if abs(now - int(timestamp)) > CLOCK_SKEW_SECONDS else SECRET


class _DropBoltLine(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


class SignatureFailures:
    """Thread-safe: the HTTP server's dispatch threads all record here."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic,
                 window: float = WINDOW_SECONDS) -> None:
        self._clock = clock
        self._window = window
        self._lock = threading.Lock()
        self._pending: Counter[str] = Counter()
        self._last_warning: float | None = None
        bolt = logging.getLogger(BOLT_VERIFICATION_LOGGER)
        if not any(isinstance(f, _DropBoltLine) for f in bolt.filters):
            bolt.addFilter(_DropBoltLine())

    def record(self, why: str) -> None:
        """Count one failure; warn now unless a warning went out within the window."""
        log.debug("refused a request that failed Slack's signature check (%s)", why)
        with self._lock:
            self._pending[why] += 1
            now = self._clock()
            if self._last_warning is not None and now - self._last_warning < self._window:
                return
            first, self._last_warning = self._last_warning is None, now
            counts, self._pending = self._pending, Counter()
        log.warning("%s", _message(counts, first=first))

    def flush(self) -> None:
        """On shutdown: the failures counted since the last warning, if any."""
        with self._lock:
            counts, self._pending = self._pending, Counter()
        if counts:
            log.warning("%s", _message(counts, first=False))


def _message(counts: Counter[str], *, first: bool) -> str:
    total = sum(counts.values())
    requests = "request" if total == 1 else "requests"
    since = "" if first else " since the last such warning"
    parts = [f"{n} {CAUSES[why]}" for why, n in counts.most_common()]
    return (f"{total} {requests} failed Slack's signature check{since} (answered 401; "
            f"counted, and warned about at most once a minute): {'; '.join(parts)}")
