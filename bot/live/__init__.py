"""Keeping the loaded FAQ current: edits from Slack and the CLI, polled from the database on
every process, Hub updates, and export back to a dataset.

- ``faq``: ``LiveFaq``, the loaded dataset with the database's edits merged over it;
- ``learning``: ``Learner``, phrasings learned from the askers' choice clicks and 👍;
- ``codec``: edits between the database's form and the engine's;
- ``watch``: ``Watcher``, the background poll of the change counter and the Hub branch;
- ``hub``: which commit a Hub dataset's branch is at;
- ``export``: the merged FAQ written in ``faqbot build``'s layout.
"""

from bot.live.faq import LiveFaq, open_live
from bot.live.learning import Learner
from bot.live.watch import Watcher

__all__ = ["Learner", "LiveFaq", "Watcher", "open_live"]
