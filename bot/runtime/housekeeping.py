"""The housekeeping thread: every serving process purges the log past LOG_RETENTION_DAYS.

It runs once at start and then hourly, on a thread of its own, so no reply ever waits for
it. Which process purges doesn't matter: every batch re-checks what is still to purge, so
processes running it at once share the work instead of repeating it. Between two batches
it pauses at least as long as the batch took, so the purge holds the database (SQLite's one
write lock) at most half the time, and never for longer than one batch.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.storage import Purged, Store

log = logging.getLogger(__name__)

EVERY_SECONDS = 3600.0  # retention is counted in days: an hour late is on time
SHORTEST_PAUSE = 0.005


class Housekeeping:
    def __init__(self, store: Store, *, retention_days: int,
                 every: float = EVERY_SECONDS) -> None:
        if retention_days < 1:
            raise ValueError("retention_days must be >= 1 (0, keep for ever, needs no thread)")
        self.store = store
        self.retention = timedelta(days=retention_days)
        self.every = every
        self._stop = threading.Event()
        self._resumed = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="faqbot-housekeeping",
                                        daemon=True)

    def start(self) -> Housekeeping:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ends a purge in progress after its current batch."""
        self._stop.set()
        self._thread.join(timeout=10)

    def run_once(self) -> Purged | None:
        """One purge of everything past the retention; None if the database was down."""
        self._resumed = time.monotonic()
        purged = self.store.purge_log(self.retention, between=self._between)
        if purged is not None and purged.total:
            log.info("purged the log past LOG_RETENTION_DAYS=%d: %s",
                     self.retention.days, purged)
        return purged

    def _between(self) -> bool:
        """After a batch: pause as long as it took (other writers go first); False once
        the process is stopping."""
        busy = time.monotonic() - self._resumed
        stopping = self._stop.wait(max(SHORTEST_PAUSE, busy))
        self._resumed = time.monotonic()
        return not stopping

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # the thread must outlive any one failed purge
                log.exception("the log purge failed; it runs again within the hour")
            self._stop.wait(self.every)


def housekeeping_for(settings: Settings, store: Store) -> Housekeeping | None:
    """The housekeeping LOG_RETENTION_DAYS asks for, not started; None for 0 (keep for ever)."""
    days = settings.log_retention_days
    return Housekeeping(store, retention_days=days) if days else None
