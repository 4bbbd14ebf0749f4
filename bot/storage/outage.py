"""``Outage``: whether to try the database now, warning once per outage, not per message."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable


class Outage:
    """Healthy, or down since a failure; when down, one caller per interval retries."""

    def __init__(self, *, target: str, log: logging.Logger, retry_interval: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._target = target
        self._log = log
        self._retry_interval = retry_interval
        self._clock = clock
        self._lock = threading.Lock()
        self._down = False
        self._failures = 0  # how many failures so far: tells a stale success from a recovery
        self._next_try = 0.0
        self._dropped = 0

    def attempt(self) -> int:
        """Mark the start of an attempt; pass the result to ``succeeded``."""
        with self._lock:
            return self._failures

    def should_try(self) -> bool:
        with self._lock:
            if not self._down:
                return True
            now = self._clock()
            if now < self._next_try:
                return False
            self._next_try = now + self._retry_interval
            return True

    def failed(self, problem: str) -> None:
        with self._lock:
            first = not self._down
            self._down = True
            self._failures += 1
            self._next_try = self._clock() + self._retry_interval
        if first:
            self._log.warning("cannot use the database %s (%s); claiming messages in this "
                              "process only and dropping log rows until it is back",
                              self._target, problem)
        else:
            self._log.debug("database still unavailable: %s", problem)

    def dropped(self) -> None:
        with self._lock:
            self._dropped += 1

    def succeeded(self, attempt: int) -> None:
        """An attempt that started at ``attempt`` worked. One that began before the latest
        failure (a transaction that committed just as the database went away) proves
        nothing about now."""
        with self._lock:
            if not self._down or attempt < self._failures:
                return
            self._down, dropped, self._dropped = False, self._dropped, 0
        self._log.info("the database %s is back; %d log rows were dropped while it was down",
                       self._target, dropped)
