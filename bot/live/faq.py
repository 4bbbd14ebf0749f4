"""``LiveFaq``: the loaded dataset with the database's FAQ edits merged over it.

Every process holds one. An edit is validated against the merged FAQ, embedded once by the
process that makes it, stored with its vectors, and the change counter is bumped; each
process (this one at once, the others at their next poll) then builds the merged FAQ aside
and swaps it into the ``Answerer`` in one step.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from bot.errors import UserError
from bot.faq import edits
from bot.faq.dataset import embed_phrasings
from bot.faq.edits import FaqEdit
from bot.live.codec import decode, encode
from bot.live.hub import branch_commit, follows_branch

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.faq.answerer import Answerer
    from bot.faq.dataset import FaqData
    from bot.faq.sources import FaqRow
    from bot.storage import Store

log = logging.getLogger(__name__)


class LiveFaq:
    """Thread-safe: listeners save while the watcher refreshes."""

    def __init__(self, answerer: Answerer, store: Store, *, commit: str | None = None) -> None:
        self.answerer = answerer
        self.store = store
        self.commit = commit  # the Hub commit the dataset was loaded at, when it follows one
        self._base = answerer.faq
        self._seen: int | None = None  # the change version the merged FAQ reflects
        self._edits: list[FaqEdit] = []  # as last read, for a rebase while the database is down
        self._lock = threading.Lock()

    @property
    def faq(self) -> FaqData:
        return self.answerer.faq

    def refresh(self) -> bool:
        """Merge the stored edits again if the change counter moved; True if it swapped.

        When nothing changed this costs one single-row read. A database that is down, or
        an edit that can't be merged, leaves the current FAQ serving.
        """
        with self._lock:
            version = self.store.faq_version()
            if version is None or version == self._seen:
                return False
            return self._remerge(version)

    def rebase(self, base: FaqData, *, commit: str | None = None) -> None:
        """Serve a new dataset (a new Hub commit), with the stored edits merged over it (the
        ones last read, while the database is down: edits never vanish with a reload)."""
        with self._lock:
            self._base, self.commit = base, commit
            if not self._remerge(self.store.faq_version()):
                self._merge(self._edits, self._seen)

    def _remerge(self, version: int | None) -> bool:
        stored = self.store.faq_edits() if version is not None else None
        if stored is None:
            return False
        return self._merge([decode(s) for s in stored], version)

    def _merge(self, found: list[FaqEdit], version: int | None) -> bool:
        try:
            merged = edits.merge(self._base, found, self.answerer.embedder)
        except UserError as error:
            log.warning("FAQ edits not applied (%s); still serving the previous FAQ",
                        error.problem)
            return False
        self.answerer.swap(merged)
        self._seen, self._edits = version, found
        log.debug("FAQ merged: %d FAQs, %d edited (change %s)", len(merged),
                  len(merged.edited), version)
        return True

    def problems(self, row: FaqRow, *, replacing: str | None = None) -> dict[str, str]:
        """What's wrong with ``row`` as an edit, by field (empty: it can be saved)."""
        found = edits.problems(self.faq, row, replacing=replacing)
        if replacing is not None and self.faq.by_id(replacing) is None:
            found["question"] = f"there is no FAQ with id {replacing!r} (retired, or never made)"
        return found

    def save(self, row: FaqRow, *, editor: str, replacing: str | None = None) -> FaqRow:
        """Validate, embed and store ``row`` (a new FAQ, or ``replacing``'s new text), then
        answer from it here at once; ``UserError`` names what stopped it.

        Checked against the FAQ as every process has it now (a refresh first), and a new id
        is stored only if no other process stored it meanwhile."""
        self.refresh()
        found = self.problems(row, replacing=replacing)
        if found:
            field, problem = next(iter(found.items()))
            raise UserError(f"{field}: {problem}", f"change the {field} and try again")
        vectors = embed_phrasings(self.answerer.embedder, [row], progress=False)[0]
        stored = self.store.save_faq_edit(
            encode(row, vectors, model_id=self.answerer.embedder.model_id, editor=editor),
            new=replacing is None)
        if stored is None:
            raise UserError(f"an FAQ with id {row.id!r} was saved elsewhere a moment ago",
                            "look at it with `faqbot faq list`, and edit it instead")
        self.refresh()
        return row

    def existing(self, faq_id: str) -> FaqRow:
        """The FAQ with this id in the merged FAQ; ``UserError`` when there is none."""
        row = self.faq.by_id(faq_id)
        if row is None:
            raise UserError(f"there is no FAQ with id {faq_id!r}",
                            "see the ids with `faqbot faq list`")
        return row

    def retire(self, faq_id: str, *, editor: str) -> FaqRow:
        """Hide an FAQ on every process; ``UserError`` for an unknown id or the last FAQ."""
        row = self.existing(faq_id)
        if len(self.faq) == 1:
            raise UserError(f"{faq_id!r} is the only FAQ left", "add another FAQ first")
        self.store.save_faq_edit(encode(row, None, model_id=self.answerer.embedder.model_id,
                                        editor=editor, retired=True))
        self.refresh()
        return row


def open_live(settings: Settings, *, patient: bool = False, watched: bool = False,
              progress: Callable[[str], None] | None = None) -> LiveFaq:
    """The configured dataset and embedder, with the database's edits merged over them.

    ``watched`` (the servers): a Hub dataset at a branch is loaded at the commit the branch
    is at now, so the watcher compares later commits with the one really loaded.
    """
    from bot.faq.answerer import load_answerer
    from bot.storage import open_store

    commit = None
    if watched and follows_branch(settings.faq_dataset, settings.faq_dataset_revision):
        commit = branch_commit(settings.faq_dataset, settings.faq_dataset_revision,
                               settings.hf_token)
    loading = replace(settings, faq_dataset_revision=commit) if commit else settings
    live = LiveFaq(load_answerer(loading, patient=patient, progress=progress),
                   open_store(settings), commit=commit)
    live.refresh()
    return live
