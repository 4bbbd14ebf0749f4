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

import numpy as np

from bot.errors import UserError
from bot.faq import edits, revisions
from bot.faq.dataset import embed_in_batches
from bot.faq.edits import FaqEdit
from bot.faq.revisions import EditChanged, Revision, Seen
from bot.live.codec import decode, encode
from bot.live.hub import branch_commit, follows_branch
from bot.storage import StaleEdit

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.faq.answerer import Answerer
    from bot.faq.dataset import FaqData
    from bot.faq.embedders import Embedder
    from bot.faq.sources import FaqRow
    from bot.storage import Store

log = logging.getLogger(__name__)

# A save merges again when another lands between its read and its write; it gives up (with a
# clear error) only if that happens this many times in a row.
SAVE_ATTEMPTS = 5


class LiveFaq:
    """Thread-safe: listeners save while the watcher refreshes."""

    def __init__(self, answerer: Answerer, store: Store, *, commit: str | None = None) -> None:
        self.answerer = answerer
        self.store = store
        self.commit = commit  # the Hub commit the dataset was loaded at, when it follows one
        self._base = answerer.faq
        self._base_model: Embedder | None = None  # a rebase's own model (a re-tune), if any
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

    def rebase(self, base: FaqData, *, commit: str | None = None,
               embedder: Embedder | None = None) -> None:
        """Serve a new dataset (a new Hub commit), with the stored edits merged over it (the
        ones last read, while the database is down: edits never vanish with a reload).
        ``embedder``: the commit's own (re-tuned) model, swapped in with its vectors."""
        with self._lock:
            self._base, self.commit = base, commit
            self._base_model = embedder or self._base_model
            if not self._remerge(self.store.faq_version()):
                self._merge(self._edits, self._seen)

    def _remerge(self, version: int | None) -> bool:
        stored = self.store.faq_edits() if version is not None else None
        if stored is None:
            return False
        return self._merge([decode(s) for s in stored], version)

    def _merge(self, found: list[FaqEdit], version: int | None) -> bool:
        try:
            model = self._base_model or self.answerer.embedder  # the one of _base's vectors
            merged = edits.merge(self._base, found, model)
        except UserError as error:
            log.warning("FAQ edits not applied (%s); still serving the previous FAQ",
                        error.problem)
            return False
        self.answerer.swap(merged, model)
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

    def save(self, row: FaqRow, *, editor: str, replacing: str | None = None,
             since: Seen | None = None, merge: bool = True) -> FaqRow:
        """Validate, embed and store ``row`` (a new FAQ, or ``replacing``'s new text), then
        answer from it here at once; returns what was saved. ``UserError`` names what
        stopped it.

        ``since`` is what the editor started from. When the FAQ changed after that, their
        change is merged with the newer one where the two touched different fields
        (``merge``), else ``EditChanged`` says who changed it, and when. The write itself
        only lands on the version it was merged with, so no concurrent save is lost: a
        newer one makes it merge again. Checked against the FAQ as every process has it
        now, and a new id is stored only if no other process stored it meanwhile."""
        for _ in range(SAVE_ATTEMPTS):
            self.refresh()
            saved, expected = row, None
            if replacing is not None:
                # The version first: a swap between the two reads then only makes the write
                # stale (and merged again), never lets a stale read pass as current.
                expected = self.revision(replacing).version
                current = self.existing(replacing)
                if since is not None and not revisions.unchanged(since, current):
                    saved = self._merged(row, current, since, merge=merge)
            found = self.problems(saved, replacing=replacing)
            if found:
                field, problem = next(iter(found.items()))
                raise UserError(f"{field}: {problem}", f"change the {field} and try again")
            try:
                stored = self.store.save_faq_edit(
                    encode(saved, self._vectors(saved),
                           model_id=self.answerer.embedder.model_id, editor=editor),
                    new=replacing is None, expected=expected)
            except StaleEdit:
                continue  # saved by someone else since this read: merge with theirs
            if stored is None:
                raise UserError(f"an FAQ with id {row.id!r} was saved elsewhere a moment ago",
                                "look at it with `faqbot faq list`, and edit it instead")
            self.refresh()
            return saved
        raise UserError(f"the FAQ {replacing!r} kept changing while this was saved",
                        "save it again")

    def _merged(self, mine: FaqRow, current: FaqRow, since: Seen, *, merge: bool) -> FaqRow:
        """``mine`` merged with what changed since the editor's read, or ``EditChanged``."""
        changed = self.revision(current.id)
        try:
            merged = revisions.merge(since, mine, current)
        except revisions.Conflict as conflict:
            raise EditChanged(current, changed, conflict.fields) from None
        if not merge:
            raise EditChanged(current, changed, (), merged=merged)
        return merged

    def revision(self, faq_id: str) -> Revision:
        """Who last changed the FAQ in the database, and the change's version (0: never)."""
        for edit in reversed(self._edits):
            if edit.id == faq_id:
                return Revision(version=edit.version, editor=edit.editor, at=edit.at)
        return Revision()

    def _vectors(self, row: FaqRow) -> np.ndarray:
        """Unit vectors for ``row``'s phrasings: the current FAQ's for the phrasings it keeps
        (an answer fix embeds nothing, a new alternate only itself), the rest embedded in
        batches."""
        faq = self.faq
        at = faq.row_of(row.id)
        known: dict[str, np.ndarray] = {}
        if at is not None:
            known = dict(zip(faq.rows[at].phrasings, faq.vectors(at), strict=True))
        missing = [p for p in dict.fromkeys(row.phrasings) if p not in known]
        if missing:
            fresh = embed_in_batches(self.answerer.embedder, missing, progress=False)
            known.update(zip(missing, fresh, strict=True))
        return np.stack([known[p] for p in row.phrasings])

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
