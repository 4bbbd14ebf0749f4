"""A re-tuned model reaching a running process (a new Hub commit carrying it): the model,
the dataset's vectors and the edits' vectors are swapped in together, never apart."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from bot.faq.dataset import assemble
from tests.live.test_live_faq import ASKED, DOG


class RotatedEmbedder:
    """Another model: the real one's vectors in other coordinates (a fixed rotation), so
    vectors of one model are meaningless to the other, as with a re-tune."""

    def __init__(self, inner) -> None:
        self.inner, self.dim, self.texts = inner, inner.dim, []
        self.model_id = f"{inner.model_id}+tuned.0123456789ab"
        rng = np.random.default_rng(0)
        self.rotation = np.linalg.qr(rng.standard_normal((inner.dim, inner.dim)))[0]

    def embed(self, texts):
        self.texts.extend(texts)
        return (self.inner.embed(texts) @ self.rotation).astype(np.float32)


def test_a_new_model_comes_with_its_vectors_and_the_edits_are_re_embedded(two, embedder):
    a, _ = two
    a.save(DOG, editor="U1")  # stored with the old model's vectors
    assert a.answerer.ask(ASKED).shown[0].id == DOG.id
    tuned = RotatedEmbedder(embedder)
    old = a._base
    blocks = [old.vectors(n) @ tuned.rotation for n in range(len(old))]
    base = replace(assemble(old.rows, blocks, tuned, "commit 2"), calibration=old.calibration)

    a.rebase(base, commit="2" * 40, embedder=tuned)

    assert a.answerer.embedder is tuned
    assert set(DOG.phrasings) <= set(tuned.texts)  # the edit, re-embedded by the new model
    answer = a.answerer.ask(ASKED)
    assert ASKED in tuned.texts  # the question too: no vector cached from the old model
    assert answer.shown[0].id == DOG.id


def test_a_commit_without_a_new_model_keeps_the_loaded_one(two, embedder):
    a, _ = two
    before = a.answerer.embedder
    a.answerer.ask(ASKED)
    a.rebase(a._base, commit="3" * 40)
    assert a.answerer.embedder is before
    assert a.answerer.cache.get(ASKED) is not None  # same model: its cache stays
