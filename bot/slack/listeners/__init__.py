"""Bolt listeners, one module per kind of request; each exposes ``register(app)``."""

from __future__ import annotations

from slack_bolt import App

from bot.slack.listeners import (
    actions,
    commands,
    escalations,
    home,
    messages,
    shortcuts,
    views,
)


def register(app: App) -> None:
    messages.register(app)
    commands.register(app)
    home.register(app)  # before actions: its Edit button is the one matched on the Home
    actions.register(app)
    escalations.register(app)
    shortcuts.register(app)
    views.register(app)
