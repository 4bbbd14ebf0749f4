"""Pseudonyms for users and, with LOG_QUESTION_TEXT=false, for question texts.

Both hashes are salted with the Slack team id. It is stable, so one person's questions and
votes line up across processes, dynos and restarts with no secret to configure or lose; and
the same user id in two workspaces hashes differently. It is not secret, though: anyone who
can read the database and list the workspace's members can re-hash their ids. Treat the
hashes as pseudonyms that keep casual readers from seeing who asked what, not as anonymity.
"""

from __future__ import annotations

import hashlib


def _salted(team: str, value: str) -> str:
    # surrogatepass: a lone surrogate in an id hashes instead of raising.
    return hashlib.sha256(f"{team}\x00{value}".encode("utf-8", "surrogatepass")).hexdigest()


def user_hash(team: str, user: str) -> str:
    return _salted(team, user)


def normalise(text: str) -> str:
    """Case and spacing don't make a different question."""
    return " ".join(text.lower().split())


def text_hash(team: str, text: str) -> str:
    """Equal for texts that differ only in case and spacing, so hashed logs still group."""
    return _salted(team, normalise(text))


def phrasing_hash(key: str) -> str:
    """What a rejected learned phrasing keeps of its normalised text once the retention
    purged it: enough to know it when asked again, not to read it (unsalted: a phrasing
    belongs to an FAQ, not to a team)."""
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
