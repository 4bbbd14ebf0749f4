"""A local stand-in for the Slack Web API, for end-to-end tests that must not touch slack.com.

It listens on 127.0.0.1 only (an OS-chosen port), records every call so tests can assert on what
the bot sent, answers Slack-shaped JSON, and can inject 429/500 faults to exercise retry paths.
It also builds signed inbound payloads (events, slash commands, interactions) so tests can drive
the app exactly as Slack would. Stdlib only: signing is plain hmac, so the tests can check the
headers against slack_sdk's verifier instead of trusting the same code twice.

Tokens are never logged or printed: ``Call`` redacts them in its repr and in assertion messages.
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import hmac
import itertools
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.standins.lifecycle import HOST, ThreadedHTTPStandIn

__all__ = [
    "Call",
    "HeldReply",
    "SlackStandIn",
    "command_body",
    "event_body",
    "interaction_body",
    "send_signed",
    "signed_headers",
]

TEAM_ID = "T0001"
TEAM_NAME = "Acme"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
BOT_USER_NAME = "faqbot"
APP_ID = "A0FAQBOT"
RESPONSE_URL_PREFIX = "response_url:"
_REDACTED = "<redacted>"
_FAULT_BODIES = {429: "ratelimited", 500: "fatal_error", 503: "service_unavailable"}


@dataclass
class Call:
    """One request the stand-in received; tests assert on these instead of on logs.

    ``headers`` keys are lower-cased (HTTP headers are case-insensitive). ``rejected`` marks calls
    answered by an injected fault, so waits and default listings can ignore them.
    """

    method: str
    params: dict[str, Any]
    headers: dict[str, str] = field(repr=False)
    time: float
    rejected: bool = False
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def token(self) -> str | None:
        """The bearer token used, for assertions only (never print it)."""
        auth = self.headers.get("authorization", "")
        return auth[7:].strip() if auth.lower().startswith("bearer ") else None

    def __repr__(self) -> str:
        flag = ", rejected=True" if self.rejected else ""
        return (
            f"Call(method={self.method!r}, params={_redact(self.params)!r}, "
            f"status={self.status}{flag})"
        )


class HeldReply:
    """A ``set_response`` answer that keeps the bot's call in flight until ``release`` is set,
    so a test can act (SIGTERM, ack checks) while the bot is still waiting on Slack."""

    def __init__(self, ts: str, hold: float) -> None:
        self.reached = threading.Event()  # set once the bot's call has arrived
        self.release = threading.Event()
        self._ts, self._hold = ts, hold

    def __call__(self, call: Call) -> dict[str, Any]:
        self.reached.set()
        self.release.wait(self._hold)
        return {"ok": True, "channel": call.params["channel"], "ts": self._ts}


@dataclass
class _Fault:
    status: int
    retry_after: int | None
    remaining: int


Responder = Callable[[Call], Mapping[str, Any]]


class SlackStandIn(ThreadedHTTPStandIn):
    """Fake https://slack.com/api/ plus response_url endpoints, served from a daemon thread.

    Use as a context manager, point ``WebClient(base_url=standin.api_url)`` (or SLACK_API_URL)
    at it, then ``wait_for`` the calls the bot should make. No sleeps needed in tests.
    """

    def __init__(
        self,
        *,
        invalid_token: str | None = None,
        token_prefixes: tuple[str, ...] = ("xoxb-",),
    ) -> None:
        self.invalid_token = invalid_token
        self.token_prefixes = token_prefixes
        # usergroups.users.list: a user group id -> its members (unknown groups: none)
        self.group_members: dict[str, tuple[str, ...]] = {}
        self._cond = threading.Condition()
        self._calls: list[Call] = []
        self._faults: dict[str, list[_Fault]] = {}
        self._overrides: dict[str, Responder] = {}
        self._ts_counter = itertools.count(1)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> SlackStandIn:
        """Bind 127.0.0.1 on a free port and serve in a daemon thread (never blocks exit)."""
        if self._server is not None:
            return self
        self._serve(ThreadingHTTPServer((HOST, 0), _make_handler(self)), name="slack-standin",
                    poll_interval=0.05)
        return self

    @property
    def api_url(self) -> str:
        """Web API base URL with trailing slash, as slack_sdk's ``base_url`` expects."""
        return f"{self.base_url}/api/"

    def response_url(self, name: str) -> str:
        """A response_url whose POSTs are recorded as method ``response_url:<name>``."""
        if not name or "/" in name:
            raise ValueError("response_url name must be non-empty and contain no '/'")
        return f"{self.base_url}/response/{name}"

    # -- programming -----------------------------------------------------------------------

    def fail_next(
        self, method: str, status: int = 429, retry_after: int | None = 1, times: int = 1
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with an HTTP error (queued, FIFO).

        Lets tests drive the bot's retry paths. Rejected calls are still recorded (with
        ``rejected=True``). ``Retry-After: retry_after`` (whole seconds, as Slack sends) goes out
        with 429 and 503 only. Works for ``response_url:<name>`` too.
        """
        if times < 1:
            raise ValueError("times must be >= 1")
        if status < 400:
            raise ValueError("fail_next needs an error status (>= 400)")
        with self._cond:
            self._faults.setdefault(method, []).append(_Fault(status, retry_after, times))

    def set_response(self, method: str, response: Mapping[str, Any] | Responder) -> None:
        """Override the JSON answer for ``method`` (a dict, or a function of the Call)."""
        with self._cond:
            if callable(response):
                self._overrides[method] = response
            else:
                fixed = dict(response)
                self._overrides[method] = lambda _call: fixed

    def clear_response(self, method: str) -> None:
        """Answer ``method`` as Slack would again, after ``set_response``."""
        with self._cond:
            self._overrides.pop(method, None)

    def reset(self) -> None:
        """Forget recorded calls, pending faults and overrides (ts values stay unique)."""
        with self._cond:
            self._calls.clear()
            self._faults.clear()
            self._overrides.clear()

    # -- inspection ------------------------------------------------------------------------

    def calls(self, method: str | None = None, *, include_rejected: bool = False) -> list[Call]:
        """Recorded calls in arrival order, optionally one method; faults excluded by default."""
        with self._cond:
            return self._select(method, include_rejected)

    def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,
        *,
        where: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Block until ``count`` non-rejected calls of ``method`` (matching ``where``) arrived.

        Returns all matching calls so far. Raises AssertionError listing what was recorded, so a
        failing end-to-end test says what the bot did instead.
        """

        def matching() -> list[Call]:
            found = self._select(method, include_rejected=False)
            return [c for c in found if where(c)] if where else found

        with self._cond:
            if self._cond.wait_for(lambda: len(matching()) >= count, timeout=timeout):
                return matching()
            seen = "\n  ".join(repr(c) for c in self._calls) or "(nothing)"
            got = len(matching())
        raise AssertionError(
            f"expected {count} call(s) of {method!r} within {timeout}s, got {got}; "
            f"recorded:\n  {seen}"
        )

    def _select(self, method: str | None, include_rejected: bool) -> list[Call]:
        return [
            c
            for c in self._calls
            if (method is None or c.method == method) and (include_rejected or not c.rejected)
        ]

    # -- request handling (server threads) ---------------------------------------------------

    def _next_ts(self) -> str:
        micros = 1_700_000_000_000_000 + 100 * next(self._ts_counter)
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _take_fault(self, method: str) -> _Fault | None:
        queue = self._faults.get(method)
        if not queue:
            return None
        fault = queue[0]
        fault.remaining -= 1
        if fault.remaining <= 0:
            queue.pop(0)
        return fault

    def _handle(
        self, method: str, params: dict[str, Any], headers: dict[str, str], received: float
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        call = Call(method=method, params=params, headers=headers, time=received)
        with self._cond:
            fault = self._take_fault(method)
            override = self._overrides.get(method)
        extra: dict[str, str] = {}
        if fault is not None:
            call.rejected = True
            call.status = fault.status
            call.response = {"ok": False, "error": _FAULT_BODIES.get(fault.status, "fatal_error")}
            if fault.status in (429, 503) and fault.retry_after is not None:
                extra["Retry-After"] = str(fault.retry_after)
        elif override is not None:
            call.response = dict(override(call))
        elif method.startswith(RESPONSE_URL_PREFIX):
            call.response = {"ok": True}
        else:
            call.response = self._answer(method, params, headers)
        with self._cond:
            self._calls.append(call)
            self._cond.notify_all()
        return call.status, extra, call.response

    def _answer(
        self, method: str, params: dict[str, Any], headers: dict[str, str]
    ) -> dict[str, Any]:
        token = _bearer(headers)
        if method == "apps.connections.open":
            return self._open_connection(token)
        if token is None or not token.startswith(self.token_prefixes):
            return {"ok": False, "error": "not_authed"}
        if self.invalid_token is not None and hmac.compare_digest(token, self.invalid_token):
            return {"ok": False, "error": "invalid_auth"}
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://acme.slack.com/",
                "team": TEAM_NAME,
                "user": BOT_USER_NAME,
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
                "is_enterprise_install": False,
            }
        if method in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
            return self._answer_chat(method, params)
        if method == "chat.getPermalink":
            channel, ts = params.get("channel"), str(params.get("message_ts") or "")
            return {"ok": True, "channel": channel,
                    "permalink": f"https://acme.slack.com/archives/{channel}/p"
                                 f"{ts.replace('.', '')}"}
        if method == "usergroups.users.list":
            return {"ok": True, "users": list(self.group_members.get(
                str(params.get("usergroup") or ""), ()))}
        if method == "conversations.open":
            users = str(params.get("users") or "")
            if not users:
                return {"ok": False, "error": "users_not_found"}
            return {"ok": True, "channel": {"id": "D" + hashlib.sha256(
                users.encode()).hexdigest()[:10].upper()}}
        return {"ok": True}

    def _open_connection(self, token: str | None) -> dict[str, Any]:
        """Socket Mode's first call, as Slack answers it: app-level tokens only. The URL
        leads nowhere (a ``SocketStandIn`` overrides this with one that does)."""
        if token is None:
            return {"ok": False, "error": "not_authed"}
        if not token.startswith("xapp-"):
            return {"ok": False, "error": "not_allowed_token_type"}
        if self.invalid_token is not None and hmac.compare_digest(token, self.invalid_token):
            return {"ok": False, "error": "invalid_auth"}
        return {"ok": True, "url": f"wss://wss-standin.invalid/link/?ticket={self._next_ts()}"}

    def _answer_chat(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not any(params.get(k) for k in ("text", "blocks", "attachments")):
            return {"ok": False, "error": "no_text"}
        if method == "chat.postEphemeral":
            if not params.get("user"):
                return {"ok": False, "error": "user_not_in_channel"}
            return {"ok": True, "message_ts": self._next_ts()}
        if method == "chat.update":
            ts = params.get("ts")
            if not ts:
                return {"ok": False, "error": "message_not_found"}
            message = _message(params, str(ts))
            return {
                "ok": True,
                "channel": channel,
                "ts": ts,
                "text": message["text"],
                "message": message,
            }
        ts = self._next_ts()
        return {"ok": True, "channel": channel, "ts": ts, "message": _message(params, ts)}


def _message(params: Mapping[str, Any], ts: str) -> dict[str, Any]:
    message: dict[str, Any] = {
        "type": "message",
        "user": BOT_USER_ID,
        "bot_id": BOT_ID,
        "app_id": APP_ID,
        "team": TEAM_ID,
        "text": params.get("text", ""),
        "ts": ts,
    }
    for key in ("blocks", "attachments", "metadata"):
        if params.get(key) is not None:
            message[key] = params[key]
    if params.get("thread_ts"):
        message["thread_ts"] = params["thread_ts"]
    return message


def _bearer(headers: Mapping[str, str]) -> str | None:
    auth = headers.get("authorization", "")
    if not auth.lower().startswith("bearer "):
        return None
    return auth[7:].strip() or None


def _redact(params: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (_REDACTED if k in ("token", "client_secret") else v) for k, v in params.items()}


def _maybe_json(value: str) -> Any:
    """Form bodies carry blocks/attachments as JSON strings; decode them so tests see objects."""
    if value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _parse_form(text: str) -> dict[str, Any]:
    parsed = parse_qs(text, keep_blank_values=True)
    return {
        k: _maybe_json(v[0]) if len(v) == 1 else [_maybe_json(x) for x in v]
        for k, v in parsed.items()
    }


def _parse_multipart(raw: bytes, content_type: str) -> dict[str, Any]:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + raw)
    out: dict[str, Any] = {}
    for part in msg.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True) or b""
        if part.get_filename():
            out[name] = payload
        else:
            out[name] = _maybe_json(payload.decode("utf-8", "replace"))
    return out


def _parse_body(raw: bytes, content_type: str) -> dict[str, Any]:
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "multipart/form-data":
        return _parse_multipart(raw, content_type)
    text = raw.decode("utf-8", "replace")
    if not text.strip():
        return {}
    if kind == "application/json" or (
        kind != "application/x-www-form-urlencoded" and text.lstrip()[:1] in ("{", "[")
    ):
        try:
            value = json.loads(text)
        except ValueError:
            return {"_raw": text}
        return value if isinstance(value, dict) else {"_json": value}
    return _parse_form(text)


def _make_handler(standin: SlackStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "SlackStandIn/1"
        sys_version = ""

        def do_POST(self) -> None:
            self._dispatch(has_body=True)

        def do_GET(self) -> None:
            self._dispatch(has_body=False)

        def _dispatch(self, *, has_body: bool) -> None:
            received = time.monotonic()
            url = urlsplit(self.path)
            raw = b""
            if has_body:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length > 0 else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            params = _parse_form(url.query) if url.query else {}
            params.update(_parse_body(raw, headers.get("content-type", "")))
            if url.path.startswith("/api/") and len(url.path) > len("/api/"):
                method = url.path[len("/api/") :]
            elif url.path.startswith("/response/") and has_body:
                method = RESPONSE_URL_PREFIX + url.path[len("/response/") :]
            else:
                self._send(404, {}, {"ok": False, "error": "unknown_method"})
                return
            status, extra, body = standin._handle(method, params, headers, received)
            self._send(status, extra, body)

        def _send(self, status: int, extra: Mapping[str, str], body: Mapping[str, Any]) -> None:
            data = json.dumps(body).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for key, value in extra.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Silence per-request logging: keeps test output clean and can't leak anything."""

    return Handler


# -- inbound payload builders -----------------------------------------------------------------

_ids = itertools.count(1)


def signed_headers(
    body: bytes | str,
    signing_secret: str,
    *,
    timestamp: int | None = None,
    retry_num: int | None = None,
    retry_reason: str = "http_timeout",
    content_type: str | None = None,
) -> dict[str, str]:
    """Headers Slack sends with a request: v0 signature over f"v0:{ts}:{body}" (HMAC-SHA256).

    ``content_type`` defaults to JSON for a body starting with "{" and form-encoding otherwise.
    ``retry_num`` adds X-Slack-Retry-Num/Reason, as Slack does when redelivering an event.
    """
    raw = body.encode("utf-8") if isinstance(body, str) else body
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(
        signing_secret.encode("utf-8"), b"v0:" + ts.encode() + b":" + raw, hashlib.sha256
    ).hexdigest()
    if content_type is None:
        is_json = raw.lstrip()[:1] == b"{"
        content_type = "application/json" if is_json else "application/x-www-form-urlencoded"
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
    }
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = retry_reason
    return headers


def event_body(
    event: Mapping[str, Any], *, team: str = TEAM_ID, event_id: str | None = None
) -> bytes:
    """An Events API ``event_callback`` envelope around ``event``, as Slack POSTs it."""
    n = next(_ids)
    envelope = {
        "token": "verification-token-unused",
        "team_id": team,
        "context_team_id": team,
        "context_enterprise_id": None,
        "api_app_id": APP_ID,
        "event": dict(event),
        "type": "event_callback",
        "event_id": event_id or f"Ev{n:08d}",
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-standin-{n}",
    }
    return json.dumps(envelope).encode("utf-8")


def command_body(
    text: str,
    *,
    command: str = "/faq",
    response_url: str,
    user_id: str = "U1",
    channel_id: str = "C1",
    team_id: str = TEAM_ID,
    trigger_id: str | None = None,
) -> bytes:
    """A slash-command POST body, form-encoded with the fields Slack sends."""
    n = next(_ids)
    fields = {
        "token": "verification-token-unused",
        "team_id": team_id,
        "team_domain": "acme",
        "channel_id": channel_id,
        "channel_name": "general",
        "user_id": user_id,
        "user_name": "user",
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or f"{n}.{n}.standin{n:08x}",
    }
    return urlencode(fields).encode("utf-8")


def interaction_body(payload: Mapping[str, Any]) -> bytes:
    """An interactivity POST body (e.g. block_actions): form field ``payload`` holding JSON."""
    return urlencode({"payload": json.dumps(payload)}).encode("utf-8")


def send_signed(
    url: str,
    body: bytes | str,
    signing_secret: str,
    *,
    timeout: float = 5.0,
    **header_options: Any,
) -> tuple[int, dict[str, str], bytes]:
    """POST a signed body to the app under test, like Slack would; returns status/headers/body.

    HTTP errors are returned rather than raised, so tests can assert on 401s and the like.
    """
    raw = body.encode("utf-8") if isinstance(body, str) else body
    headers = signed_headers(raw, signing_secret, **header_options)
    request = urllib.request.Request(url, data=raw, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.status, dict(resp.headers.items()), resp.read()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, dict(err.headers.items()), err.read()
