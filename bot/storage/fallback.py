"""What keeps dedupe working while the database is down.

``LocalClaims`` remembers the keys this process claimed lately, so a redelivery to the same
process is refused even mid-outage, and which of them the database has not seen yet.
``Outage`` says whether to try the database now, and warns once per outage, not per message.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

Key = tuple[str, str, str]

# Slack stops redelivering after about 5 minutes; at 50 messages/s this still covers ~7.
DEFAULT_MAX_KEYS = 20_000


class LocalClaims:
    """A bounded, thread-safe set of claimed keys; the oldest go first when full."""

    def __init__(self, max_keys: int = DEFAULT_MAX_KEYS) -> None:
        self._max_keys = max_keys
        self._keys: OrderedDict[Key, None] = OrderedDict()
        self._pending: set[Key] = set()  # claimed here while the database was down
        self._lock = threading.Lock()

    def seen(self, key: Key) -> bool:
        with self._lock:
            return key in self._keys

    def add(self, key: Key, *, pending: bool) -> bool:
        """True if the key was new here."""
        with self._lock:
            if key in self._keys:
                return False
            self._keys[key] = None
            if pending:
                self._pending.add(key)
            if len(self._keys) > self._max_keys:
                oldest, _ = self._keys.popitem(last=False)
                self._pending.discard(oldest)
            return True

    def pending(self) -> list[Key]:
        with self._lock:
            return list(self._pending)

    def mark_stored(self, keys: list[Key]) -> None:
        with self._lock:
            self._pending.difference_update(keys)


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
        self._next_try = 0.0
        self._dropped = 0

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

    def succeeded(self) -> None:
        with self._lock:
            if not self._down:
                return
            self._down, dropped, self._dropped = False, self._dropped, 0
        self._log.info("the database %s is back; %d log rows were dropped while it was down",
                       self._target, dropped)
