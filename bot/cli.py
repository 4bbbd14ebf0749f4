"""The ``faqbot`` command. The only place that loads ``.env`` and configures logging.

Heavy libraries (numpy, datasets, onnxruntime, slack_bolt) are imported inside the
commands, so ``faqbot --help`` answers at once.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot import cli_faq, log_masking
from bot.errors import UserError

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.faq.calibration import Calibration
    from bot.faq.embedders import Embedder

log = logging.getLogger("bot")


def _settings():
    from bot.config import Settings

    return Settings.from_env()


def _note(message: str) -> None:
    print(message, file=sys.stderr)


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer one question the way the bot would when asked, and say what a channel gets."""
    from bot.faq.policy import Decision
    from bot.faq.question import clean_question
    from bot.live import open_live

    clean_question(args.question)  # refuse an empty question before loading anything
    live = open_live(_settings(), progress=_note)  # the dataset with the database's edits
    live.store.close()
    answer = live.answerer.ask(args.question)
    if answer.truncated:
        _note("note: the question was long; only its beginning was used")
    from bot.report.inert import inert_json, printable, printable_lines  # others' text

    if args.json:
        print(inert_json(answer.to_json()))
        return 0
    if answer.decision == Decision.ANSWER:
        hit = answer.shown[0]
        print(f"{printable(hit.question)}  (score {hit.score:.2f})")
        if hit.matched != hit.question:  # which of the FAQ's alternates did the matching
            print(f"matched the phrasing: {printable(hit.matched)!r}")
        print(f"\n{printable_lines(hit.answer)}")
        if hit.url:
            print(f"\nMore: {printable(hit.url)}")
    elif answer.decision == Decision.CHOICES:
        print("Several FAQs are close; did you mean:")
        for n, hit in enumerate(answer.shown, start=1):
            print(f"  {n}. {printable(hit.question)}  (score {hit.score:.2f})")
        print(f"\nBest match:\n{printable_lines(answer.shown[0].answer)}")
    if answer.decision != Decision.NONE:
        unprompted = ("the same answer" if answer.channel_decision == Decision.ANSWER else
                      "silence (not sure enough to answer unprompted)")
        print(f"\nAs a top-level channel message: {unprompted}")
    else:
        best = answer.candidates[0] if answer.candidates else None
        hint = (f" (closest: {printable(best.question)!r}, score {best.score:.2f})" if best
                else "")
        print(f"No FAQ answers this; in a channel the bot stays silent{hint}.")
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    """Embed an FAQ source (CSV, JSONL, Parquet or a Hub dataset) into a dataset."""
    from bot.faq.dataset import build, push
    from bot.faq.embedders import create_embedder

    settings = _settings()
    if args.push_to_hub and not settings.hf_token:  # before the build, not after it
        raise UserError("--push-to-hub needs a Hugging Face token",
                        "set HF_TOKEN to a token with write access")
    embedder, calibration = (_tune_for_build(args, settings) if args.tune
                             else (create_embedder(settings, for_build=True), None))
    report = build(args.source, Path(args.out), embedder, revision=args.revision,
                   token=settings.hf_token, progress=not args.quiet, calibration=calibration)
    for warning in report.warnings:
        _note(warning)
    learned = ("learned the answer thresholds from phrasings a second tune held out"
               if calibration is not None else
               "learned the answer thresholds from the alternates" if report.calibrated else
               "too few alternates to learn from; ANSWER_MIN_SCORE and ANSWER_MARGIN apply")
    _note(f"built {report.out}: {report.rows} FAQs, embedded {report.embedded}, "
          f"reused {report.reused} unchanged; {learned}")
    if args.push_to_hub:
        _note(f"pushed to {push(report.out, args.push_to_hub, settings.hf_token)}")
    return 0


def _tune_for_build(args: argparse.Namespace,
                    settings: Settings) -> tuple[Embedder, Calibration | None]:
    """Tune the model to the source's phrasings, into ``--out``; its embedder, and the
    decision learned from a second tune that held some phrasings out (``None`` when too
    few can be)."""
    from bot.faq.carried_model import MODEL_DIR
    from bot.faq.dataset import prepare_out
    from bot.faq.sources import read_source
    from bot.faq.tune import dataset_embedder, describe, tune
    from bot.faq.tune.crossfit import held_out_calibration

    out = Path(args.out)
    rows = read_source(args.source, args.revision, settings.hf_token)
    prepare_out(out)
    report = tune(rows, out / MODEL_DIR, base_model=settings.embedding_model,
                  token=settings.hf_token, progress=not args.quiet)
    _note(describe(report))
    _note("tuning a second model without every third phrasing, to learn the thresholds from "
          "questions it never saw…")
    calibration = held_out_calibration(rows, base_model=settings.embedding_model,
                                       token=settings.hf_token)
    return dataset_embedder(out, report.model_id), calibration


def cmd_eval(args: argparse.Namespace) -> int:
    """Score the answer policy on a labelled CSV (question,expected)."""
    from bot.faq.answerer import load_answerer
    from bot.faq.card_update import writable_card, write_suggested
    from bot.faq.confusion import as_lines
    from bot.faq.evaluate import evaluate

    settings = _settings()
    card = writable_card(settings.faq_dataset) if args.write else None  # refuse before work
    result = evaluate(Path(args.labelled), load_answerer(settings, progress=_note),
                      by_faq=args.by_faq)
    if args.json:
        print(json.dumps(result))
    else:
        rows = [("questions", result["n"]), ("top-1 accuracy", result["top1_accuracy"]),
                ("single-answer accuracy", result["single_answer_accuracy"]),
                ("shown recall", result["shown_recall"]),
                ("abstain precision", result["abstain_precision"]),
                ("abstain recall", result["abstain_recall"]),
                ("choices rate", result["choices_rate"])]
        if result["calibrated"]:
            print(f"with the thresholds learned at build (relative score {result['min_score']}, "
                  f"margin {result['margin']}):")
        else:
            print(f"with the cosine thresholds min score {result['min_score']}, "
                  f"margin {result['margin']}:")
        for name, value in rows:
            print(f"  {name:<24}{value}")
        suggested = result["suggested"]
        if result["calibrated"]:
            print(f"suggested for this set: relative score {suggested['min_score']}, "
                  f"margin {suggested['margin']}")
        else:
            print(f"suggested: ANSWER_MIN_SCORE={suggested['min_score']} "
                  f"ANSWER_MARGIN={suggested['margin']}")
        channel = result["channel"]
        print(f"as top-level channel messages (one answer or silence; relative score "
              f"{channel['min_score']}, margin {channel['margin']}):"
              if result["calibrated"] else "as top-level channel messages (one answer or "
              "silence, same thresholds):")
        for name, key in (("single-answer accuracy", "single_answer_accuracy"),
                          ("abstain precision", "abstain_precision"),
                          ("abstain recall", "abstain_recall")):
            print(f"  {name:<24}{channel[key]}")
        if args.by_faq:
            from bot.report.inert import printable  # the FAQ's ids and questions

            print("\n".join(printable(line) for line in
                            as_lines(result["by_faq"], calibrated=result["calibrated"])))
    if card is not None:
        _note(f"wrote {write_suggested(card, result['suggested'])}")
        from_env = settings.answer_min_score is not None or settings.answer_margin is not None
        if from_env and not result["calibrated"]:
            _note("note: ANSWER_MIN_SCORE/ANSWER_MARGIN set in the environment still win over "
                  "the dataset's thresholds; unset them to use what was written")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Summarise the question log: decisions, unanswered questions grouped, FAQ feedback."""
    from bot.report import build_report
    from bot.report.render import as_csv, as_text

    report = build_report(_settings(), args.since)
    if args.json:
        from bot.report.inert import inert_json

        print(inert_json(report))
    elif args.csv:
        sys.stdout.write(as_csv(report))
    else:
        print(as_text(report, args.since))
    return 0


def _report_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", default="7d",
                        help="how far back: 24h, 7d, 2w, or a date such as 2024-05-01 "
                             "(default 7d)")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print one JSON object")
    output.add_argument("--csv", action="store_true",
                        help="print the unanswered question groups as CSV")


def _warn_unknown_variables(args: argparse.Namespace) -> None:
    """A typo'd setting is otherwise ignored without a word (the sample FAQ served instead)."""
    from bot.variables import unknown_variables

    for unknown in unknown_variables(os.environ, args.from_dotenv):
        log.warning("%s", unknown.message())


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve Slack's Events API over HTTP on 0.0.0.0:PORT."""
    from bot.runtime.http import serve

    _warn_unknown_variables(args)
    return serve(_settings(), port=args.port)


def cmd_socket(args: argparse.Namespace) -> int:
    """Connect to Slack in Socket Mode (needs SLACK_APP_TOKEN)."""
    from bot.runtime.socket import run_socket

    _warn_unknown_variables(args)
    return run_socket(_settings())


def cmd_check(args: argparse.Namespace) -> int:
    """Check the configuration, the Slack token, the dataset and the embedder."""
    from bot.check import run_checks

    results = run_checks(_settings, from_dotenv=args.from_dotenv)
    from bot.report.inert import printable  # a Hub card's text is others' text

    for result in results:
        print("\n".join(printable(line) for line in result.lines()))
    failed = sum(not result.ok for result in results)
    if failed:
        raise UserError(f"{failed} of {len(results)} checks failed",
                        "apply the fixes listed above and run faqbot check again")
    return 0


def cmd_prepare(args: argparse.Namespace) -> int:
    """Build the local model's fast graph now, for a build step (bin/post_compile, Docker)."""
    from bot.faq.embedders.prepare import prepare

    _warn_unknown_variables(args)  # a typo'd FAQ_DATASET would prepare the wrong model
    print(prepare(_settings()))
    return 0


COMMANDS: dict[str, tuple[Callable[[argparse.Namespace], int], Callable[[Any], None]]] = {}


def _command(name: str, func: Callable[[argparse.Namespace], int]):
    def register(configure: Callable[[argparse.ArgumentParser], None]) -> None:
        COMMANDS[name] = (func, configure)
    return register


_command("ask", cmd_ask)(lambda p: (
    p.add_argument("question", help="the question, in quotes"),
    p.add_argument("--json", action="store_true", help="print one JSON object"),
))
_command("build", cmd_build)(lambda p: (
    p.add_argument("source", help="CSV / JSONL / Parquet file, dataset dir or Hub dataset id"),
    p.add_argument("--out", required=True, help="directory to write (Hub dataset layout)"),
    p.add_argument("--push-to-hub", metavar="REPO_ID", help="also push to this Hub dataset"),
    p.add_argument("--revision", default="main", help="revision of a Hub source"),
    p.add_argument("--quiet", action="store_true", help="no progress bar"),
    p.add_argument("--tune", action="store_true",
                   help="tune the model to this FAQ first; the model travels in --out "
                        "(needs faqbot[tune])"),
))
_command("eval", cmd_eval)(lambda p: (
    p.add_argument("labelled", help="CSV with columns question,expected"),
    p.add_argument("--json", action="store_true", help="print one JSON object"),
    p.add_argument("--by-faq", action="store_true",
                   help="also list the FAQs confused with each other and the missed questions"),
    p.add_argument("--write", action="store_true",
                   help="store the suggested thresholds in FAQ_DATASET's card (a local "
                        "directory from faqbot build), where serve and ask read them"),
))
_command("report", cmd_report)(_report_arguments)
_command("faq", cli_faq.cmd_faq)(cli_faq.faq_arguments)
_command("export", cli_faq.cmd_export)(cli_faq.export_arguments)
_command("tune", cli_faq.cmd_tune)(cli_faq.tune_arguments)
_command("serve", cmd_serve)(lambda p: (
    p.add_argument("--port", type=int,
                   help="port to listen on (default: $PORT, else 3000; 0 picks a free one)"),
))
_command("socket", cmd_socket)(lambda p: None)
_command("check", cmd_check)(lambda p: None)
_command("prepare", cmd_prepare)(lambda p: None)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="faqbot", description="Answer the questions people keep asking, from your FAQ.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (func, configure) in COMMANDS.items():
        doc = (func.__doc__ or "").strip()
        command = sub.add_parser(name, help=doc.splitlines()[0] if doc else "", description=doc)
        configure(command)
        command.set_defaults(func=func)
    return parser


def _configure_logging(verbose: bool) -> None:
    """Our own INFO lines; other libraries only from WARNING up, unless --verbose."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    log_masking.install(logging.getLogger())
    log.setLevel(logging.DEBUG if verbose else logging.INFO)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


# 128 + SIGPIPE: what a shell reports for a command whose reader went away (`yes | head`).
CLOSED_PIPE_EXIT = 141


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. When stdout's reader has gone (``faqbot … | head``), end quietly."""
    try:
        try:
            return _run(argv)
        finally:
            sys.stdout.flush()  # so a closed pipe surfaces here, not at interpreter exit
    except BrokenPipeError:
        # Python's advice: point stdout at devnull, so the final flush can't fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return CLOSED_PIPE_EXIT


def _load_dotenv() -> frozenset[str]:
    """Load ./.env under the real environment; the names it set (warnings say where a
    variable came from)."""
    from dotenv import dotenv_values, load_dotenv

    path = Path.cwd() / ".env"
    before = set(os.environ)
    load_dotenv(path, override=False)
    return frozenset(name for name in dotenv_values(path) if name not in before)


def _log_database() -> None:
    """With -v, every command says which database it would use (the password masked)."""
    from bot.storage import describe_database

    # A malformed DATABASE_URL is left to the command that uses it: it says so, with the fix.
    with contextlib.suppress(UserError):
        log.debug("database: %s", describe_database(os.environ.get("DATABASE_URL")))


def _run(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    args.from_dotenv = _load_dotenv()
    _configure_logging(args.verbose)
    try:
        if args.verbose:
            _log_database()
        return args.func(args)
    except UserError as error:
        from bot.report.inert import printable  # a problem may quote an FAQ's text

        print(printable(error.one_line()), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
