"""``faqbot socket``: Socket Mode, for workspaces where Slack can't reach an HTTP endpoint.

Same app and listeners as HTTP mode; Slack's events arrive over a websocket instead.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import TYPE_CHECKING

from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.errors import SlackApiError

from bot.errors import UserError
from bot.slack.app import create_app, listener_executor
from bot.slack.credentials import APP_TOKEN_HELP, require_socket

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger("bot.slack.socket")


def run_socket(settings: Settings) -> int:
    """Connect and answer until SIGTERM/SIGINT, then let in-flight replies finish."""
    from bot.faq.answerer import load_answerer
    from bot.heap import settle_heap
    from bot.store import open_store

    require_socket(settings)
    answerer = load_answerer(settings, patient=True)
    executor = listener_executor()
    store = open_store(settings)
    app = create_app(settings, answerer, executor=executor, deduper=store, recorder=store)
    handler = SocketModeHandler(app, app_token=settings.slack_app_token)
    try:
        handler.connect()
    except SlackApiError as error:
        handler.close()
        raise UserError(f"Slack rejected SLACK_APP_TOKEN ({error.response.get('error')})",
                        APP_TOKEN_HELP) from None
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    settle_heap()
    log.info("connected in Socket Mode; %d FAQs loaded", len(answerer.faq.rows))
    stop.wait()
    log.info("shutting down: finishing in-flight replies")
    handler.close()
    executor.shutdown(wait=True)
    store.close()
    return 0
