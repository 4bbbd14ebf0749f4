"""A logging filter that masks secrets carried in URLs, whoever logs them.

With ``-v``, urllib3 logs every request line with its query (``POST /embed?api_key=…``) and
slack_sdk logs the URL it calls, credentials included (``http://admin:PW@…``). Neither can
be told not to, so the CLI puts this filter on its log handlers: the records of every
library pass through it. Values are replaced by ``***``; the URL's shape stays, for debugging.
"""

from __future__ import annotations

import logging
import re

MASK = "***"

# user:password@ (or a bare token@) between "://" and the host.
_USERINFO = re.compile(r"(?<=://)[^/\s@?#]+@")
# A query or form parameter whose name says it holds a secret.
_SECRET_PARAM = re.compile(
    r"(?<=[?&;])((?:api[_-]?key|key|access[_-]?token|refresh[_-]?token|token|secret|"
    r"client[_-]?secret|password|passwd|pwd|pass|signature|sig|auth|ticket)=)[^&#\s\"'<>]*",
    re.IGNORECASE)


def mask_url_secrets(text: str) -> str:
    return _SECRET_PARAM.sub(rf"\1{MASK}", _USERINFO.sub(f"{MASK}@", text))


class MaskUrlSecrets(logging.Filter):
    """Masks the formatted message and the traceback text; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_url_secrets(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_url_secrets(record.exc_text)
        return True


def install(logger: logging.Logger) -> None:
    """Put the filter on every handler of ``logger`` (the root, after basicConfig)."""
    for handler in logger.handlers:
        if not any(isinstance(f, MaskUrlSecrets) for f in handler.filters):
            handler.addFilter(MaskUrlSecrets())
