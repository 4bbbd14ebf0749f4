"""Settings: one frozen dataclass read from the environment, validated with clear errors."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlsplit

from bot.errors import UserError
from bot.experts import Experts, parse_experts

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_INFERENCE_API_URL = (
    "https://router.huggingface.co/hf-inference/models/{model}/pipeline/feature-extraction"
)
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
SAMPLE_DATASET = Path(__file__).resolve().parent / "sample" / "medicare"
BACKENDS = ("api", "local", "auto")
TRUE_WORDS = ("true", "1", "yes")
FALSE_WORDS = ("false", "0", "no")

# Chosen with `faqbot eval examples/medicare/eval.csv`; see docs/answer-quality.md.
DEFAULT_MIN_SCORE = 0.51
DEFAULT_MARGIN = 0.035
# A miss asked directly still offers the FAQs scoring at least this ("Maybe one of these?").
# Not fitted to a data set: below about 0.35, all-MiniLM-L6-v2 cosines are what unrelated
# sentences score (its training pushes them towards 0), so anything above shares a topic.
DEFAULT_NEAR_SCORE = 0.35
DEFAULT_PORT = 3000
# A claimed message whose reply never went out is taken again after this (see bot.storage):
# longer than any reply takes (the embedder's live budget is 10 s), shorter than Slack's
# first retry of an unacknowledged event (about a minute).
DEFAULT_LEASE_SECONDS = 30.0
DEFAULT_REFRESH_SECONDS = 300.0
DEFAULT_REMIND_MINUTES = 60.0
DEFAULT_ESCALATION_REACTION = "raising_hand"
# Question text, who asked and who voted are kept this long (LOG_RETENTION_DAYS; 0: forever).
DEFAULT_RETENTION_DAYS = 90
MAX_RETENTION_DAYS = 36_500  # a century: further back than any log, and inside datetime's range
SLACK_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")
EMOJI_NAME = re.compile(r"^[a-z0-9_+'-]{1,64}$")
SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
CHANNEL_ID_HELP = ("list channel ids such as C012AB3CD, separated by commas (in Slack: open the "
                   "channel, click its name at the top; the id is at the bottom of About)")


def _float(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (low <= value <= high):
        raise UserError(
            f"{name}={raw!r} is not a number between {low} and {high}",
            f"set {name} to a value such as {default}, or unset it",
        )
    return value


def _count(env: Mapping[str, str], name: str) -> int:
    """A whole number of people, 0 (the default) meaning off."""
    raw = env.get(name, "").strip() or "0"
    if not raw.isdigit() or int(raw) > 10_000:
        raise UserError(f"{name}={raw!r} is not a whole number",
                        f"set {name} to 0 (off) or a count such as 2, or unset it")
    return int(raw)


def _retention_days(env: Mapping[str, str]) -> int:
    """LOG_RETENTION_DAYS: whole days, 0 meaning keep for ever; anything else is a typo that
    would otherwise keep (or erase) the log against the operator's intent."""
    raw = env.get("LOG_RETENTION_DAYS", "").strip()
    if not raw:
        return DEFAULT_RETENTION_DAYS
    if not raw.isascii() or not raw.isdigit() or int(raw) > MAX_RETENTION_DAYS:
        raise UserError(f"LOG_RETENTION_DAYS={raw[:40]!r} is not a whole number of days "
                        f"from 0 to {MAX_RETENTION_DAYS}",
                        f"set LOG_RETENTION_DAYS to a number of days such as "
                        f"{DEFAULT_RETENTION_DAYS}, 0 to keep the log for ever, or unset it")
    return int(raw)


def _unless_unset(env: Mapping[str, str], name: str, example: float, low: float,
                  high: float) -> float | None:
    """``None`` when unset, so thresholds stored in the dataset can apply instead."""
    return _float(env, name, example, low, high) if env.get(name, "").strip() else None


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    """Strict, so a typo such as ``LOG_QUESTION_TEXT=flase`` fails loudly instead of logging."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if raw.lower() in TRUE_WORDS:
        return True
    if raw.lower() in FALSE_WORDS:
        return False
    raise UserError(f"{name}={raw!r} is not a yes/no value",
                    f"set {name} to true or false (also 1/0, yes/no), or unset it")


def _port(raw: str) -> int:
    """``$PORT`` is how Heroku and friends say where to listen."""
    try:
        port = int(raw)
    except ValueError:
        raise UserError(f"PORT={raw!r} is not a port number",
                        "set PORT to a number such as 3000, or pass --port") from None
    return check_port(port)


def check_port(port: int) -> int:
    if not 0 <= port <= 65535:
        raise UserError(f"port {port} is out of range", "use --port (or PORT) 1-65535, or 0")
    return port


def _matching(env: Mapping[str, str], name: str, shape: re.Pattern[str], what: str,
              default: str = "") -> str:
    raw = env.get(name, "").strip().strip(":")
    if raw and not shape.match(raw):
        raise UserError(f"{name}={raw[:40]!r} is not {what}", f"set {name} to {what}, or unset it")
    return raw or default


def _channel_ids(raw: str) -> tuple[str, ...]:
    """FAQ_CHANNELS: channel ids only. A name (``#general``) never matches an event's channel,
    so taking one would leave the bot silent in every channel without a word."""
    ids = tuple(part.strip() for part in raw.split(",") if part.strip())
    for channel in ids:
        if not SLACK_CHANNEL_ID.match(channel):
            raise UserError(f"FAQ_CHANNELS holds {channel[:40]!r}, which is not a channel id "
                            "(C… or G…)", CHANNEL_ID_HELP)
    return ids


def _user_ids(raw: str) -> list[str]:
    """FAQ_EDITORS: Slack user ids, checked, so a typo doesn't silently lock everyone out."""
    ids = [part.strip() for part in raw.split(",") if part.strip()]
    for user in ids:
        if not SLACK_USER_ID.match(user):
            raise UserError(f"FAQ_EDITORS holds {user[:40]!r}, which is not a Slack user id",
                            "list user ids such as U012ABCDEF (profile → ⋮ → Copy member ID), "
                            "separated by commas")
    return ids


@dataclass(frozen=True)
class Settings:
    """Everything faqbot reads from the environment. Secrets never appear in ``repr``."""

    slack_bot_token: str = field(default="", repr=False)
    slack_signing_secret: str = field(default="", repr=False)
    slack_app_token: str = field(default="", repr=False)
    slack_api_url: str = DEFAULT_SLACK_API_URL
    faq_dataset: str = str(SAMPLE_DATASET)
    faq_dataset_revision: str = "main"
    faq_texts: str = ""
    hf_token: str = field(default="", repr=False)
    embedding_backend: str = "auto"
    embedding_model: str = DEFAULT_MODEL
    embedding_model_dir: str = ""
    inference_api_url: str = DEFAULT_INFERENCE_API_URL
    # None: not set; the dataset's stored thresholds apply, else the defaults (thresholds.py).
    answer_min_score: float | None = None
    answer_margin: float | None = None
    faq_channels: tuple[str, ...] = ()
    database_url: str = field(default="", repr=False)
    log_question_text: bool = True
    log_retention_days: int = DEFAULT_RETENTION_DAYS  # 0: keep for ever
    port: int = DEFAULT_PORT
    claim_lease_seconds: float = DEFAULT_LEASE_SECONDS
    faq_editors: frozenset[str] = frozenset()
    faq_refresh_seconds: float = DEFAULT_REFRESH_SECONDS
    faq_auto_learn: int = 0
    faq_experts: Experts = field(default_factory=Experts)
    escalation_channel: str = ""
    escalation_remind_minutes: float = DEFAULT_REMIND_MINUTES
    escalation_reaction: str = DEFAULT_ESCALATION_REACTION
    # Not a faqbot setting: Heroku sets DYNO on every dyno, whose disk is wiped on restart.
    dyno: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def get(name: str, default: str = "") -> str:
            return env.get(name, "").strip() or default

        backend = get("EMBEDDING_BACKEND", "auto").lower()
        if backend not in BACKENDS:
            raise UserError(
                f"EMBEDDING_BACKEND={backend!r} is not one of {', '.join(BACKENDS)}",
                "set EMBEDDING_BACKEND to api, local or auto (the default)",
            )
        slack_api_url = get("SLACK_API_URL", DEFAULT_SLACK_API_URL)
        parts = urlsplit(slack_api_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UserError(f"SLACK_API_URL={parts.scheme or '?'}://… is not an http(s) URL",
                            f"set it to {DEFAULT_SLACK_API_URL} (GovSlack: "
                            "https://slack-gov.com/api/), or unset it")
        if not slack_api_url.endswith("/"):
            slack_api_url += "/"
        editors = frozenset(_user_ids(get("FAQ_EDITORS")))
        return cls(
            slack_bot_token=get("SLACK_BOT_TOKEN"),
            slack_signing_secret=get("SLACK_SIGNING_SECRET"),
            slack_app_token=get("SLACK_APP_TOKEN"),
            slack_api_url=slack_api_url,
            faq_dataset=get("FAQ_DATASET", str(SAMPLE_DATASET)),
            faq_dataset_revision=get("FAQ_DATASET_REVISION", "main"),
            faq_texts=get("FAQ_TEXTS"),
            hf_token=get("HF_TOKEN"),
            embedding_backend=backend,
            embedding_model=get("EMBEDDING_MODEL", DEFAULT_MODEL),
            embedding_model_dir=get("EMBEDDING_MODEL_DIR"),
            inference_api_url=get("INFERENCE_API_URL", DEFAULT_INFERENCE_API_URL),
            answer_min_score=_unless_unset(env, "ANSWER_MIN_SCORE", DEFAULT_MIN_SCORE, -1.0, 1.0),
            answer_margin=_unless_unset(env, "ANSWER_MARGIN", DEFAULT_MARGIN, 0.0, 2.0),
            faq_channels=_channel_ids(get("FAQ_CHANNELS")),
            database_url=get("DATABASE_URL"),
            log_question_text=_bool(env, "LOG_QUESTION_TEXT", True),
            log_retention_days=_retention_days(env),
            port=_port(get("PORT", str(DEFAULT_PORT))),
            claim_lease_seconds=_float(env, "CLAIM_LEASE_SECONDS", DEFAULT_LEASE_SECONDS,
                                       1.0, 3600.0),
            faq_editors=editors,
            faq_refresh_seconds=_float(env, "FAQ_REFRESH_SECONDS", DEFAULT_REFRESH_SECONDS,
                                       0.0, 86400.0),
            faq_auto_learn=_count(env, "FAQ_AUTO_LEARN"),
            faq_experts=parse_experts(get("FAQ_EXPERTS")),
            escalation_channel=_matching(env, "ESCALATION_CHANNEL", SLACK_CHANNEL_ID,
                                         "a channel id such as C012AB3CD"),
            escalation_remind_minutes=_float(env, "ESCALATION_REMIND_MINUTES",
                                             DEFAULT_REMIND_MINUTES, 0.05, 7 * 24 * 60.0),
            escalation_reaction=_matching(env, "ESCALATION_REACTION", EMOJI_NAME,
                                          "an emoji name without colons, such as sos",
                                          DEFAULT_ESCALATION_REACTION),
            dyno=get("DYNO"),
        )

    @property
    def on_heroku(self) -> bool:
        return bool(self.dyno)

    @property
    def resolved_backend(self) -> str:
        """``auto`` means the Inference API when a token is set, else the local model."""
        if self.embedding_backend == "auto":
            return "api" if self.hf_token else "local"
        return self.embedding_backend


# Every environment variable faqbot reads: a field's name in capitals is its variable's name
# (tests/test_config.py checks that ``from_env`` reads exactly these).
VARIABLES: tuple[str, ...] = tuple(f.name.upper() for f in fields(Settings))
# Read, but set by the platform rather than by users, so not settings to document.
PLATFORM_VARIABLES: tuple[str, ...] = ("DYNO",)
