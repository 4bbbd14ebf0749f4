"""``Watcher``: a background thread that keeps one process's FAQ current.

Every ``POLL_SECONDS`` it reads the change counter (one row; a full reload only when it
moved), so an edit made on any process is answered here within the poll. When the dataset
is a Hub dataset at a branch, every ``FAQ_REFRESH_SECONDS`` it also asks the Hub which
commit the branch is at, and on a new one loads that commit and swaps it in.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from bot.errors import UserError
from bot.live.hub import branch_commit, follows_branch

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.live.faq import LiveFaq

log = logging.getLogger(__name__)

POLL_SECONDS = 2.0  # well inside the 10 s an edit may take to reach every process


class Watcher:
    def __init__(self, live: LiveFaq, settings: Settings, *,
                 poll_seconds: float = POLL_SECONDS) -> None:
        self.live = live
        self.settings = settings
        self.poll_seconds = poll_seconds
        self.follows_hub = (follows_branch(settings.faq_dataset, settings.faq_dataset_revision)
                            and settings.faq_refresh_seconds > 0)
        self._next_hub_check = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="faq-watcher", daemon=True)

    def start(self) -> Watcher:
        self._next_hub_check = time.monotonic() + self.settings.faq_refresh_seconds
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.tick()
            except Exception:  # the watcher must outlive any one bad reload
                log.exception("FAQ refresh failed; still serving the loaded FAQ")

    def tick(self) -> None:
        """One poll: the change counter always, the Hub branch when it is due."""
        if self.live.refresh():
            faq = self.live.faq
            log.info("FAQ reloaded: %d FAQs, %d edited", len(faq), len(faq.edited))
        if self.follows_hub and time.monotonic() >= self._next_hub_check:
            self._next_hub_check = time.monotonic() + self.settings.faq_refresh_seconds
            self.check_hub()

    def check_hub(self) -> bool:
        """Load and swap in the branch's new commit, if it moved; True if it did."""
        settings = self.settings
        commit = branch_commit(settings.faq_dataset, settings.faq_dataset_revision,
                               settings.hf_token)
        if commit is None:
            log.warning("could not ask the Hub about %s@%s; still serving the loaded FAQ",
                        settings.faq_dataset, settings.faq_dataset_revision)
            return False
        if commit == self.live.commit:
            return False
        from bot.faq.dataset import load_faq
        from bot.faq.embedders import create_embedder

        current = self.live.answerer.embedder
        try:
            fresh = create_embedder(settings, revision=commit)  # a re-tune brings its model
            embedder = current if fresh.model_id == current.model_id else fresh
            base = load_faq(settings.faq_dataset, embedder, revision=commit,
                            texts=settings.faq_texts, token=settings.hf_token)
        except UserError as error:
            log.warning("new commit %s of %s not loaded (%s); still serving the loaded FAQ",
                        commit[:12], settings.faq_dataset, error.problem)
            return False
        self.live.rebase(base, commit=commit,
                         embedder=None if embedder is current else embedder)
        log.info("loaded commit %s of %s", commit[:12], settings.faq_dataset)
        return True
