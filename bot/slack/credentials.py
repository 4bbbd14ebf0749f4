"""Refuse to start without well-formed Slack credentials, naming where to find them.

Messages name the variable and the Slack settings page, never the value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.errors import UserError

if TYPE_CHECKING:
    from bot.config import Settings

APPS_PAGE = "https://api.slack.com/apps"
BOT_TOKEN_HELP = (f"copy the Bot User OAuth Token (xoxb-…) from OAuth & Permissions in your "
                  f"app's settings at {APPS_PAGE}")
SIGNING_SECRET_HELP = (f"copy the Signing Secret from Basic Information → App Credentials in "
                       f"your app's settings at {APPS_PAGE}")
APP_TOKEN_HELP = ("create an app-level token (xapp-…) with the connections:write scope under "
                  f"Basic Information → App-Level Tokens at {APPS_PAGE}, and enable Socket Mode")


def _malformed(value: str) -> bool:
    """Pasted with quotes, spaces or line breaks inside: a copy-paste accident."""
    return any(c.isspace() or c in "\"'" for c in value)


def _token_problem(token: str, variable: str, prefix: str, kind: str, help_text: str,
                   unset_note: str = "") -> UserError | None:
    """Unset, or not a token of its kind: one check for the bot token and the app token."""
    if not token:
        return UserError(f"{variable} is not set{unset_note}", help_text)
    if not token.startswith(prefix) or _malformed(token):
        return UserError(f"{variable} is not {kind} (it must start with {prefix})", help_text)
    return None


def bot_token_problem(settings: Settings) -> UserError | None:
    return _token_problem(settings.slack_bot_token, "SLACK_BOT_TOKEN", "xoxb-", "a bot token",
                          BOT_TOKEN_HELP)


def signing_secret_problem(settings: Settings) -> UserError | None:
    secret = settings.slack_signing_secret
    if not secret:
        return UserError("SLACK_SIGNING_SECRET is not set", SIGNING_SECRET_HELP)
    if _malformed(secret) or secret.startswith(("xox", "xapp-")):
        return UserError("SLACK_SIGNING_SECRET does not look like a signing secret "
                         "(a token, or quotes or spaces inside)", SIGNING_SECRET_HELP)
    return None


def app_token_problem(settings: Settings) -> UserError | None:
    return _token_problem(settings.slack_app_token, "SLACK_APP_TOKEN", "xapp-",
                          "an app-level token", APP_TOKEN_HELP, " (Socket Mode needs it)")


def require_http(settings: Settings) -> None:
    """``faqbot serve`` needs the bot token and the signing secret."""
    for problem in (bot_token_problem(settings), signing_secret_problem(settings)):
        if problem is not None:
            raise problem


def require_socket(settings: Settings) -> None:
    """``faqbot socket`` needs the bot token and an app-level token."""
    for problem in (bot_token_problem(settings), app_token_problem(settings)):
        if problem is not None:
            raise problem
