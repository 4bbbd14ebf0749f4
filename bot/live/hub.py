"""Which commit a Hub dataset's branch points at, to notice a push without a restart."""

from __future__ import annotations

import logging
import re

from bot.faq.sources import is_local

log = logging.getLogger(__name__)

COMMIT_SHA = re.compile(r"^[0-9a-f]{40}$")


def follows_branch(spec: str, revision: str) -> bool:
    """A Hub dataset at a branch (or tag) can move; a local path or a pinned commit can't."""
    return not is_local(spec) and not COMMIT_SHA.match(revision or "")


def branch_commit(spec: str, revision: str, token: str) -> str | None:
    """The commit ``revision`` of dataset ``spec`` is at now; None when the Hub can't say,
    so a flaky Hub keeps the loaded FAQ serving (and loading names a missing dataset)."""
    from huggingface_hub import HfApi

    try:
        info = HfApi(token=token or None).dataset_info(spec, revision=revision or "main")
    except Exception as exc:  # HTTP, auth and connection errors all mean "not now"
        log.info("could not ask the Hub which commit %s@%s is at (%s)", spec, revision,
                 type(exc).__name__)
        return None
    return info.sha
