"""bot/config.py, .env.example and docs/configuration.md name the same settings (issue 21):
a setting added to one and not the others fails here."""

from __future__ import annotations

import re
from typing import Any

from bot.config import PLATFORM_VARIABLES, Settings
from tests.docs.markdown import ROOT


class ReadRecorder(dict[str, str]):
    """An empty environment that remembers every name asked of it."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        self.names.add(name)
        return super().get(name, default)

    def __getitem__(self, name: str) -> str:
        self.names.add(name)
        return super().__getitem__(name)

    def __contains__(self, name: object) -> bool:
        self.names.add(str(name))
        return super().__contains__(name)


def read_by_config() -> set[str]:
    """The variables ``Settings.from_env`` reads: what faqbot actually understands (but
    those the platform sets, such as Heroku's DYNO)."""
    recorder = ReadRecorder()
    Settings.from_env(recorder)
    return recorder.names - set(PLATFORM_VARIABLES)


def in_env_example() -> set[str]:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    return set(re.findall(r"^([A-Z][A-Z0-9_]*)=", text, re.M))


def in_configuration_page() -> set[str]:
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    return set(re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", text, re.M))


def test_the_recorder_sees_what_from_env_reads() -> None:
    assert {"SLACK_BOT_TOKEN", "FAQ_DATASET", "DATABASE_URL"} <= read_by_config()


def test_env_example_lists_every_setting_and_nothing_else() -> None:
    assert in_env_example() == read_by_config()


def test_the_configuration_page_lists_every_setting_and_nothing_else() -> None:
    assert in_configuration_page() == read_by_config()
