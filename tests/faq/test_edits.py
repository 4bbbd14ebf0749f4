"""Edits merged over a dataset: add, replace, retire; vectors reused only when they fit; and
what makes an edit invalid."""

from __future__ import annotations

import numpy as np
import pytest

from bot.errors import UserError
from bot.faq.dataset import FaqData
from bot.faq.drafts import draft_row, split_alternates
from bot.faq.edits import FaqEdit, merge, problems


class CountingEmbedder:
    """The real local embedder, counting the texts it is asked to embed."""

    def __init__(self, inner) -> None:
        self.inner, self.model_id, self.dim, self.texts = inner, inner.model_id, inner.dim, []

    def embed(self, texts):
        self.texts.extend(texts)
        return self.inner.embed(texts)


@pytest.fixture
def base(answerer) -> FaqData:
    return answerer.faq


def edit_of(row, embedder, *, vectors=True) -> FaqEdit:
    block = embedder.embed(list(row.phrasings)) if vectors else None
    if block is not None:
        block = block / np.linalg.norm(block, axis=1, keepdims=True)
    return FaqEdit(id=row.id, row=row, vectors=block, model_id=embedder.model_id)


def test_a_new_id_adds_an_existing_id_replaces_a_retired_id_hides(base, embedder) -> None:
    first, second = base.rows[0], base.rows[1]
    added = draft_row(question="Can I bring my dog to the office?", answer="On Fridays.",
                      alternates=["are pets allowed at work"])
    changed = draft_row(question=first.question, answer="A new answer.", faq_id=first.id)
    edits = [edit_of(added, embedder), edit_of(changed, embedder),
             FaqEdit(id=second.id, row=None, vectors=None)]
    merged = merge(base, edits, CountingEmbedder(embedder))
    assert len(merged) == len(base)  # one added, one hidden
    assert merged.by_id(first.id).answer == "A new answer."
    assert merged.by_id(second.id) is None
    assert merged.rows[-1] == added
    assert merged.origin(added.id) == "edit" and merged.origin(base.rows[2].id) == "dataset"
    assert base.by_id(second.id) is not None  # built aside: the old FAQ is untouched
    np.testing.assert_allclose(merged.vectors(len(merged) - 1), edits[0].vectors, atol=1e-6)


def test_stored_vectors_are_reused_and_missing_or_foreign_ones_embedded(base, embedder) -> None:
    row = draft_row(question="Where is the printer?", answer="Second floor.")
    counting = CountingEmbedder(embedder)
    merge(base, [edit_of(row, embedder)], counting)
    assert counting.texts == []
    foreign = FaqEdit(id=row.id, row=row, vectors=np.ones((1, 384), np.float32) / 384 ** 0.5,
                      model_id="some/other-model")
    merge(base, [foreign, FaqEdit(id="x", row=draft_row(question="Q two?", answer="A",
                                                        faq_id="x"), vectors=None)], counting)
    assert counting.texts == ["Where is the printer?", "Q two?"]


def test_a_wrongly_shaped_vector_block_is_embedded_again(base, embedder) -> None:
    row = draft_row(question="Where is the printer?", answer="Second floor.",
                    alternates=["printer location"])
    counting = CountingEmbedder(embedder)
    short = FaqEdit(id=row.id, row=row, vectors=np.ones((1, 384), np.float32),
                    model_id=embedder.model_id)
    merge(base, [short], counting)
    assert counting.texts == list(row.phrasings)


def test_retiring_everything_is_refused(base, embedder) -> None:
    with pytest.raises(UserError, match="every FAQ is retired"):
        merge(base, [FaqEdit(id=r.id, row=None, vectors=None) for r in base.rows], embedder)


def test_problems_name_the_field(base) -> None:
    existing = base.rows[0]
    cases = {
        "question": draft_row(question="  ", answer="a"),
        "answer": draft_row(question="Something new?", answer=" "),
        "url": draft_row(question="Something new?", answer="a", url="javascript:alert(1)"),
    }
    for field, row in cases.items():
        assert field in problems(base, row), field
    duplicate = draft_row(question=existing.question.upper(), answer="a")
    assert "already a phrasing" in problems(base, duplicate)["question"]
    taken = draft_row(question="Brand new?", answer="a", alternates=[existing.question])
    assert "already a phrasing" in problems(base, taken)["alternates"]
    same_id = draft_row(question="Brand new?", answer="a", faq_id=existing.id)
    assert "exists already" in problems(base, same_id)["question"]


def test_an_edit_may_keep_its_own_phrasings(base) -> None:
    existing = base.rows[0]
    row = draft_row(question=existing.question, answer="changed", faq_id=existing.id,
                    alternates=existing.alternates)
    assert problems(base, row, replacing=existing.id) == {}


def test_hostile_text_is_kept_as_text() -> None:
    text = "<!channel> 🎉 " + "x" * 10_000
    row = draft_row(question=text, answer=text, alternates=split_alternates("a | b\nc|"))
    assert row.question == text and row.answer == text
    assert row.alternates == ("a", "b", "c")
