"""``faqbot faq add|edit|retire|list|clear|learn`` and ``faqbot export``: the FAQ edits in the
database, scriptable, and the merged FAQ written back out as a dataset.

Every change goes through ``bot.live.LiveFaq``, the same path as Slack's "Save as FAQ", so a
change made here is checked the same way and answered by every running process within
seconds.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bot.errors import UserError

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.live import LiveFaq


def _note(message: str) -> None:
    print(message, file=sys.stderr)


def _show(*fields: object) -> None:
    """Print others' text (questions from Slack, ids, phrasings) inert, tab-separated: their
    ESC sequences and bidi overrides must not reach the editor's terminal."""
    from bot.report.inert import printable

    print("\t".join(printable(str(field)) for field in fields))


def _show_json(value: object) -> None:
    from bot.report.inert import inert_json

    print(inert_json(value))


def _open() -> LiveFaq:
    from bot.config import Settings
    from bot.live import open_live

    return open_live(Settings.from_env(), progress=_note)


def _editor() -> str:
    """Who made a CLI edit, for the record: the login name, when there is one."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry (some containers)
        return "cli"


def _alternates(raw: str | None) -> list[str]:
    from bot.faq.drafts import split_alternates

    return split_alternates(raw or "")


def faq_add(args: argparse.Namespace, live: LiveFaq) -> None:
    from bot.faq.drafts import draft_row

    row = draft_row(question=args.question, answer=args.answer, url=args.url or "",
                    alternates=_alternates(args.alternates), faq_id=args.id or "")
    _show(live.save(row, editor=_editor()).id)


def faq_edit(args: argparse.Namespace, live: LiveFaq) -> None:
    """Only the fields given change: an edit landing meanwhile is merged with this one when
    it changed other fields, and refused (exit 2, naming who and when) when the same."""
    from bot.faq.drafts import draft_row
    from bot.faq.revisions import seen

    current = live.existing(args.id)
    if all(getattr(args, name) is None for name in ("question", "answer", "url", "alternates")):
        raise UserError(f"nothing to change in {args.id!r}",
                        "give --question, --answer, --url or --alternates")

    def given(name: str, now: str) -> str:
        value = getattr(args, name)
        return now if value is None else value

    row = draft_row(question=given("question", current.question),
                    answer=given("answer", current.answer), url=given("url", current.url),
                    alternates=(current.alternates if args.alternates is None
                                else _alternates(args.alternates)),
                    faq_id=current.id, category=current.category)
    _show(live.save(row, editor=_editor(), replacing=current.id, since=seen(current)).id)


def faq_retire(args: argparse.Namespace, live: LiveFaq) -> None:
    _show(f"retired {live.retire(args.id, editor=_editor()).id}")


def faq_list(args: argparse.Namespace, live: LiveFaq) -> None:
    faq = live.faq
    if args.json:
        _show_json([{"id": r.id, "question": r.question, "answer": r.answer, "url": r.url,
                     "alternates": list(r.alternates), "origin": faq.origin(r.id)}
                    for r in faq.rows])
        return
    for row in faq.rows:
        _show(row.id, faq.origin(row.id), row.question)


def faq_clear(args: argparse.Namespace, live: LiveFaq) -> None:
    if not args.pushed:
        raise UserError("faqbot faq clear removes only edits already pushed to the Hub",
                        "run it as `faqbot faq clear --pushed`, after `faqbot export "
                        "--push-to-hub`")
    gone = live.store.clear_pushed_faq_edits()
    print(f"cleared {gone} edits that the last push carried to the Hub")


def faq_learn(args: argparse.Namespace, live: LiveFaq) -> None:
    from bot.live import Learner

    learner = Learner(live)
    if args.accept is not None:
        row = learner.accept(args.accept, by=_editor())
        _show(f"accepted: {row.id} now has {len(row.alternates)} alternates")
        return
    if args.reject is not None:
        _show(f"rejected suggestion {learner.reject(args.reject, by=_editor()).id}")
        return
    if not learner.enabled:
        _note("note: LOG_QUESTION_TEXT=false, so no phrasings are learned")
    pending = live.store.suggestions()
    if args.json:
        _show_json([{"id": s.id, "faq_id": s.faq_id, "text": s.text, "users": s.users,
                     "too_close": learner.too_close(s.text, s.faq_id)} for s in pending])
        return
    for s in pending:
        close = "  (close to another FAQ)" if learner.too_close(s.text, s.faq_id) else ""
        _show(s.id, f"{s.users} users", s.faq_id, f"{s.text}{close}")


def cmd_faq(args: argparse.Namespace) -> int:
    """Add, edit, retire or list FAQs in the database, over the dataset."""
    live = _open()
    try:
        live.store.ping()  # edits are in the database: without it, say so and stop
        args.faq_action(args, live)
    finally:
        live.store.close()
    return 0


def _settings_for(push_to_hub: str | None) -> Settings:
    """The settings, checked for what a push to the Hub needs before any work starts."""
    from bot.config import Settings

    settings = Settings.from_env()
    if push_to_hub and not settings.hf_token:
        raise UserError("--push-to-hub needs a Hugging Face token",
                        "set HF_TOKEN to a token with write access")
    return settings


def cmd_export(args: argparse.Namespace) -> int:
    """Write the merged FAQ (dataset + edits) in `faqbot build`'s layout, with embeddings."""
    from bot.live.export import export

    settings = _settings_for(args.push_to_hub)
    live = _open()
    try:
        done = export(live, Path(args.out), push_to=args.push_to_hub or "",
                      token=settings.hf_token,
                      record=args.push_to_hub == settings.faq_dataset)
    finally:
        live.store.close()
    _note(f"wrote {done.rows} FAQs ({done.edited} from edits, up to change {done.version}) "
          f"to {done.out}")
    if done.pushed_to and args.push_to_hub == settings.faq_dataset:
        _note(f"pushed to {done.pushed_to}; once every process runs that commit, "
              "`faqbot faq clear --pushed` removes the edits it carried")
    elif done.pushed_to:
        _note(f"pushed to {done.pushed_to}, which is not FAQ_DATASET: the edits stay in the "
              "database")
    return 0


def cmd_tune(args: argparse.Namespace) -> int:
    """Re-tune the model to the FAQ in use (dataset, edits, accepted learned phrasings)."""
    from bot.faq.tune import describe
    from bot.live.export import tune_and_export

    settings = _settings_for(args.push_to_hub)
    live = _open()
    try:
        done, report = tune_and_export(
            live, Path(args.out), base_model=settings.embedding_model,
            push_to=args.push_to_hub or "", token=settings.hf_token,
            record=args.push_to_hub == settings.faq_dataset, progress=not args.quiet)
    finally:
        live.store.close()
    _note(describe(report))
    _note(f"wrote {done.rows} FAQs ({done.edited} from edits, up to change {done.version}) "
          f"and the tuned model to {done.out}")
    if done.pushed_to:
        _note(f"pushed to {done.pushed_to}: servers following it swap model and vectors "
              "together at their next check")
    else:
        _note(f"serve it with FAQ_DATASET={done.out} (its model comes along)")
    return 0


ACTIONS: dict[str, tuple[Callable[[argparse.Namespace, LiveFaq], None], str]] = {
    "add": (faq_add, "add an FAQ; prints its id"),
    "edit": (faq_edit, "change an FAQ's question, answer, url or alternates"),
    "retire": (faq_retire, "hide an FAQ on every process"),
    "list": (faq_list, "list the merged FAQ and where each row comes from"),
    "clear": (faq_clear, "remove edits already pushed to the Hub"),
    "learn": (faq_learn, "list phrasings learned from use; accept or reject one"),
}


def faq_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="faq_command", required=True, metavar="ACTION")
    for name, (action, help_text) in ACTIONS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        command.set_defaults(faq_action=action)
        if name in ("edit", "retire"):
            command.add_argument("id", help="the FAQ's id (see `faqbot faq list`)")
        if name in ("add", "edit"):
            required = name == "add"
            command.add_argument("--question", required=required, help="the question")
            command.add_argument("--answer", required=required, help="the answer")
            command.add_argument("--url", help="a link for more (http or https)")
            command.add_argument("--alternates", help='other phrasings, "a|b"')
        if name == "add":
            command.add_argument("--id", help="a stable id (default: derived from the question)")
        if name == "list":
            command.add_argument("--json", action="store_true", help="print one JSON list")
        if name == "learn":
            choice = command.add_mutually_exclusive_group()
            choice.add_argument("--accept", type=int, metavar="ID",
                                help="add suggestion ID as an alternate of its FAQ")
            choice.add_argument("--reject", type=int, metavar="ID", help="drop suggestion ID")
            command.add_argument("--json", action="store_true", help="print one JSON list")
        if name == "clear":
            command.add_argument("--pushed", action="store_true",
                                 help="the edits the last `export --push-to-hub` carried")


def export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="directory to write (Hub dataset layout)")
    parser.add_argument("--push-to-hub", metavar="REPO_ID", help="also push to this dataset")


def tune_arguments(parser: argparse.ArgumentParser) -> None:
    export_arguments(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
