"""Slack markup → the plain question the FAQ engine sees."""

from __future__ import annotations

import pytest

from bot.slack.text import clean, mentions, plain


@pytest.mark.parametrize(("raw", "expected"), [
    ("<@U0BOT> how do I get a new card?", "how do I get a new card?"),
    ("<@U0BOT|faqbot> hi <@W123ABC>", "hi"),
    ("see <https://medicare.gov/card|the card page>", "see the card page"),
    ("see <https://medicare.gov/card>", "see https://medicare.gov/card"),
    ("mail <mailto:help@example.com|help@example.com>", "mail help@example.com"),
    ("asked in <#C123|benefits> and <#C456>", "asked in #benefits and"),
    ("<!here> <!channel> anyone?", "anyone?"),
    ("ping <!subteam^S1|@hr-team> please", "ping @hr-team please"),
    ("due <!date^1392734382^{date}|Feb 18, 2014>", "due Feb 18, 2014"),
    ("why?\n```Traceback (most recent call last):\n  boom\n```\nthanks", "why? thanks"),
    ("unclosed ```fence runs to the end", "unclosed"),
    ("what does `part b` cost", "what does part b cost"),
    (":wave: hi :+1::skin-tone-3: there :100:", "hi there"),
    ("meeting at 10:30:45 today", "meeting at 10:30:45 today"),
    ("A &amp; B &lt;3 &gt; C", "A & B <3 > C"),
    ("  lots\n\tof   space  ", "lots of space"),
    ("<@U0BOT>", ""),
    ("", ""),
])
def test_clean(raw: str, expected: str) -> None:
    assert clean(raw) == expected


def test_long_text_is_left_whole_for_the_engine_to_cap() -> None:
    assert clean("word " * 1000) == ("word " * 1000).strip()


def test_mentions() -> None:
    assert mentions("hey <@U0BOT> help", "U0BOT")
    assert mentions("<@U0BOT|faqbot> help", "U0BOT")
    assert not mentions("hey <@U0BOTX> help", "U0BOT")
    assert not mentions("hey <@U1>", "U0BOT")
    assert not mentions("<@U0BOT>", "")


@pytest.mark.parametrize(("raw", "expected"), [
    ("<@U0BOT> hi <@U1|bob>", "@U0BOT hi @bob"),
    ("see <https://x.org/a|the page> or <https://y.org>", "see the page (https://x.org/a) or https://y.org"),
    ("<https://x.org|https://x.org>", "https://x.org"),
    ("mail <mailto:help@example.com|help@example.com>", "mail help@example.com"),
    ("<!here> <!channel> ping <!subteam^S1|@hr-team>", "@here @channel ping @hr-team"),
    ("due <!date^1392734382^{date}|Feb 18, 2014>", "due Feb 18, 2014"),
    ("in <#C123|benefits>", "in #benefits"),
    ("A &amp; B &lt;3 &gt; C", "A & B <3 > C"),
    ("step 1\n```pip install x```\n:tada: `done`", "step 1\n```pip install x```\n:tada: `done`"),
    ("  padded\n", "padded"),
    ("lone \ud800 surrogate", "lone \ufffd surrogate"),
    ("", ""),
])
def test_plain_keeps_what_an_answer_needs(raw: str, expected: str) -> None:
    """For prefilling the FAQ modal: readable text, with code, emoji and lines kept."""
    assert plain(raw) == expected
