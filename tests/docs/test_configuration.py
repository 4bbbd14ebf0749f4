"""bot/config.py, .env.example and docs/configuration.md name the same settings (issue 21):
a setting added to one and not the others fails here."""

from __future__ import annotations

import re

from bot.config import PLATFORM_VARIABLES, VARIABLES
from tests.docs.markdown import ROOT


def read_by_config() -> set[str]:
    """The variables faqbot reads (``VARIABLES``, which tests/test_config.py checks against
    what ``Settings.from_env`` asks for), but those the platform sets, such as Heroku's DYNO."""
    return set(VARIABLES) - set(PLATFORM_VARIABLES)


def in_env_example() -> set[str]:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    return set(re.findall(r"^([A-Z][A-Z0-9_]*)=", text, re.M))


def in_configuration_page() -> set[str]:
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    return set(re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", text, re.M))


def test_the_settings_read_include_the_basics() -> None:
    assert {"SLACK_BOT_TOKEN", "FAQ_DATASET", "DATABASE_URL"} <= read_by_config()


def test_env_example_lists_every_setting_and_nothing_else() -> None:
    assert in_env_example() == read_by_config()


def test_the_configuration_page_lists_every_setting_and_nothing_else() -> None:
    assert in_configuration_page() == read_by_config()
