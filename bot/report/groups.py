"""Group the unanswered questions, so an owner reads "9 people asked about X" once.

Texts are embedded with the configured embedder and clustered greedily: the most frequent
phrasing opens a group, and each following phrasing joins the group whose first phrasing it
is most similar to, if that cosine is at least ``threshold``, or else opens its own. When the
text was not logged (LOG_QUESTION_TEXT=false), only identical texts (by hash) can be grouped.
Questions past LOG_RETENTION_DAYS keep neither, so they are counted but never grouped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from bot.storage import Row, is_purged, normalise

SIMILARITY = "similarity"
EXACT_HASH = "exact hash"
THRESHOLD = 0.75
BATCH = 64

Embed = Callable[[Sequence[str]], np.ndarray]


@dataclass
class Group:
    grouped_by: str
    rows: list[Row] = field(default_factory=list)
    phrasings: Counter[str] = field(default_factory=Counter)  # text as first asked → times

    @property
    def question(self) -> str | None:
        """The most asked phrasing; None when the texts were not logged."""
        return self.phrasings.most_common(1)[0][0] if self.phrasings else None


def group_unanswered(rows: Sequence[Row], embed: Callable[[], Embed],
                     threshold: float = THRESHOLD) -> list[Group]:
    """Largest groups first. ``embed`` is called (to load the model) only if some text was
    logged."""
    texts = [row for row in rows if row["text"] is not None]
    groups = _by_similarity(texts, embed(), threshold) if texts else []
    by_hash: dict[str, Group] = {}
    for row in rows:
        if row["text"] is None and not is_purged(row):
            by_hash.setdefault(str(row["text_hash"]), Group(EXACT_HASH)).rows.append(row)
    return sorted([*groups, *by_hash.values()], key=lambda group: -len(group.rows))


def _by_similarity(rows: Sequence[Row], embed: Embed, threshold: float) -> list[Group]:
    by_text: dict[str, list[Row]] = {}
    for row in rows:
        by_text.setdefault(normalise(str(row["text"])), []).append(row)
    # Most asked first, so each group opens with its most common phrasing.
    keys = sorted(by_text, key=lambda key: -len(by_text[key]))
    vectors = np.concatenate([embed(keys[i:i + BATCH]) for i in range(0, len(keys), BATCH)])
    groups: list[Group] = []
    leaders: list[np.ndarray] = []
    for key, vector in zip(keys, vectors, strict=True):
        scores = np.stack(leaders) @ vector if leaders else np.empty(0)
        if scores.size and scores.max() >= threshold:
            group = groups[int(scores.argmax())]
        else:
            group = Group(SIMILARITY)
            groups.append(group)
            leaders.append(vector)
        group.rows.extend(by_text[key])
        group.phrasings[str(by_text[key][0]["text"])] += len(by_text[key])
    return groups
