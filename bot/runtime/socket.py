"""``faqbot socket``: Socket Mode, for workspaces where Slack can't reach an HTTP endpoint.

Same app and listeners as HTTP mode; Slack's events arrive over a websocket instead. The
connection is ours (``bot.runtime.socket_client``: why slack_sdk's clients are not used);
envelopes go through Bolt's own Socket Mode request handling, so they are answered exactly as
over HTTP.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from slack_bolt.adapter.socket_mode.base_handler import BaseSocketModeHandler
from slack_bolt.adapter.socket_mode.internals import run_bolt_app, send_response
from slack_sdk.errors import SlackApiError

from bot.errors import UserError
from bot.runtime.signals import StopSignal
from bot.runtime.socket_client import SocketModeClient
from bot.runtime.startup import start
from bot.slack.credentials import APP_TOKEN_HELP, require_socket

if TYPE_CHECKING:
    from slack_bolt import App
    from slack_sdk.socket_mode.request import SocketModeRequest

    from bot.config import Settings

log = logging.getLogger(__name__)


class SocketModeHandler(BaseSocketModeHandler):
    """Bolt's Socket Mode adapter, on faqbot's client: run the app, ack with its response."""

    def __init__(self, app: App, *, app_token: str) -> None:
        self.app = app
        self.client = SocketModeClient(app_token, app.client)
        self.client.socket_mode_request_listeners.append(self.handle)

    def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        started = time.time()
        send_response(client, req, run_bolt_app(self.app, req), started)


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
    with StopSignal() as stop:
        log.info("connected in Socket Mode; %s", runtime.describe())
        stop.wait()
        log.info("shutting down")
    handler.close()
    runtime.close()
    return 0
