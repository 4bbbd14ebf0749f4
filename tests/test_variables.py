"""Variables with faqbot's prefixes that faqbot doesn't read are named, with the closest real
one; what Slack's SDKs and Hugging Face's libraries read is left alone."""

from __future__ import annotations

import re
from pathlib import Path

import slack_bolt
import slack_sdk

from bot.config import VARIABLES
from bot.variables import PREFIXES, SLACK_SDK_VARIABLES, unknown_variables
from tests.conftest import ROOT, clean_env, run_cli


def test_prefixes_come_from_the_settings_names() -> None:
    assert {"SLACK_", "FAQ_", "EMBEDDING_", "ANSWER_", "INFERENCE_", "ESCALATION_",
            "DATABASE_", "LOG_", "CLAIM_"} == set(PREFIXES)
    assert all(name.startswith(PREFIXES) for name in VARIABLES
               if "_" in name and not name.startswith("HF_"))


def test_a_typo_is_named_with_the_closest_setting() -> None:
    [typo] = unknown_variables({"FAQ_DATSET": "acme/faq", "PATH": "/bin"},
                               from_dotenv={"FAQ_DATSET"})
    assert (typo.name, typo.closest, typo.in_dotenv) == ("FAQ_DATSET", "FAQ_DATASET", True)
    assert typo.message() == ("FAQ_DATSET (in .env) is not a faqbot setting, so it is ignored; "
                              "did you mean FAQ_DATASET? Rename it, or remove it")
    [lower] = unknown_variables({"answer_min_score": "0.5"})
    assert lower.closest == "ANSWER_MIN_SCORE" and not lower.in_dotenv
    [far] = unknown_variables({"SLACK_WORKSPACE_COLOUR": "x"})
    assert far.closest is None and ".env.example" in far.message()


def test_known_and_foreign_variables_are_left_alone() -> None:
    environ = {**dict.fromkeys(VARIABLES, "x"), **dict.fromkeys(SLACK_SDK_VARIABLES, "x"),
               "HF_HOME": "/cache", "HF_HUB_OFFLINE": "1", "DYNO": "web.1", "PORT": "5000",
               "XDG_DATA_HOME": "/data"}
    assert unknown_variables(environ) == []


def sdk_slack_names() -> set[str]:
    """Every SLACK_* name quoted in the installed slack_sdk and slack_bolt sources."""
    found: set[str] = set()
    for package in (slack_sdk, slack_bolt):
        for source in Path(package.__file__).parent.rglob("*.py"):
            found |= set(re.findall(r"[\"'](SLACK_[A-Z0-9_]+)[\"']", source.read_text("utf-8")))
    return found


def test_the_slack_sdk_list_matches_what_the_installed_sdks_read() -> None:
    """A Bolt upgrade that reads a new SLACK_ variable fails here, not in a user's log."""
    assert sdk_slack_names() - set(VARIABLES) == SLACK_SDK_VARIABLES


def test_serve_warns_at_start_and_never_shows_the_value(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("FAQ_DATSET=secret-looking-value\n")
    result = run_cli("serve", env=clean_env(EMBEDDING_BACKENDS="local"), cwd=tmp_path)
    assert result.returncode == 2  # no Slack credentials: refused after the warnings
    assert ("FAQ_DATSET (in .env) is not a faqbot setting, so it is ignored; did you mean "
            "FAQ_DATASET?") in result.stderr
    assert "EMBEDDING_BACKENDS is not a faqbot setting" in result.stderr
    assert "did you mean EMBEDDING_BACKEND?" in result.stderr
    assert "secret-looking-value" not in result.stderr


def test_env_example_names_only_variables_faqbot_reads() -> None:
    from dotenv import dotenv_values

    assert unknown_variables(dotenv_values(ROOT / ".env.example")) == []


def test_prepare_warns_too_a_typo_would_prepare_the_wrong_model(tmp_path: Path) -> None:
    result = run_cli("prepare", env=clean_env(FAQ_DATSET="acme/faq", EMBEDDING_BACKEND="api",
                                              HF_TOKEN="hf_test"), cwd=tmp_path)
    assert result.returncode == 0 and "nothing to prepare" in result.stdout
    assert "did you mean FAQ_DATASET?" in result.stderr
