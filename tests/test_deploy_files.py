"""Procfile, app.json and the Slack manifest agree with the code they deploy."""

from __future__ import annotations

import json
from pathlib import Path

from bot.cli import COMMANDS
from bot.config import VARIABLES
from bot.runtime.http import EVENTS_PATH
from bot.slack import listeners
from bot.slack.listeners.commands import COMMAND
from bot.slack.modals import SAVE_SHORTCUT
from bot.storage.url import parse_url
from bot.variables import unknown_variables

ROOT = Path(__file__).resolve().parent.parent


def test_procfile_runs_faqbot_commands() -> None:
    processes = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines())
    assert processes == {"web": "faqbot serve", "worker": "faqbot socket"}
    assert {cmd.split()[1] for cmd in processes.values()} <= COMMANDS.keys()


def test_manifest_asks_for_the_minimal_scopes_and_events() -> None:
    manifest = json.loads((ROOT / "manifest.json").read_text())
    assert sorted(manifest["oauth_config"]["scopes"]["bot"]) == sorted([
        "app_mentions:read", "channels:history", "groups:history", "im:history", "chat:write",
        "commands",
        # Asking a person: the 🙋/✅ on the question, and a direct message to the experts
        # (one person, or a group DM, whose replies it reads) when a private question has
        # no triage channel; who is in an expert user group, to claim or resolve.
        "reactions:write", "im:write", "mpim:write", "mpim:history", "usergroups:read"])
    settings = manifest["settings"]
    assert sorted(settings["event_subscriptions"]["bot_events"]) == [
        "app_home_opened", "app_mention", "message.channels", "message.groups", "message.im",
        "message.mpim"]
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == COMMAND
    urls = [command["url"], settings["event_subscriptions"]["request_url"],
            settings["interactivity"]["request_url"]]
    assert urls == [f"https://YOUR-APP.example.com{EVENTS_PATH}"] * 3
    assert settings["interactivity"]["is_enabled"] is True
    assert manifest["features"]["app_home"]["messages_tab_read_only_enabled"] is False  # DMs


def test_manifest_offers_save_as_faq_on_messages_without_more_scopes() -> None:
    """The shortcut reads a thread's first message with conversations.replies, which the
    *:history scopes above already cover, and opens modals, which needs no scope."""
    manifest = json.loads((ROOT / "manifest.json").read_text())
    [shortcut] = manifest["features"]["shortcuts"]
    assert (shortcut["type"], shortcut["callback_id"]) == ("message", SAVE_SHORTCUT)
    assert shortcut["name"] == "Save as FAQ"
    assert 0 < len(shortcut["description"]) <= 80  # Slack's cap on a shortcut's description


def test_manifest_shows_the_app_home_without_more_scopes() -> None:
    """``app_home_opened`` and ``views.publish`` need no scope of their own."""
    manifest = json.loads((ROOT / "manifest.json").read_text())
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert "app_home_opened" in manifest["settings"]["event_subscriptions"]["bot_events"]
    assert "app_home_opened" in registered_events()


def registered_events() -> list[object]:
    """What every ``app.event(…)`` listener ``listeners.register`` adds listens to."""
    found: list[object] = []

    class Recording:
        def event(self, name: object):
            found.append(name)
            return lambda handler: handler

        def __getattr__(self, _name: str):
            return lambda *args, **kwargs: (lambda handler: handler)

    listeners.register(Recording())  # type: ignore[arg-type]
    return found


def test_app_json_requires_what_serve_requires() -> None:
    app = json.loads((ROOT / "app.json").read_text())
    required = {name for name, spec in app["env"].items() if spec.get("required")}
    assert required == {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"}
    assert app["formation"]["web"]["quantity"] == 1
    assert app["formation"]["worker"]["quantity"] == 0  # HTTP or Socket Mode, never both


def test_app_json_adds_postgresql_for_the_database() -> None:
    """A dyno's disk is wiped on every restart, and faqbot refuses SQLite there: the add-on
    sets DATABASE_URL (postgres://…), which faqbot reads as it is."""
    app = json.loads((ROOT / "app.json").read_text())
    [addon] = [a for a in app["addons"] if a["plan"].split(":")[0] == "heroku-postgresql"]
    assert addon.get("as", "DATABASE") == "DATABASE"  # so its URL is in DATABASE_URL
    assert "DATABASE_URL" not in app["env"]  # the add-on's, not the user's to fill in
    assert parse_url("postgres://u:p@host:5432/db").drivername == "postgresql+psycopg"


def test_app_json_names_only_variables_faqbot_reads() -> None:
    app = json.loads((ROOT / "app.json").read_text())
    assert unknown_variables(app["env"]) == []
    assert set(app["env"]) <= set(VARIABLES)
