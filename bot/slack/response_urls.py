"""Where a ``response_url`` may point, so a payload can't make the bot POST to any host.

Slack's response URLs live on its hooks hosts. The origin of ``SLACK_API_URL`` (scheme, host
and port) is allowed too: it is already trusted with the bot token, and it is how a proxy,
or a test's stand-in on 127.0.0.1, receives them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

SLACK_HOOK_HOSTS = ("hooks.slack.com", "hooks.slack-gov.com")
MAX_URL_CHARS = 2000
# Printable ASCII without spaces or backslashes: nothing two URL parsers could read apart.
PLAIN_URL = re.compile(r"[!-\[\]-~]+", re.ASCII)
DEFAULT_PORTS = {"http": 80, "https": 443}

Origin = tuple[str, str, int]


def _origin(url: str) -> Origin | None:
    if len(url) > MAX_URL_CHARS or not PLAIN_URL.fullmatch(url):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a port that isn't a number, or a malformed IPv6 host
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname or "@" in parts.netloc:
        return None
    return parts.scheme, parts.hostname, port or DEFAULT_PORTS[parts.scheme]


@dataclass(frozen=True)
class ResponseUrls:
    origins: frozenset[Origin]

    @classmethod
    def for_api_url(cls, api_url: str) -> ResponseUrls:
        hooks = {("https", host, 443) for host in SLACK_HOOK_HOSTS}
        api = _origin(api_url)
        return cls(frozenset(hooks | ({api} if api else set())))

    def allows(self, url: object) -> bool:
        return isinstance(url, str) and _origin(url) in self.origins
