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
from bot.runtime.startup import start
from bot.slack.credentials import APP_TOKEN_HELP, require_socket

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)


def run_socket(settings: Settings) -> int:
    """Connect and answer until SIGTERM/SIGINT, then let in-flight replies finish."""
    require_socket(settings)
    runtime = start(settings)
    handler = SocketModeHandler(runtime.app, app_token=settings.slack_app_token)
    try:
        handler.connect()
    except SlackApiError as error:
        handler.close()
        runtime.close()
        raise UserError(f"Slack rejected SLACK_APP_TOKEN ({error.response.get('error')})",
                        APP_TOKEN_HELP) from None
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    log.info("connected in Socket Mode; %s", runtime.describe())
    stop.wait()
    log.info("shutting down")
    handler.close()
    runtime.close()
    return 0
