"""What one save costs on a large FAQ: `python -m benchmarks.save_cost [--alternates 3000]`.

A script, not a test. One FAQ with ``--alternates`` phrasings is stored through ``LiveFaq``
(the local embedder, a temporary SQLite file). Then, each timed and counted (texts sent to
the embedder):

1. the answer changed, nothing else;
2. one alternate added (as accepting a learned phrasing does);

each as a ratio to re-embedding every phrasing of that FAQ in the same run, which is what a
save cost before it reused the stored vectors.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from bot.config import Settings
from bot.faq.answerer import load_answerer
from bot.faq.dataset import embed_in_batches
from bot.faq.drafts import draft_row
from bot.faq.embedders.local import LocalEmbedder
from bot.faq.revisions import seen
from bot.live import LiveFaq
from bot.storage import Store


class Counting:
    """The real embedder, counting the texts it embeds."""

    def __init__(self, inner: LocalEmbedder) -> None:
        self.inner, self.model_id, self.dim, self.texts = inner, inner.model_id, inner.dim, 0

    def embed(self, texts):
        self.texts += len(texts)
        return self.inner.embed(texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alternates", type=int, default=3000)
    args = parser.parse_args()
    embedder = Counting(LocalEmbedder(model_id="sentence-transformers/all-MiniLM-L6-v2"))
    answerer = load_answerer(Settings.from_env({"EMBEDDING_BACKEND": "local"}),
                             embedder=embedder)
    with tempfile.TemporaryDirectory() as workdir:
        store = Store.from_url(f"sqlite:///{Path(workdir) / 'save.sqlite3'}")
        live = LiveFaq(answerer, store)
        live.refresh()
        big = draft_row(question="How do I book a meeting room for a team offsite?",
                        answer="Use the room finder.",
                        alternates=[f"meeting room booking question number {n} for the "
                                    f"offsite team" for n in range(args.alternates)])
        live.save(big, editor="bench")
        row = live.faq.by_id(big.id)
        assert row is not None

        started, embedder.texts = time.perf_counter(), 0
        embed_in_batches(embedder, list(row.phrasings), progress=False)
        full = time.perf_counter() - started
        print(f"baseline: re-embedding all {len(row.phrasings)} phrasings: {full:.2f} s")

        for label, changed in (
                ("answer changed", replace(row, answer="Use the room finder, or ask reception.")),
                ("one alternate added", replace(row, alternates=(*row.alternates,
                                                                 "can I reserve a room")))):
            current = live.faq.by_id(big.id)
            assert current is not None
            embedder.texts = 0
            started = time.perf_counter()
            live.save(replace(changed, answer=changed.answer), editor="bench",
                      replacing=big.id, since=seen(current))
            took = time.perf_counter() - started
            print(f"{label}: {took:.2f} s, {embedder.texts} texts embedded "
                  f"({took / full:.3f}x re-embedding all)")
            row = live.faq.by_id(big.id) or row
        store.close()


if __name__ == "__main__":
    main()
