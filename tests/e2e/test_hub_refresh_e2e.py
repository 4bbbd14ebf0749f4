"""A push to the Hub branch a server follows is answered without a restart; a pinned commit
is never re-checked. The Hub is olah, offline, on 127.0.0.1."""

from __future__ import annotations

import json

from bot.config import Settings
from bot.live.hub import follows_branch
from bot.live.watch import Watcher
from tests.conftest import run_cli, server_env, wait_until
from tests.e2e.conftest import SECRET, TOKEN, answered_once, deliver, mention
from tests.faq.test_hub import hub_env, sample_files
from tests.standins.server_process import ServerProcess

ROBOT_CSV = 'id,question,answer\nrobots,How do I feed the office robot?,"Oil, daily."\n'
ASKED = "how do i feed the office robot?"


def reply(server: ServerProcess, standin, text: str) -> str:
    event = mention(text)
    assert deliver(server, event) == 200
    return json.dumps(answered_once(standin, event["ts"]).params)


def test_a_push_to_the_branch_is_answered_without_a_restart(local_hub, slack_standin,
                                                             tmp_path) -> None:
    local_hub.add_repo("datasets", "acme/live-faq", sample_files())
    source = tmp_path / "robots.csv"
    source.write_text(ROBOT_CSV)
    built = run_cli("build", str(source), "--out", str(tmp_path / "ds"), "--quiet")
    assert built.returncode == 0, built.stderr
    env = {**hub_env(local_hub, tmp_path / "hf"),
           **server_env(slack_standin, token=TOKEN, secret=SECRET, FAQ_DATASET="acme/live-faq",
                        FAQ_REFRESH_SECONDS="1",
                        DATABASE_URL=f"sqlite:///{tmp_path / 'faqbot.sqlite3'}")}
    with ServerProcess(env) as server:
        server.wait_healthy()
        assert "Oil, daily." not in reply(server, slack_standin, ASKED)
        local_hub.commit("datasets", "acme/live-faq", {
            "README.md": (tmp_path / "ds" / "README.md").read_text(),
            "data/train-00000-of-00001.parquet": tmp_path / "ds" / "data" /
            "train-00000-of-00001.parquet"}, "the robot FAQ")
        wait_until(lambda: "Oil, daily." in reply(server, slack_standin, ASKED), timeout=15,
                   what="the new commit answered")
        assert any("loaded commit" in line for line in server.lines)
    assert local_hub.refused(tmp_path / "hf") == []


SHA = "0123456789abcdef0123456789abcdef01234567"


def test_only_a_hub_branch_is_followed() -> None:
    sha = SHA
    assert follows_branch("acme/faq", "main") and follows_branch("acme/faq", "v2")
    assert not follows_branch("acme/faq", sha)
    assert not follows_branch("./faq-dataset", "main")


def test_a_pinned_commit_or_refresh_zero_starts_no_hub_checks() -> None:
    live = type("Live", (), {"commit": None})()
    follows = [Watcher(live, Settings.from_env(env)).follows_hub for env in (  # type: ignore[arg-type]
        {"FAQ_DATASET": "acme/faq"},
        {"FAQ_DATASET": "acme/faq", "FAQ_DATASET_REVISION": SHA},
        {"FAQ_DATASET": "acme/faq", "FAQ_REFRESH_SECONDS": "0"})]
    assert follows == [True, False, False]


def test_a_commit_with_an_overlong_id_is_not_loaded(local_hub, slack_standin, tmp_path) -> None:
    """Slack caps a button's value at 2,000 characters, and every answer's buttons carry the
    FAQ's id: a commit whose id is 5,005 characters is refused, and the server keeps serving
    the FAQ it has."""
    import pyarrow.parquet as pq

    local_hub.add_repo("datasets", "acme/long-ids", sample_files())
    source = tmp_path / "robots.csv"
    source.write_text(ROBOT_CSV)
    built = run_cli("build", str(source), "--out", str(tmp_path / "ds"), "--quiet")
    assert built.returncode == 0, built.stderr
    data = tmp_path / "ds" / "data" / "train-00000-of-00001.parquet"
    table = pq.read_table(data)
    pq.write_table(table.set_column(table.column_names.index("id"), "id", [["r" * 5005]]),
                   data)
    env = {**hub_env(local_hub, tmp_path / "hf"),
           **server_env(slack_standin, token=TOKEN, secret=SECRET, FAQ_DATASET="acme/long-ids",
                        FAQ_REFRESH_SECONDS="1",
                        DATABASE_URL=f"sqlite:///{tmp_path / 'faqbot.sqlite3'}")}
    with ServerProcess(env) as server:
        server.wait_healthy()
        local_hub.commit("datasets", "acme/long-ids", {
            "README.md": (tmp_path / "ds" / "README.md").read_text(),
            "data/train-00000-of-00001.parquet": data}, "a robot FAQ with a long id")
        wait_until(lambda: any("not loaded" in line and "5,005 characters" in line
                               for line in server.lines), timeout=15, what="the commit refused")
        assert not any("loaded commit" in line for line in server.lines)
        assert "Oil, daily." not in reply(server, slack_standin, ASKED)
