"""One start-up and one shutdown for both transports (HTTP and Socket Mode).

Both load the FAQ and the embedder with the database's FAQ edits merged over it, open the
store, build the Bolt app on a listener pool (with the phrasing learner and the App Home's
facts), settle the heap, and start the watcher that keeps the FAQ current and the
housekeeping that purges the log past LOG_RETENTION_DAYS; on the way out they stop both and
let in-flight replies finish before closing the store.
"""

from __future__ import annotations

import gc
import logging
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.config import Settings
    from bot.faq.answerer import Answerer
    from bot.live import Watcher
    from bot.runtime.housekeeping import Housekeeping
    from bot.runtime.reminders import Reminders
    from bot.storage import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Runtime:
    """Everything a running bot holds; ``close`` releases it in the right order."""

    app: App
    answerer: Answerer
    executor: Executor
    store: Store
    watcher: Watcher
    reminders: Reminders | None = None  # None: nobody to ask (FAQ_EXPERTS unset)
    housekeeping: Housekeeping | None = None  # None: the log is kept for ever

    def describe(self) -> str:
        return f"{len(self.answerer.faq)} FAQs from {self.answerer.faq.source}"

    def close(self) -> None:
        """Stop reloading, finish the replies already queued, then close the database."""
        self.watcher.stop()
        if self.reminders is not None:
            self.reminders.stop()
        if self.housekeeping is not None:
            self.housekeeping.stop()
        log.info("finishing in-flight replies")
        self.executor.shutdown(wait=True)
        self.store.close()


def start(settings: Settings) -> Runtime:
    """Load the FAQ, open the store and build the app; ``UserError`` names what is wrong.

    The loader is patient (see ``load_answerer``): a cold Inference API model is waited for,
    so a booting dyno doesn't crash-loop.
    """
    from bot.live import Learner, Watcher, open_live
    from bot.report.home import HomeReport
    from bot.runtime.housekeeping import housekeeping_for
    from bot.runtime.reminders import Reminders
    from bot.slack.app import create_app, listener_executor
    from bot.slack.services import handoff_for

    live = open_live(settings, patient=True, watched=True)
    executor = listener_executor()
    store = live.store
    try:
        learner = Learner(live, auto_accept=settings.faq_auto_learn)
        app = create_app(settings, live.answerer, executor=executor, deduper=store,
                         recorder=store, editing=live, learning=learner, escalations=store,
                         home=HomeReport(store=store, answerer=live.answerer,
                                         too_close=learner.too_close))
    except BaseException:
        executor.shutdown(wait=False)
        store.close()
        raise
    live.answerer.ready()  # the first health answer is fresh, not a default
    settle_heap()
    watcher = Watcher(live, settings).start()
    handoff = handoff_for(settings, store)
    reminders = None if handoff is None else Reminders(app.client, handoff).start()
    housekeeping = housekeeping_for(settings, store)
    if housekeeping is not None:
        housekeeping.start()
    return Runtime(app=app, answerer=live.answerer, executor=executor, store=store,
                   watcher=watcher, reminders=reminders, housekeeping=housekeeping)


def settle_heap() -> None:
    """Move everything loaded so far out of the garbage collector's sight.

    The loaded libraries and dataset leave ~50k long-lived objects; a full collection walks
    them all and pauses every thread for ~25 ms, inside whichever replies are in flight.
    """
    gc.collect()
    gc.freeze()
