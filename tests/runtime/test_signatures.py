"""Requests failing Slack's signature check: counted, one WARNING a minute at most, sorted by
likely cause, each cause with its fix."""

from __future__ import annotations

import logging

import pytest

from bot.runtime.signatures import (
    BOLT_VERIFICATION_LOGGER,
    CLOCK,
    MALFORMED,
    SECRET,
    UNSIGNED,
    SignatureFailures,
    cause,
)

NOW = 1_900_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.levelno == logging.WARNING and r.name == "bot.runtime.signatures"]


def test_one_warning_a_minute_with_the_count_since_the_last(
        caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    failures = SignatureFailures(clock=clock)
    with caplog.at_level(logging.WARNING):
        failures.record(SECRET)
        [first] = warnings(caplog)
        assert first.startswith("1 request failed Slack's signature check (answered 401")
        assert "SLACK_SIGNING_SECRET is wrong" in first and "Signing Secret" in first
        for second in range(1, 60):
            clock.now = second
            failures.record(SECRET)
        assert len(warnings(caplog)) == 1  # 59 more within the minute: counted, not logged
        clock.now = 60.0
        failures.record(CLOCK)
        second = warnings(caplog)[1]
        assert second.startswith("60 requests failed Slack's signature check since the last "
                                 "such warning")
        assert "59 signed with another secret" in second
        assert "1 timestamped over 5 minutes from this server's clock" in second
        clock.now = 61.0
        failures.record(UNSIGNED)
        failures.flush()  # on shutdown: what was counted since
        assert warnings(caplog)[2].startswith("1 request failed Slack's signature check since")
        assert "not from Slack" in warnings(caplog)[2]
        failures.flush()
        assert len(warnings(caplog)) == 3  # nothing pending, nothing said


@pytest.mark.parametrize(("headers", "expected"), [
    ({}, UNSIGNED),
    ({"x-slack-signature": ["v0=ab"]}, UNSIGNED),
    ({"x-slack-signature": ["v0=ab"], "x-slack-request-timestamp": ["-5"]}, MALFORMED),
    ({"x-slack-signature": ["v0=ab"], "x-slack-request-timestamp": [str(int(NOW) - 400)]},
     CLOCK),
    ({"x-slack-signature": ["v0=ab"], "x-slack-request-timestamp": [str(int(NOW) + 400)]},
     CLOCK),
    ({"x-slack-signature": ["v0=ab"], "x-slack-request-timestamp": [str(int(NOW) - 10)]},
     SECRET),
])
def test_the_likely_cause_comes_from_the_headers(headers: dict, expected: str) -> None:
    assert cause(headers, NOW) == expected


def test_bolts_own_line_with_the_body_is_dropped(caplog: pytest.LogCaptureFixture) -> None:
    """Bolt logs each failure at INFO with the body (a slash command's holds the legacy
    verification token); the counted WARNING replaces it."""
    SignatureFailures()
    with caplog.at_level(logging.DEBUG):
        logging.getLogger(BOLT_VERIFICATION_LOGGER).info("Invalid request signature detected "
                                                         "(body: token=legacy-token)")
    assert "legacy-token" not in caplog.text
