"""``faqbot check``: is this configuration ready to serve? One ✓ or ✗ per item, with fixes
(and ! for a warning, which fails nothing).

Each check runs even when an earlier one failed (where it can), so one run lists every
problem at once.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.errors import UserError
from bot.urls import display_url

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.faq.answerer import Answerer


@dataclass(frozen=True)
class Result:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    warning: bool = False  # "!": worth acting on, but nothing fails for it

    def lines(self) -> list[str]:
        mark = "✗" if not self.ok else "!" if self.warning else "✓"
        out = [f"{mark} {self.name}: {self.detail}"]
        if self.fix:
            out.append(f"    fix: {self.fix}")
        return out


def _failed(name: str, error: UserError) -> Result:
    return Result(name, False, error.problem, error.fix)


def _credentials(settings: Settings) -> Iterator[Result]:
    from bot.slack.credentials import (
        app_token_problem,
        bot_token_problem,
        signing_secret_problem,
    )

    problem = bot_token_problem(settings)
    yield (_failed("bot token", problem) if problem
           else Result("bot token", True, "SLACK_BOT_TOKEN is set (xoxb-…)"))
    secret, app_token = settings.slack_signing_secret, settings.slack_app_token
    if not secret and not app_token:
        yield Result("transport", False, "neither SLACK_SIGNING_SECRET nor SLACK_APP_TOKEN is set",
                     "set SLACK_SIGNING_SECRET for faqbot serve (HTTP), or SLACK_APP_TOKEN "
                     "for faqbot socket (Socket Mode)")
        return
    if secret:
        problem = signing_secret_problem(settings)
        yield (_failed("SLACK_SIGNING_SECRET", problem) if problem else
               Result("SLACK_SIGNING_SECRET", True, UNTESTABLE_SECRET))
    if app_token:
        problem = app_token_problem(settings)
        yield _failed("SLACK_APP_TOKEN", problem) if problem else _app_token(settings)


# Slack never answers a question about the signing secret: only a request it signed shows
# whether it matches, and that arrives only once the app's Request URL points here.
UNTESTABLE_SECRET = ("set; faqbot serve can run. Its value can't be tested from here: only "
                     "requests Slack signs show it. A wrong one makes faqbot serve log a "
                     "WARNING that requests failed Slack's signature check")


def _app_token(settings: Settings) -> Result:
    """Ask for a Socket Mode connection URL, as ``faqbot socket`` does first; the URL is never
    opened, and expires."""
    from slack_sdk.errors import SlackApiError

    from bot.slack.client import web_client
    from bot.slack.credentials import APP_TOKEN_HELP

    name = "SLACK_APP_TOKEN"
    try:
        web_client(settings).apps_connections_open(app_token=settings.slack_app_token)
    except SlackApiError as error:
        return Result(name, False, f"Slack refused it: apps.connections.open failed "
                                   f"({error.response.get('error')})", APP_TOKEN_HELP)
    except OSError as error:
        return Result(name, False, f"cannot reach the Slack API ({type(error).__name__})",
                      "check SLACK_API_URL and the network")
    return Result(name, True, "apps.connections.open ok; faqbot socket can connect")


def _slack(settings: Settings) -> Result:
    from slack_sdk.errors import SlackApiError

    from bot.slack.client import web_client
    from bot.slack.credentials import BOT_TOKEN_HELP, bot_token_problem

    name = f"Slack API ({display_url(settings.slack_api_url)})"
    if bot_token_problem(settings):
        return Result(name, False, "skipped: fix SLACK_BOT_TOKEN first")
    try:
        auth = web_client(settings).auth_test()
    except SlackApiError as error:
        return Result(name, False, f"auth.test failed: {error.response.get('error')}",
                      BOT_TOKEN_HELP)
    except OSError as error:
        return Result(name, False, f"cannot reach it ({error})",
                      "check SLACK_API_URL and the network")
    return Result(name, True, f"auth.test ok: @{auth.get('user')} in {auth.get('team')}")


def _dataset(settings: Settings) -> tuple[Result, Answerer | None]:
    from bot.faq.answerer import load_answerer

    name = f"FAQ dataset ({settings.faq_dataset})"
    try:
        answerer = load_answerer(settings)
    except UserError as error:
        return _failed(name, error), None
    loaded = f"{len(answerer.faq)} FAQs loaded; {_model(settings, answerer)}"
    return Result(name, True, loaded), answerer


def _model(settings: Settings, answerer: Answerer) -> str:
    """Which model made the vectors (the card's fingerprint) and which one is in use: they
    passed the load's check, so a mismatch never gets here."""
    from bot.faq.dataset import read_card

    card = read_card(settings.faq_dataset, settings.faq_dataset_revision, settings.hf_token)
    identity = answerer.faq.model
    in_use = (f"model in use {identity.fingerprint[:12]} from {identity.where}" if identity
              else f"model served by {display_url(settings.inference_api_url)}")
    recorded = card.get("model_sha256")
    if not recorded:
        return f"no model fingerprint recorded (built before fingerprints); {in_use}"
    tuned = ", tuned and carried in the dataset" if card.get("model_dir") else ""
    return f"vectors made by model {str(recorded)[:12]}{tuned}; {in_use}"


def _embedding(settings: Settings, answerer: Answerer | None) -> Result:
    """Ask an FAQ's own question: it must come back as the top match."""
    model = answerer.embedder.model_id if answerer is not None else settings.embedding_model
    name = f"embedder ({settings.resolved_backend}, {model})"
    if answerer is None or not len(answerer.faq):
        return Result(name, False, "skipped: no FAQ loaded")
    [question] = answerer.faq.examples(1)
    started = time.perf_counter()
    try:
        answer = answerer.ask(question)
    except UserError as error:
        return _failed(name, error)
    millis = (time.perf_counter() - started) * 1000
    top = answer.candidates[0] if answer.candidates else None
    if top is None or top.question != question:
        return Result(name, False, f"{question!r} did not find itself",
                      "rebuild the dataset with this EMBEDDING_MODEL (faqbot build)")
    return Result(name, True, f"embedded one question in {millis:.0f} ms; "
                              f"it matched itself (score {top.score:.2f})")


def _embedding_service(settings: Settings) -> Result:
    """The Inference API (or TEI) on its own, so its cause (token, model, URL) is named."""
    from bot.faq.embedders.api import probe

    name = f"embedding service ({display_url(settings.inference_api_url)})"
    try:
        return Result(name, True, probe(settings))
    except UserError as error:
        return _failed(name, error)


def _database(settings: Settings) -> Iterator[Result]:
    """The question log and shared dedupe; serve still answers without it, in-process. Also
    a database an older faqbot left in this folder, which the default no longer reads."""
    from bot.storage import open_store

    warnings: list[str] = []
    try:
        store = open_store(settings, warn=warnings.append)
    except UserError as error:
        yield _failed("database", error)
        return
    default = "" if settings.database_url else "; DATABASE_URL is unset, so this is the default"
    try:
        yield Result("database", True, f"{store.ping()}{default}; {_retention(settings)}")
    except UserError as error:
        yield _failed("database", error)
    finally:
        store.close()
    for warning in warnings:
        yield Result("earlier database", True, warning,
                     "set DATABASE_URL as above, or move the file there", warning=True)


def _retention(settings: Settings) -> str:
    days = settings.log_retention_days
    return (f"question texts and who asked or voted kept {days} days (LOG_RETENTION_DAYS)"
            if days else "the log is kept for ever (LOG_RETENTION_DAYS=0)")


def _variables(environ: Mapping[str, str], from_dotenv: Collection[str]) -> Iterator[Result]:
    from bot.variables import unknown_variables

    for unknown in unknown_variables(environ, from_dotenv):
        yield Result("unknown variable", True, unknown.problem, unknown.fix, warning=True)


def run_checks(settings_loader: Callable[[], Settings], *,
               environ: Mapping[str, str] | None = None,
               from_dotenv: Collection[str] = ()) -> list[Result]:
    """Every check, in order; configuration errors stop the rest (nothing else can run).
    ``environ`` (``os.environ`` by default) is searched for variables faqbot doesn't know;
    ``from_dotenv`` names those .env set."""
    variables = list(_variables(os.environ if environ is None else environ, from_dotenv))
    try:
        settings = settings_loader()
    except UserError as error:
        return [_failed("configuration", error), *variables]
    results = [Result("configuration", True, "environment variables parse"), *variables,
               *_credentials(settings), _slack(settings), *_database(settings)]
    if settings.resolved_backend == "api":
        results.append(_embedding_service(settings))
    dataset, answerer = _dataset(settings)
    return [*results, dataset, _embedding(settings, answerer)]
