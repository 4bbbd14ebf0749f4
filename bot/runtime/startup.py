"""One start-up and one shutdown for both transports (HTTP and Socket Mode).

Both load the FAQ and the embedder, open the store, build the Bolt app on a listener pool,
settle the heap, and on the way out let in-flight replies finish before closing the store.
"""

from __future__ import annotations

import gc
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.config import Settings
    from bot.faq.answerer import Answerer
    from bot.storage import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Runtime:
    """Everything a running bot holds; ``close`` releases it in the right order."""

    app: App
    answerer: Answerer
    executor: ThreadPoolExecutor
    store: Store

    def describe(self) -> str:
        return f"{len(self.answerer.faq)} FAQs from {self.answerer.faq.source}"

    def close(self) -> None:
        """Finish the replies already queued, then close the database."""
        log.info("finishing in-flight replies")
        self.executor.shutdown(wait=True)
        self.store.close()


def start(settings: Settings) -> Runtime:
    """Load the FAQ, open the store and build the app; ``UserError`` names what is wrong.

    The loader is patient (see ``load_answerer``): a cold Inference API model is waited for,
    so a booting dyno doesn't crash-loop.
    """
    from bot.faq.answerer import load_answerer
    from bot.slack.app import create_app, listener_executor
    from bot.storage import open_store

    answerer = load_answerer(settings, patient=True)
    executor = listener_executor()
    store = open_store(settings)
    try:
        app = create_app(settings, answerer, executor=executor, deduper=store, recorder=store)
    except BaseException:
        executor.shutdown(wait=False)
        store.close()
        raise
    answerer.ready()  # the first health answer is fresh, not a default
    settle_heap()
    return Runtime(app=app, answerer=answerer, executor=executor, store=store)


def settle_heap() -> None:
    """Move everything loaded so far out of the garbage collector's sight.

    The loaded libraries and dataset leave ~50k long-lived objects; a full collection walks
    them all and pauses every thread for ~25 ms, inside whichever replies are in flight.
    """
    gc.collect()
    gc.freeze()
