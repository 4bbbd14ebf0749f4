"""Claim each user message once, so it gets exactly one reply.

The same message arrives twice when it mentions the bot (``message`` and ``app_mention``),
and Slack redelivers events it thinks timed out (``X-Slack-Retry-Num``). Both carry the same
(team, channel, ts), which is what we claim. This store is per process; a shared store
(e.g. the database behind ``bot.store``) can replace it by offering the same ``claim``.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

# Slack gives up redelivering after about 5 minutes; keep keys well beyond that.
DEFAULT_TTL_SECONDS = 3600.0
# About 5 MB. At a sustained 50 messages/s that is ~7 minutes of keys, still longer than
# Slack's retry window; the oldest keys go first.
DEFAULT_MAX_KEYS = 20_000


class ClaimStore(Protocol):
    def claim(self, team: str, channel: str, ts: str) -> bool:
        """True the first time a (team, channel, ts) is claimed, False ever after."""
        ...


class Deduper:
    """In-memory, thread-safe claims with a TTL and a size bound (oldest evicted first)."""

    def __init__(self, *, ttl: float = DEFAULT_TTL_SECONDS, max_keys: int = DEFAULT_MAX_KEYS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if ttl <= 0 or max_keys < 1:
            raise ValueError("ttl must be > 0 and max_keys >= 1")
        self._ttl = ttl
        self._max_keys = max_keys
        self._clock = clock
        self._expiry: OrderedDict[tuple[str, str, str], float] = OrderedDict()
        self._lock = threading.Lock()

    def claim(self, team: str, channel: str, ts: str) -> bool:
        key = (team, channel, ts)
        now = self._clock()
        with self._lock:
            self._expire(now)
            if key in self._expiry:
                return False
            self._expiry[key] = now + self._ttl
            if len(self._expiry) > self._max_keys:
                self._expiry.popitem(last=False)
            return True

    def __len__(self) -> int:
        with self._lock:
            return len(self._expiry)

    def _expire(self, now: float) -> None:
        """Keys are inserted in expiry order (one TTL), so expired ones sit at the front."""
        while self._expiry:
            key, expiry = next(iter(self._expiry.items()))
            if expiry > now:
                return
            del self._expiry[key]
