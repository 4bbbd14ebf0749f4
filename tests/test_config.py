"""Settings.from_env: the defaults, each variable's validation (one line naming it), PORT, and
secrets kept out of ``repr``."""

from __future__ import annotations

import dataclasses

import pytest

from bot import config
from bot.config import Settings
from bot.errors import UserError

SECRETS = {"SLACK_BOT_TOKEN": "xoxb-secret-bot-token", "SLACK_SIGNING_SECRET": "signing-s3cret",
           "SLACK_APP_TOKEN": "xapp-secret-app-token", "HF_TOKEN": "hf_secretHubToken",
           "DATABASE_URL": "postgresql://faqbot:db-pa55word@db.example/faqbot"}


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()
    assert (settings.slack_bot_token, settings.slack_signing_secret,
            settings.slack_app_token, settings.hf_token, settings.database_url) == ("",) * 5
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.faq_dataset == str(config.SAMPLE_DATASET)
    assert config.SAMPLE_DATASET.is_dir()
    assert (settings.faq_dataset_revision, settings.faq_texts) == ("main", "")
    assert settings.embedding_backend == "auto" and settings.resolved_backend == "local"
    assert settings.embedding_model == "sentence-transformers/all-MiniLM-L6-v2"
    assert settings.embedding_model_dir == ""
    assert settings.inference_api_url == ("https://router.huggingface.co/hf-inference/models/"
                                          "{model}/pipeline/feature-extraction")
    assert (settings.answer_min_score, settings.answer_margin) == (None, None)  # not set
    assert settings.faq_channels == ()
    assert settings.log_question_text is True
    assert settings.log_retention_days == 90
    assert settings.port == 3000


def test_blank_values_mean_the_default() -> None:
    names = [f.name.upper() for f in dataclasses.fields(Settings)]
    assert Settings.from_env(dict.fromkeys(names, "  ")) == Settings()


def test_values_are_read_and_trimmed() -> None:
    settings = Settings.from_env({
        **SECRETS, "SLACK_API_URL": "https://slack-gov.com/api", "FAQ_DATASET": " acme/faq ",
        "FAQ_DATASET_REVISION": "v2", "EMBEDDING_BACKEND": " API ", "ANSWER_MIN_SCORE": "0.6",
        "ANSWER_MARGIN": "0", "FAQ_CHANNELS": " C012AB3CD, ,G0PRIVATE1,", "LOG_QUESTION_TEXT": "no",
        "PORT": "8080"})
    assert settings.slack_bot_token == "xoxb-secret-bot-token"
    assert settings.slack_api_url == "https://slack-gov.com/api/"  # a trailing slash is added
    assert (settings.faq_dataset, settings.faq_dataset_revision) == ("acme/faq", "v2")
    assert settings.embedding_backend == settings.resolved_backend == "api"
    assert (settings.answer_min_score, settings.answer_margin) == (0.6, 0.0)
    assert settings.faq_channels == ("C012AB3CD", "G0PRIVATE1")
    assert settings.log_question_text is False
    assert settings.port == 8080


@pytest.mark.parametrize(("backend", "token", "resolved"), [
    ("auto", "", "local"), ("auto", "hf_x", "api"), ("local", "hf_x", "local"),
    ("api", "", "api")])
def test_auto_backend_means_api_only_with_a_token(backend: str, token: str,
                                                  resolved: str) -> None:
    settings = Settings.from_env({"EMBEDDING_BACKEND": backend, "HF_TOKEN": token})
    assert settings.resolved_backend == resolved


def _refused(name: str, raws: tuple[str, ...], why: str) -> list[tuple[str, str, str]]:
    """One row per raw value, each refused as ``NAME='raw' why`` (the quoted form)."""
    return [(name, raw, f"{name}='{raw}' {why}") for raw in raws]


@pytest.mark.parametrize(("name", "raw", "problem"), [
    *_refused("EMBEDDING_BACKEND", ("onnx",), "is not one of api, local, auto"),
    ("SLACK_API_URL", "ftp://slack.com/api/", "SLACK_API_URL=ftp://… is not an http(s) URL"),
    ("SLACK_API_URL", "slack.com/api", "SLACK_API_URL=?://… is not an http(s) URL"),
    *_refused("ANSWER_MIN_SCORE", ("high", "1.5", "nan"), "is not a number between -1.0 and 1.0"),
    *_refused("ANSWER_MARGIN", ("-0.1",), "is not a number between 0.0 and 2.0"),
    *_refused("LOG_QUESTION_TEXT", ("maybe",), "is not a yes/no value"),
    *_refused("LOG_RETENTION_DAYS", ("-1", "nan", "1.5", "90d", "1e3", "٣", "36501"),
              "is not a whole number of days from 0 to 36500"),
    *_refused("PORT", ("web", "3000.5"), "is not a port number"),
    ("PORT", "65536", "port 65536 is out of range"),
    ("PORT", "-1", "port -1 is out of range"),
])
def test_each_bad_value_is_a_one_line_error_naming_the_variable(name: str, raw: str,
                                                                problem: str) -> None:
    with pytest.raises(UserError) as error:
        Settings.from_env({name: raw})
    assert error.value.problem == problem
    line = error.value.one_line()
    assert len(line.splitlines()) == 1
    assert line.startswith(f"error: {problem}. Fix: ") and line.endswith(".")
    assert name in line


def test_a_slack_api_url_error_does_not_echo_the_url() -> None:
    """It may hold credentials (user:pass@host): only its scheme is shown."""
    with pytest.raises(UserError) as error:
        Settings.from_env({"SLACK_API_URL": "ftp://user:pa55@slack.example/api/"})
    assert "pa55" not in error.value.one_line()


@pytest.mark.parametrize(("raw", "port"), [("", 3000), ("5000", 5000), (" 8080 ", 8080),
                                           ("0", 0), ("65535", 65535)])
def test_port_parsing(raw: str, port: int) -> None:
    assert Settings.from_env({"PORT": raw}).port == port


def test_port_comes_from_the_environment_then_3000(monkeypatch: pytest.MonkeyPatch) -> None:
    """(`--port` wins over both: tests/runtime/test_startup.py.)"""
    monkeypatch.delenv("PORT", raising=False)
    assert Settings.from_env().port == 3000
    monkeypatch.setenv("PORT", "5000")
    assert Settings.from_env().port == 5000
    monkeypatch.setenv("PORT", "0")
    assert Settings.from_env().port == 0


@pytest.mark.parametrize(("raw", "expected"), [("", True), ("true", True), ("YES", True),
                                               ("1", True), ("false", False), ("No", False),
                                               ("0", False)])
def test_log_question_text_setting(raw, expected):
    assert Settings.from_env({"LOG_QUESTION_TEXT": raw}).log_question_text is expected


def test_log_question_text_setting_is_strict():
    with pytest.raises(UserError, match="LOG_QUESTION_TEXT='flase'"):
        Settings.from_env({"LOG_QUESTION_TEXT": "flase"})


def test_secrets_are_not_in_repr() -> None:
    settings = Settings.from_env(SECRETS)
    assert settings.hf_token == "hf_secretHubToken"  # read, just not shown
    shown = repr(settings)
    assert shown.startswith("Settings(") and "slack_api_url=" in shown
    for value in SECRETS.values():
        assert value not in shown
    assert "db-pa55word" not in shown


def test_settings_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().port = 1  # type: ignore[misc]


def test_faq_experts_parse_and_refuse_typos() -> None:
    from bot.experts import parse_experts

    experts = parse_experts("S0DEFAULT, C0HR=S0HR ,C0IT=U012AB|U034CD")
    assert experts.for_channel("C0HR").mention == "<!subteam^S0HR>"
    assert experts.for_channel("C0IT").mention == "<@U012AB> <@U034CD>"
    assert experts.for_channel("C0ELSE").stored == "S0DEFAULT"
    assert experts.includes("U034CD") and not experts.includes("U0NOBODY")
    assert not parse_experts("") and parse_experts("U012AB").for_channel("C1") is not None
    assert parse_experts("C0HR=S0HR").for_channel("C0ELSE") is None
    for bad in ("@hr-team", "S0A,S0B", "general=S0HR", "C0HR=U1|nobody", "C0HR="):
        with pytest.raises(UserError, match="FAQ_EXPERTS"):
            parse_experts(bad)


def test_escalation_settings_are_checked() -> None:
    settings = Settings.from_env({"ESCALATION_CHANNEL": "C0TRIAGE",
                                  "ESCALATION_REACTION": ":sos:",
                                  "ESCALATION_REMIND_MINUTES": "30"})
    assert (settings.escalation_channel, settings.escalation_reaction,
            settings.escalation_remind_minutes) == ("C0TRIAGE", "sos", 30.0)
    assert Settings.from_env({}).escalation_reaction == "raising_hand"
    for name, bad in (("ESCALATION_CHANNEL", "#triage"), ("ESCALATION_REACTION", "🙋"),
                      ("ESCALATION_REMIND_MINUTES", "soon")):
        with pytest.raises(UserError, match=name):
            Settings.from_env({name: bad})


@pytest.mark.parametrize(("raw", "days"), [("", 90), ("0", 0), ("1", 1), (" 30 ", 30),
                                           ("36500", 36500)])
def test_log_retention_days(raw: str, days: int) -> None:
    """Whole days; 0 keeps the log for ever (the housekeeping thread doesn't start)."""
    assert Settings.from_env({"LOG_RETENTION_DAYS": raw}).log_retention_days == days


def test_a_bad_log_retention_names_the_fix() -> None:
    with pytest.raises(UserError) as error:
        Settings.from_env({"LOG_RETENTION_DAYS": "-7"})
    assert error.value.fix == ("set LOG_RETENTION_DAYS to a number of days such as 90, "
                               "0 to keep the log for ever, or unset it")


class Recording(dict):
    """An environment that notes every name asked of it."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def get(self, name, default=None):
        self.asked.add(name)
        return super().get(name, default)


def test_variables_are_exactly_the_names_from_env_reads() -> None:
    """``VARIABLES`` (each field's name in capitals) is the one list of faqbot's variables:
    what the unknown-variable warning and the tests' clean environment go by."""
    env = Recording()
    Settings.from_env(env)
    assert env.asked == set(config.VARIABLES)
    assert {"SLACK_BOT_TOKEN", "FAQ_DATASET", "DATABASE_URL", "DYNO"} <= set(config.VARIABLES)
    assert set(config.PLATFORM_VARIABLES) <= set(config.VARIABLES)


@pytest.mark.parametrize("raw", ["#general", "general", "C012AB3CD,#random", "c012ab3cd",
                                 "https://acme.slack.com/archives/C012AB3CD"])
def test_faq_channels_takes_channel_ids_only(raw: str) -> None:
    """A name never matches an event's channel id: taken, it would silence the bot."""
    with pytest.raises(UserError) as error:
        Settings.from_env({"FAQ_CHANNELS": raw})
    line = error.value.one_line()
    assert len(line.splitlines()) == 1
    assert line.startswith("error: FAQ_CHANNELS holds ") and "not a channel id" in line
    assert "C012AB3CD" in error.value.fix and "About" in error.value.fix


def test_dyno_says_heroku() -> None:
    assert Settings.from_env({"DYNO": "web.1"}).on_heroku
    assert not Settings.from_env({}).on_heroku
