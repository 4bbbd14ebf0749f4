"""``faqbot eval --write``: the suggested thresholds into a local dataset's card.

Stored in the card, the thresholds tuned on the team's labelled questions reach every
``faqbot serve`` and ``ask`` that loads the dataset, instead of living in someone's shell.
Only the card's ``faqbot:`` block changes; the rest of the card stays as it was.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from bot.config import SAMPLE_DATASET
from bot.errors import UserError
from bot.faq.calibration import Calibration
from bot.faq.dataset import FRONT_MATTER
from bot.faq.sources import is_local
from bot.faq.thresholds import Thresholds

FIX = ("run faqbot build SOURCE --out DIR, set FAQ_DATASET=DIR and run eval --write again "
       "(to serve it from the Hub, upload DIR afterwards)")


def writable_card(spec: str) -> Path:
    """The card of the dataset directory ``spec``, checked before the eval spends any time;
    a ``UserError`` for a Hub id, a file, the bundled sample or a directory without a card."""
    path = Path(spec).expanduser()
    if not is_local(spec):
        what = "a Hub dataset id"
    elif not path.is_dir():
        what = "not a directory"
    elif path.resolve() == SAMPLE_DATASET.resolve():
        what = "the bundled sample"
    else:
        _front_matter(path / "README.md", spec)
        return path / "README.md"
    raise UserError(f"--write needs a local dataset directory built by faqbot build, "
                    f"and FAQ_DATASET={spec} is {what}", FIX)


def write_suggested(card: Path, suggested: dict[str, float]) -> str:
    """Store ``suggested`` (eval's ``min_score`` and ``margin``) in ``card``: as the
    calibration's threshold and margin when it has one, else as its ``thresholds``.
    Returns what was written, old values included, for the user to read."""
    import yaml

    meta, body = _front_matter(card, str(card.parent))
    block = meta["faqbot"]
    new = (float(suggested["min_score"]), float(suggested["margin"]))
    calibration = Calibration.from_meta(block.get("calibration"))
    if calibration is not None:
        block["calibration"] = replace(calibration, threshold=new[0], margin=new[1]).to_meta()
        what = (f"calibration threshold {calibration.threshold} → {new[0]} (relative score), "
                f"margin {calibration.margin} → {new[1]}")
    else:
        old = Thresholds.from_meta(block.get("thresholds"))
        block["thresholds"] = Thresholds(*new).to_meta()
        what = (f"thresholds min_score {new[0]}, margin {new[1]}"
                + (f" (were {old.min_score}, {old.margin})" if old else ""))
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
    partial = card.with_name(card.name + ".partial")
    try:
        partial.write_text(f"---\n{front}---\n{body}", encoding="utf-8")
        os.replace(partial, card)  # whole or not at all: a loader never sees half a card
    except OSError as exc:
        raise UserError(f"cannot write {card} ({exc.strerror or type(exc).__name__})",
                        "make the dataset directory writable") from None
    return f"{card}: {what}"


def _front_matter(card: Path, spec: str) -> tuple[dict[str, Any], str]:
    """The card's YAML (with its ``faqbot:`` block) and the text after it."""
    import yaml

    text, match, meta = "", None, None
    try:
        text = card.read_text(encoding="utf-8")
        match = FRONT_MATTER.match(text)
        meta = yaml.safe_load(match.group(1)) if match else None
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        match = None
    if match is None or not isinstance(meta, dict) or not isinstance(meta.get("faqbot"), dict):
        raise UserError(f"--write needs a local dataset directory built by faqbot build, "
                        f"and FAQ_DATASET={spec} has no faqbot card (README.md)", FIX)
    return meta, text[match.end():]
