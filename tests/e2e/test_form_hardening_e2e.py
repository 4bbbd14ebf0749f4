"""End to end, against real ``faqbot serve``: the FAQ form under concurrent edits and load.

- Editor A opens the form on an FAQ; B fixes its answer and saves; A saves an added
  alternate. A is shown the form again (who changed it, their text, A's kept), and saving
  again keeps both changes: nothing is lost, and nobody is told "Saved" for a lost save.
- With every answer thread held by slow embeddings, an invalid submission is still refused
  in the form within Slack's 3 s, not closed by a timeout.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest

from bot.faq.revisions import seen
from bot.faq.sources import FaqRow
from bot.slack import modals
from bot.storage import schema
from tests.conftest import server_env, table_rows
from tests.e2e.conftest import FAQ_CHANNEL, HF_TOKEN, SECRET, TOKEN, deliver, mention, new_ts
from tests.standins.inference_standin import Fault, InferenceStandIn
from tests.standins.server_process import ServerProcess
from tests.standins.slack_standin import (
    APP_ID,
    TEAM_ID,
    SlackStandIn,
    interaction_body,
    send_signed,
)

EDITOR_A, EDITOR_B = "U0EDITORA", "U0EDITORB"
SLACK_DEADLINE_S = 3.0


def submit(server: ServerProcess, user: str, values: dict[str, str],
           metadata: str) -> tuple[int, dict[str, Any], float]:
    """A signed faq_edit view_submission; the status, the JSON answer and how long it took."""
    payload = {
        "type": "view_submission", "api_app_id": APP_ID,
        "team": {"id": TEAM_ID, "domain": "acme"},
        "user": {"id": user, "username": "someone", "team_id": TEAM_ID},
        "trigger_id": f"{secrets.randbelow(10**9)}.trigger",
        "view": {"id": f"V{secrets.token_hex(4).upper()}", "type": "modal",
                 "team_id": TEAM_ID, "callback_id": "faq_edit", "app_id": APP_ID,
                 "hash": "1.x", "private_metadata": metadata,
                 "state": {"values": {name: {"value": {"type": "plain_text_input",
                                                       "value": text}}
                                      for name, text in values.items()}}},
        "response_urls": [],
    }
    started = time.monotonic()
    status, _, content = send_signed(server.events_url, interaction_body(payload), SECRET)
    return status, json.loads(content) if content.strip() else {}, time.monotonic() - started


def form_values(row: FaqRow, **changes: str) -> dict[str, str]:
    values = {"question": row.question, "answer": row.answer, "url": row.url,
              "alternates": "\n".join(row.alternates)}
    return {**values, **changes}


@pytest.fixture(scope="module")
def server(slack: SlackStandIn, embedder, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[ServerProcess, InferenceStandIn, str]]:
    """One server embedding through the Inference API stand-in, which tests slow down."""
    workdir = tmp_path_factory.mktemp("form-hardening")
    url = f"sqlite:///{workdir / 'faqbot.sqlite3'}"
    with InferenceStandIn(embedder.embed, token=HF_TOKEN) as api:
        env = server_env(slack, token=TOKEN, secret=SECRET, FAQ_CHANNELS=FAQ_CHANNEL,
                         DATABASE_URL=url, FAQ_EDITORS=f"{EDITOR_A},{EDITOR_B}",
                         EMBEDDING_BACKEND="api", HF_TOKEN=HF_TOKEN,
                         INFERENCE_API_URL=api.hf_url)
        with ServerProcess(env, cwd=str(workdir)) as process:
            process.wait_healthy()
            yield process, api, url


def test_a_save_from_an_older_form_comes_back_and_then_keeps_both_changes(
        server: tuple[ServerProcess, InferenceStandIn, str], answerer) -> None:
    process, _, url = server
    opened = answerer.faq.rows[5]  # the sample, as both editors' forms show it
    form = modals.editing(opened, channel=FAQ_CHANNEL, thread_ts=new_ts()).encode()
    status, answer, _ = submit(process, EDITOR_B, form_values(opened, answer="B's fix."), form)
    assert (status, answer) == (200, {})
    mine = form_values(opened, alternates="\n".join([*opened.alternates, "A's new phrasing"]))
    status, answer, _ = submit(process, EDITOR_A, mine, form)
    assert status == 200 and answer["response_action"] == "update"
    view = answer["view"]
    shown = json.dumps(view["blocks"], ensure_ascii=False)
    assert f"<@{EDITOR_B}>" in shown and "B's fix." in shown
    [row] = [r for r in table_rows(url, schema.faq_edits) if r["faq_id"] == opened.id]
    assert row["answer"] == "B's fix."  # B's fix is still there
    assert "A's new phrasing" not in row["alternates"]  # and A was not told "Saved"
    typed = {b["block_id"]: b["element"].get("initial_value", "") for b in view["blocks"]
             if b.get("type") == "input"}
    assert typed["answer"] == "B's fix." and "A's new phrasing" in typed["alternates"]
    status, answer, _ = submit(process, EDITOR_A, typed, view["private_metadata"])
    assert (status, answer) == (200, {})
    [row] = [r for r in table_rows(url, schema.faq_edits) if r["faq_id"] == opened.id]
    assert row["answer"] == "B's fix." and "A's new phrasing" in row["alternates"]
    current = FaqRow(id=row["faq_id"], question=row["question"], answer=row["answer"],
                     url=row["url"], alternates=tuple(row["alternates"]))
    assert json.loads(view["private_metadata"])["seen"] != seen(current).encode()


def test_an_invalid_form_is_refused_in_time_while_every_answer_thread_is_busy(
        server: tuple[ServerProcess, InferenceStandIn, str], slack: SlackStandIn) -> None:
    process, api, _ = server
    held = 8  # as many as the answers' pool has threads
    api.queue(*[Fault.slow(3.5)] * held)
    for n in range(held):
        assert deliver(process, mention(f"how do I replace my card, take {n}?")) == 200
    api.wait_faults_taken(timeout=10)  # every answer thread now waits on a slow embedding
    status, answer, took = submit(process, EDITOR_A, {
        "question": "Is there a Medicare office near me?", "answer": "Yes.",
        "url": "ftp://x"}, json.dumps({"channel": FAQ_CHANNEL, "thread_ts": new_ts()}))
    assert status == 200 and took < SLACK_DEADLINE_S
    assert answer["response_action"] == "errors" and "url" in answer["errors"]
