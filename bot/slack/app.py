"""``create_app``: the Bolt app with faqbot's listeners. Nothing is built at import time."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor
from typing import TYPE_CHECKING

from slack_bolt import App, BoltContext, BoltResponse
from slack_bolt.error import BoltError, BoltUnhandledRequestError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.errors import UserError
from bot.slack import listeners
from bot.slack.client import web_client
from bot.slack.credentials import BOT_TOKEN_HELP
from bot.slack.lanes import LanedExecutor, choose_lane
from bot.slack.services import (
    CONTEXT_KEY,
    RECEIVED_KEY,
    Escalations,
    FaqEditing,
    Home,
    Learning,
    Recorder,
    Services,
)
from bot.storage import ClaimStore, LocalClaims
from bot.urls import display_url

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.faq.answerer import Answerer

log = logging.getLogger("bot.slack")

# Slack gives up redelivering after about 5 minutes; keep in-process claims well beyond that.
LOCAL_CLAIM_SECONDS = 3600.0


class _SkipClientTokenWarning(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment by itself and then warns that the
    ``client`` we pass wins over it. It is the same token; the warning only confuses."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("As you gave `client` as well")


log.addFilter(_SkipClientTokenWarning())


def listener_executor() -> LanedExecutor:
    return LanedExecutor()


def create_app(settings: Settings, answerer: Answerer, *, client: WebClient | None = None,
               deduper: ClaimStore | None = None, recorder: Recorder | None = None,
               executor: Executor | None = None, editing: FaqEditing | None = None,
               learning: Learning | None = None, home: Home | None = None,
               escalations: Escalations | None = None) -> App:
    """A Bolt ``App`` answering from ``answerer``; calls ``auth.test`` once, here.

    ``deduper`` and ``recorder`` are usually one ``bot.storage.Store``: claims shared by
    every process on the database, and the question/feedback log. Without them, claims are
    in-process (kept an hour, well past Slack's retries) and nothing is logged. ``editing``
    (``bot.live.LiveFaq``) saves FAQ edits made from Slack by FAQ_EDITORS; ``learning``
    (``bot.live.Learner``) learns phrasings from the askers' own choice clicks and 👍, and
    takes editors' decisions on them; ``home`` (``bot.report.home.HomeReport``) gathers what
    an editor's App Home shows; ``escalations`` (the store) keeps questions handed to a
    person, offered when FAQ_EXPERTS is set.

    ``auth.test`` tells Bolt the bot's user id, which listeners use to ignore the bot's own
    messages and to spot mentions. Listeners run on ``executor`` after the ack
    (``process_before_response=False``); pass your own to drain it on shutdown.
    """
    client = client or web_client(settings)
    try:
        app = App(
            client=client,
            signing_secret=settings.slack_signing_secret,
            name="bot.slack.listeners",  # the logger listeners get
            logger=log,
            process_before_response=False,
            # Bolt's ssl_check step answers any form with ssl_check=1 before checking its
            # signature. Without it, a signed one still gets 200 (as an unhandled request).
            ssl_check_enabled=False,
            raise_error_for_unhandled_request=True,
            token_verification_enabled=True,
            listener_executor=executor or listener_executor(),
        )
    except BoltError as error:
        raise UserError(f"Slack rejected SLACK_BOT_TOKEN ({_reason(error)})",
                        BOT_TOKEN_HELP) from None
    except OSError as error:  # urllib's URLError and socket errors: Slack unreachable
        raise UserError(f"cannot reach the Slack API at {display_url(settings.slack_api_url)} "
                        f"({type(error).__name__})",
                        "check SLACK_API_URL and the network") from None
    faq = Services.for_settings(settings, answerer=answerer, recorder=recorder, editing=editing,
                                learning=learning, home=home, escalations=escalations,
                                deduper=deduper or LocalClaims(ttl=LOCAL_CLAIM_SECONDS))
    app.use(_attach(faq))
    app.use(choose_lane)
    app.error(handle_error)
    listeners.register(app)
    return app


def _reason(error: BoltError) -> str:
    cause = error.__context__
    if isinstance(cause, SlackApiError):
        return str(cause.response.get("error") or f"HTTP {cause.response.status_code}")
    return "auth.test failed"


def _attach(faq: Services) -> Callable[..., None]:
    def attach_services(context: BoltContext, next: Callable[[], None]) -> None:
        context[CONTEXT_KEY] = faq
        context[RECEIVED_KEY] = time.monotonic()
        next()

    return attach_services


def describe(error: SlackApiError) -> str:
    """One line about a failed Web API call: the method and Slack's error code, no token."""
    response = error.response
    method = str(response.api_url).rstrip("/").rsplit("/", 1)[-1]
    return f"{method} failed: {response.get('error') or f'HTTP {response.status_code}'}"


def handle_error(error: Exception) -> BoltResponse | None:
    """Bolt's global error handler: keep serving whatever went wrong.

    A signed request no listener wants (a reaction, an unknown button) is answered 200,
    not Bolt's 404, which Slack would retry. Web API errors are one log line; anything
    else is a bug, logged with its traceback.
    """
    if isinstance(error, BoltUnhandledRequestError):
        return BoltResponse(status=200, body="")
    if isinstance(error, SlackApiError):
        log.error("Slack API call %s", describe(error))
    else:
        log.exception("failed to handle a Slack request: %s", type(error).__name__)
    return None
