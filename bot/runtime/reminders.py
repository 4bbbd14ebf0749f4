"""The reminder thread: every process looks for escalations owed their one reminder.

Which process sends it doesn't matter: taking a reminder is one conditional update in the
database, so exactly one of them does, and a process restarted in between finds the ones
still owed. It checks a few times per ESCALATION_REMIND_MINUTES (at most once a minute).
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from slack_sdk.errors import SlackApiError

from bot.errors import UserError
from bot.slack.handoff import remind_due
from bot.storage import utcnow

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from bot.slack.services import Handoff

log = logging.getLogger(__name__)

CHECKS_PER_PERIOD = 4
LONGEST_WAIT_SECONDS = 60.0


class Reminders:
    def __init__(self, client: WebClient, handoff: Handoff) -> None:
        self.client = client
        self.handoff = handoff
        self.every = min(LONGEST_WAIT_SECONDS,
                         handoff.remind_minutes * 60.0 / CHECKS_PER_PERIOD)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="faqbot-reminders", daemon=True)

    def start(self) -> Reminders:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                remind_due(self.client, self.handoff, utcnow())
            except (UserError, SlackApiError) as error:
                log.warning("reminders not sent this time: %s", error)
            except Exception:
                log.exception("the reminder check failed; it runs again shortly")
