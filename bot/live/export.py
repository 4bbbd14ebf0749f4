"""``faqbot export``: the merged FAQ written in ``faqbot build``'s layout, vectors included.

Committing the result to the dataset's Hub repo makes the edits permanent; after a push,
``faqbot faq clear --pushed`` removes the edits it carried, by their change version.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.faq.carried_model import MODEL_DIR
from bot.faq.dataset import assemble, embed_phrasings, prepare_out, push, write_dataset

if TYPE_CHECKING:
    from bot.faq.dataset import FaqData
    from bot.faq.tune import TuneReport
    from bot.live.faq import LiveFaq


@dataclass(frozen=True)
class Exported:
    rows: int
    edited: int
    version: int  # the change version the export includes
    out: Path
    pushed_to: str = ""


def export(live: LiveFaq, out: Path, *, push_to: str = "", token: str = "",
           record: bool = False) -> Exported:
    """Write the merged FAQ to ``out``; with ``push_to``, push it, and with ``record`` (the
    push went to the dataset the bot serves) record which edits it now holds, for
    ``faqbot faq clear --pushed``. The vectors are the loaded ones: nothing is embedded."""
    version = live.store.faq_version() or 0  # read first: edits after it aren't included
    live.refresh()
    faq = live.faq
    prepare_out(out)
    carried = _copy_carried_model(live, out)
    # A tuned model's thresholds were learned on phrasings a second tune held out; learned
    # again from the vectors here, they would come from phrasings it trained on.
    write_dataset(out, faq, calibration=faq.calibration if carried else None)
    return _finish(live, out, faq, version, push_to=push_to, token=token, record=record)


def _copy_carried_model(live: LiveFaq, out: Path) -> bool:
    """The model a tuned dataset carries goes along: the vectors mean nothing without it.
    True when there was one."""
    files = getattr(live.answerer.embedder, "files", None)
    if live.faq.model is None or not live.faq.model.carried or files is None:
        return False
    source, target = files.model.parent, out / MODEL_DIR
    if source.resolve() != target.resolve():
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(source, target)
    return True


def tune_and_export(live: LiveFaq, out: Path, *, base_model: str, push_to: str = "",
                    token: str = "", record: bool = False,
                    progress: bool = True) -> tuple[Exported, TuneReport]:
    """``faqbot tune``: tune a new model to the merged FAQ (dataset, edits and accepted
    learned phrasings), embed it with that model and write both to ``out``, like export."""
    from bot.faq.tune import dataset_embedder, tune
    from bot.faq.tune.crossfit import held_out_calibration

    version = live.store.faq_version() or 0
    live.refresh()
    faq = live.faq
    prepare_out(out)
    report = tune(faq.rows, out / MODEL_DIR, base_model=base_model, token=token,
                  progress=progress)
    embedder = dataset_embedder(out, report.model_id)
    blocks = embed_phrasings(embedder, faq.rows, progress=progress)
    tuned = assemble(faq.rows, blocks, embedder, str(out), edited=faq.edited)
    write_dataset(out, tuned, calibration=held_out_calibration(faq.rows, base_model=base_model,
                                                               token=token))
    return _finish(live, out, tuned, version, push_to=push_to, token=token,
                   record=record), report


def _finish(live: LiveFaq, out: Path, faq: FaqData, version: int, *, push_to: str,
            token: str, record: bool) -> Exported:
    pushed_to = ""
    if push_to:
        pushed_to = push(out, push_to, token)
        if record:
            live.store.record_faq_push(version)
    return Exported(rows=len(faq), edited=len(faq.edited), version=version, out=out,
                    pushed_to=pushed_to)
