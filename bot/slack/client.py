"""The one way faqbot builds a Slack ``WebClient``: configured base URL, 429s retried."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)

if TYPE_CHECKING:
    from bot.config import Settings

TIMEOUT_SECONDS = 10
RATE_LIMIT_RETRIES = 2


def web_client(settings: Settings) -> WebClient:
    """A WebClient for ``SLACK_API_URL`` that waits out 429s as Slack's Retry-After asks.

    Bolt copies base_url and retry handlers into the per-request clients it hands listeners.
    """
    return WebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=TIMEOUT_SECONDS,
        retry_handlers=[
            ConnectionErrorRetryHandler(),
            RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
        ],
    )
