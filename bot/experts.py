"""``FAQ_EXPERTS``: who a question goes to when its asker wants a person.

``S0DEFAULT,C0HR=S0HR,C0IT=U1|U2``: an entry without ``=`` is the default, the others map a
channel to a Slack user group (``S…``) or to user ids joined by ``|``. Checked at start-up,
so a typo fails with a one-line error instead of escalating to nobody.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.errors import UserError

GROUP = re.compile(r"S[A-Z0-9]{2,31}", re.ASCII)
USER = re.compile(r"[UW][A-Z0-9]{2,31}", re.ASCII)
CHANNEL = re.compile(r"[CGD][A-Z0-9]{2,31}", re.ASCII)
_FIX = ("set FAQ_EXPERTS to a default and CHANNEL=WHO pairs, WHO a user group id (S…) or "
        "user ids joined by |, e.g. S0DEFAULT,C0HR=S0HR,C0IT=U012AB|U034CD")


@dataclass(frozen=True)
class Who:
    """One user group, or some users: as stored (``experts``) and as a mention."""

    group: str = ""
    users: tuple[str, ...] = ()

    @property
    def stored(self) -> str:
        return self.group or "|".join(self.users)

    @property
    def mention(self) -> str:
        if self.group:
            return f"<!subteam^{self.group}>"
        return " ".join(f"<@{user}>" for user in self.users)

    def includes(self, user: str) -> bool:
        """Whether ``user`` is one of these experts, as far as the bot can tell without
        reading the group's members (it needs no extra scope for that)."""
        return user in self.users


def who(raw: str) -> Who:
    """``Who`` from its stored or configured form; ``UserError`` naming the bad part."""
    if GROUP.fullmatch(raw):
        return Who(group=raw)
    users = tuple(u for u in raw.split("|"))
    if users and all(USER.fullmatch(u) for u in users):
        return Who(users=users)
    raise UserError(f"FAQ_EXPERTS holds {raw[:40]!r}, which is neither a user group id "
                    "nor user ids", _FIX)


@dataclass(frozen=True)
class Experts:
    default: Who | None = None
    by_channel: Mapping[str, Who] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.default is not None or bool(self.by_channel)

    def for_channel(self, channel: str) -> Who | None:
        """The experts for questions asked in ``channel``; None: nobody is set for it."""
        return self.by_channel.get(channel, self.default)

    def includes(self, user: str) -> bool:
        """Whether ``user`` is named as an expert anywhere (user groups aside)."""
        return any(w.includes(user) for w in (self.default, *self.by_channel.values()) if w)


def parse_experts(raw: str) -> Experts:
    default: Who | None = None
    by_channel: dict[str, Who] = {}
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        if "=" not in part:
            if default is not None:
                raise UserError("FAQ_EXPERTS names two defaults", _FIX)
            default = who(part)
            continue
        channel, _, target = (p.strip() for p in part.partition("="))
        if not CHANNEL.fullmatch(channel):
            raise UserError(f"FAQ_EXPERTS maps {channel[:40]!r}, which is not a channel id",
                            _FIX)
        by_channel[channel] = who(target)
    return Experts(default=default, by_channel=by_channel)
