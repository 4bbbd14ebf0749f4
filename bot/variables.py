"""Environment variables that look like faqbot's but that it doesn't read.

A typo such as ``FAQ_DATSET`` would otherwise be ignored without a word, and the bot would
serve the sample FAQ. The names and their prefixes come from ``bot.config.VARIABLES``, so a
new setting is known here as soon as ``Settings`` has it.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from bot.config import VARIABLES

# Namespaces faqbot shares with other tools, never warned about: Hugging Face's libraries
# read dozens of HF_ variables (HF_HOME, HF_HUB_OFFLINE, HF_ENDPOINT…), and HF_TOKEN is theirs.
SHARED_PREFIXES = frozenset({"HF_"})
# What Slack's own SDKs (slack_sdk, slack_bolt) read; tests/test_variables.py checks this
# against the installed ones. Bolt acts on some of them (SLACK_CLIENT_ID with
# SLACK_CLIENT_SECRET turns on its OAuth flow), so they are someone's choice, not a typo.
SLACK_SDK_VARIABLES = frozenset({
    "SLACK_API_TOKEN", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_INSTALL_PATH",
    "SLACK_INSTALLATION_S3_BUCKET_NAME", "SLACK_REDIRECT_URI", "SLACK_REDIRECT_URI_PATH",
    "SLACK_SCOPES", "SLACK_STATE_S3_BUCKET_NAME", "SLACK_USER_SCOPES",
    "SLACK_VERIFICATION_TOKEN"})
PREFIXES: tuple[str, ...] = tuple(sorted(
    {name.split("_", 1)[0] + "_" for name in VARIABLES if "_" in name} - SHARED_PREFIXES))


@dataclass(frozen=True)
class Unknown:
    """One variable with faqbot's prefix that faqbot doesn't read; never its value."""

    name: str
    closest: str | None
    in_dotenv: bool

    @property
    def problem(self) -> str:
        where = " (in .env)" if self.in_dotenv else ""
        return f"{self.name}{where} is not a faqbot setting, so it is ignored"

    @property
    def fix(self) -> str:
        if self.closest:
            return f"did you mean {self.closest}? Rename it, or remove it"
        return "remove it, or pick the setting you meant from .env.example"

    def message(self) -> str:
        return f"{self.problem}; {self.fix}"


def unknown_variables(environ: Mapping[str, str],
                      from_dotenv: Collection[str] = ()) -> list[Unknown]:
    """Every variable in ``environ`` with one of faqbot's prefixes that neither faqbot nor
    Slack's SDK reads, with the closest real name (``from_dotenv``: the names .env set)."""
    found = []
    for name in sorted(environ):
        upper = name.upper()  # faq_dataset is a typo of FAQ_DATASET too
        if (upper.startswith(PREFIXES) and name not in VARIABLES
                and name not in SLACK_SDK_VARIABLES):
            closest = difflib.get_close_matches(upper, VARIABLES, n=1)
            found.append(Unknown(name, closest[0] if closest else None, name in from_dotenv))
    return found
