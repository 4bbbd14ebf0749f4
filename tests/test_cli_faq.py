"""``faqbot faq …`` and ``faqbot export`` as a user runs them: ids printed, the merged FAQ
listed with where each row comes from, and one line plus exit 2 for every bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main

DOG = ["--question", "Can I bring my dog to the office?", "--answer", "Yes, on Fridays.",
       "--alternates", "are pets allowed at work|is the office dog friendly"]


def listed(capsys) -> dict[str, dict]:
    assert main(["faq", "list", "--json"]) == 0
    return {row["id"]: row for row in json.loads(capsys.readouterr().out)}


def test_add_edit_retire_and_list(capsys) -> None:
    assert main(["faq", "add", *DOG, "--id", "dog"]) == 0
    assert capsys.readouterr().out.strip() == "dog"
    rows = listed(capsys)
    assert rows["dog"]["origin"] == "edit"
    assert rows["dog"]["alternates"] == ["are pets allowed at work", "is the office dog friendly"]
    assert {r["origin"] for i, r in rows.items() if i != "dog"} == {"dataset"}
    assert main(["faq", "edit", "dog", "--answer", "Only on Fridays.",
                 "--url", "https://intranet.example.com/pets"]) == 0
    capsys.readouterr()
    assert main(["ask", "may I bring my puppy to work", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["decision"] == "answer" and answer["shown"][0]["answer"] == "Only on Fridays."
    assert answer["shown"][0]["url"] == "https://intranet.example.com/pets"
    sample = next(i for i in rows if i != "dog")
    assert main(["faq", "retire", sample]) == 0
    assert capsys.readouterr().out.strip() == f"retired {sample}"
    assert sample not in listed(capsys)


def test_an_id_is_derived_from_the_question(capsys) -> None:
    assert main(["faq", "add", *DOG]) == 0
    assert capsys.readouterr().out.startswith("can-i-bring-my-dog-to-the-office-")


@pytest.mark.parametrize(("args", "problem"), [
    (["faq", "add", "--question", "  ", "--answer", "a"], "the question is empty"),
    (["faq", "add", "--question", "New?", "--answer", ""], "the answer is empty"),
    (["faq", "add", "--question", "New?", "--answer", "a", "--url", "ftp://x"], "http(s)"),
    (["faq", "add", "--question", "what is  tricare?", "--answer", "a"],
     "already a phrasing"),
    (["faq", "edit", "nope", "--answer", "a"], "no FAQ with id 'nope'"),
    (["faq", "edit", "tricare"], "nothing to change"),
    (["faq", "retire", "nope"], "no FAQ with id 'nope'"),
    (["faq", "clear"], "--pushed"),
    (["faq", "add", "--question", "New?", "--answer", "a", "--id", "x" * 300],
     "longer than 200"),
])
def test_bad_input_is_one_line_and_exit_2(args, problem, capsys) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and problem in err[0]
    assert "Traceback" not in err[0]


def test_export_then_ask_from_the_exported_dataset(tmp_path: Path, monkeypatch,
                                                   capsys) -> None:
    assert main(["faq", "add", *DOG, "--id", "dog"]) == 0
    out = tmp_path / "exported"
    assert main(["export", "--out", str(out)]) == 0
    assert "1 from edits" in capsys.readouterr().err
    monkeypatch.setenv("FAQ_DATASET", str(out))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'elsewhere.sqlite3'}")
    assert main(["ask", "may I bring my puppy to work", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["shown"][0]["id"] == "dog"
    assert listed(capsys)["dog"]["origin"] == "dataset"


def test_export_with_push_needs_a_token(tmp_path: Path, capsys) -> None:
    assert main(["export", "--out", str(tmp_path / "x"), "--push-to-hub", "acme/faq"]) == 2
    assert "HF_TOKEN" in capsys.readouterr().err


def test_clear_pushed_drops_only_what_the_push_carried(capsys, monkeypatch, tmp_path) -> None:
    from bot.storage import Store

    assert main(["faq", "add", *DOG, "--id", "dog"]) == 0
    store = Store.from_url(f"sqlite:///{tmp_path / 'faqbot.sqlite3'}")
    try:
        store.record_faq_push(store.faq_version())  # what export --push-to-hub records
    finally:
        store.close()
    assert main(["faq", "add", "--question", "Where do I park?", "--answer", "Level -1.",
                 "--id", "park"]) == 0
    capsys.readouterr()
    assert main(["faq", "clear", "--pushed"]) == 0
    assert "cleared 1 edits" in capsys.readouterr().out
    rows = listed(capsys)
    assert "dog" not in rows and rows["park"]["origin"] == "edit"


def test_learn_lists_and_accepts_suggestions(capsys, tmp_path) -> None:
    from bot.storage import Store
    from tests.conftest import logged_answer

    store = Store.from_url(f"sqlite:///{tmp_path / 'faqbot.sqlite3'}")
    try:
        store.log_question(team="T1", channel="C1", ts="1.1", user="U1",
                           text="help me pay my premiums", latency_ms=1, reply_ts="2.2",
                           answer=logged_answer("choices", ("premium-help", 0.6)))
        store.confirm_suggestion(team="T1", faq_id="premium-help",
                                 text="help me pay my premiums", user="U1")
    finally:
        store.close()
    assert main(["faq", "learn", "--json"]) == 0
    [suggestion] = json.loads(capsys.readouterr().out)
    assert suggestion["faq_id"] == "premium-help" and suggestion["users"] == 1
    assert main(["faq", "learn", "--accept", str(suggestion["id"])]) == 0
    capsys.readouterr()
    assert "help me pay my premiums" in listed(capsys)["premium-help"]["alternates"]
    assert main(["faq", "learn", "--accept", str(suggestion["id"])]) == 2
    assert "accepted already" in capsys.readouterr().err


def test_without_the_database_faq_commands_say_so(monkeypatch, capsys, closed_port) -> None:
    monkeypatch.setenv("DATABASE_URL", f"postgresql://u:pw@127.0.0.1:{closed_port}/faqbot")
    assert main(["faq", "list"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "DATABASE_URL" in err[0] and "pw" not in err[0]


# ESC sequences that clear the screen and retitle the window, a C1 CSI, a bidi override.
HOSTILE = "help me pay\x1b[2J\x1b]0;owned\x07 my \x9b2J\u202epremiums"


def _inert(text: str) -> bool:
    return not any((ord(c) < 0x20 and c not in "\t\n") or 0x7f <= ord(c) <= 0x9f
                   or c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
                   for c in text)


def test_learn_and_list_print_others_text_inert(capsys, tmp_path) -> None:
    from bot.storage import Store
    from tests.conftest import logged_answer

    store = Store.from_url(f"sqlite:///{tmp_path / 'faqbot.sqlite3'}")
    try:
        store.log_question(team="T1", channel="C1", ts="1.1", user="U1", text=HOSTILE,
                           latency_ms=1, reply_ts="2.2",
                           answer=logged_answer("choices", ("premium-help", 0.6)))
        store.confirm_suggestion(team="T1", faq_id="premium-help", text=HOSTILE, user="U1")
    finally:
        store.close()
    assert main(["faq", "add", "--question", "where\x1b[2J do I \u202epark?",
                 "--answer", "Level\x1b]0;x\x07 -1.", "--id", "park"]) == 0
    assert main(["faq", "learn"]) == 0
    assert main(["faq", "list"]) == 0
    assert main(["ask", "where do I park?"]) == 0
    out = capsys.readouterr().out
    assert "help me pay[2J]0;owned my 2Jpremiums" in out and "where[2J do I park?" in out
    assert "park\tedit\twhere[2J do I park?" in out  # the columns stay tab-separated
    assert _inert(out)
    assert main(["faq", "learn", "--json"]) == 0
    out = capsys.readouterr().out
    assert _inert(out) and json.loads(out)[0]["text"] == HOSTILE  # escaped, read back whole
