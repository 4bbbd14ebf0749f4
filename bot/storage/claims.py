"""Claim each user message once, so it gets exactly one reply.

The same message arrives twice when it mentions the bot (``message`` and ``app_mention``),
and Slack redelivers events it thinks timed out (``X-Slack-Retry-Num``). Both carry the same
(team, channel, ts), which is what is claimed. ``Store`` claims in the database, across
processes; ``LocalClaims`` is the in-process set it falls back on, and the claim store of a
bot run without a database.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Protocol

Key = tuple[str, str, str]

# About 5 MB. At a sustained 50 messages/s that is ~7 minutes of keys, still longer than
# Slack's retry window (about 5 minutes); the oldest keys go first.
DEFAULT_MAX_KEYS = 20_000


class ClaimStore(Protocol):
    def claim(self, team: str, channel: str, ts: str) -> bool:
        """True the first time a (team, channel, ts) is claimed, False ever after."""
        ...

    def complete(self, team: str, channel: str, ts: str) -> None:
        """The claimed message was dealt with: its claim no longer expires."""
        ...


class LocalClaims:
    """A bounded, thread-safe set of claimed keys, oldest evicted first, with an optional TTL.

    It also remembers which keys were claimed while the database was down (``pending``), so
    the store can write them back once it answers again.
    """

    def __init__(self, *, ttl: float | None = None, max_keys: int = DEFAULT_MAX_KEYS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if (ttl is not None and ttl <= 0) or max_keys < 1:
            raise ValueError("ttl must be > 0 (or None) and max_keys >= 1")
        self._ttl = math.inf if ttl is None else ttl
        self._max_keys = max_keys
        self._clock = clock
        self._expiry: OrderedDict[Key, float] = OrderedDict()
        self._pending: set[Key] = set()
        self._lock = threading.Lock()

    def claim(self, team: str, channel: str, ts: str) -> bool:
        return self.add((team, channel, ts), pending=False)

    def complete(self, team: str, channel: str, ts: str) -> None:
        """In-process claims don't expire mid-reply: a crash forgets them all anyway."""

    def seen(self, key: Key) -> bool:
        with self._lock:
            self._expire(self._clock())
            return key in self._expiry

    def add(self, key: Key, *, pending: bool) -> bool:
        """True if the key was new here; ``pending``: the database has not seen it yet."""
        now = self._clock()
        with self._lock:
            self._expire(now)
            if key in self._expiry:
                return False
            self._expiry[key] = now + self._ttl
            if pending:
                self._pending.add(key)
            if len(self._expiry) > self._max_keys:
                oldest, _ = self._expiry.popitem(last=False)
                self._pending.discard(oldest)
            return True

    def pending(self) -> list[Key]:
        with self._lock:
            return list(self._pending)

    def mark_stored(self, keys: Iterable[Key]) -> None:
        with self._lock:
            self._pending.difference_update(keys)

    def __len__(self) -> int:
        with self._lock:
            self._expire(self._clock())
            return len(self._expiry)

    def _expire(self, now: float) -> None:
        """Keys are inserted in expiry order (one TTL), so expired ones sit at the front."""
        while self._expiry:
            key, expiry = next(iter(self._expiry.items()))
            if expiry > now:
                return
            del self._expiry[key]
            self._pending.discard(key)
