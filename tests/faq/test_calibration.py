"""The decision learned from an FAQ's own phrasings, on synthetic vectors (no model)."""

from __future__ import annotations

import numpy as np
import pytest

from bot.faq.advice import faq_warnings
from bot.faq.answerer import Answerer
from bot.faq.calibration import Calibration, learn
from bot.faq.dataset import assemble
from bot.faq.scoring import best_phrasing, mean_directions, mix, segment_starts
from bot.faq.sources import FaqRow

DIM = 64


class NoEmbedder:
    model_id = "synthetic"
    dim = DIM


def unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)


def clusters(faqs: int, phrasings: int, spread: float, seed: int = 1):
    """``faqs`` topics; each a centre and ``phrasings`` noisy unit vectors around it."""
    rng = np.random.default_rng(seed)
    centres = unit(rng.normal(size=(faqs, DIM)))
    blocks = [unit(c + spread * rng.normal(size=(phrasings, DIM)) / np.sqrt(DIM))
              for c in centres]
    return centres, blocks, rng


def faq_of(blocks: list[np.ndarray]):
    rows = [FaqRow(id=f"f{i}", question=f"q{i}", answer=f"a{i}", url="",
                   alternates=tuple(f"q{i} alt {j}" for j in range(len(b) - 1)), category="")
            for i, b in enumerate(blocks)]
    return assemble(rows, blocks, NoEmbedder(), "synthetic")


def test_scoring_mixes_best_phrasing_and_mean_direction():
    matrix = unit(np.array([[1, 0], [0.6, 0.8], [0, 1]], dtype=np.float32))
    starts = segment_starts(np.array([0, 0, 1]))
    assert starts.tolist() == [0, 2]
    query = np.array([1.0, 0.0], dtype=np.float32)
    best = best_phrasing(matrix @ query, starts)
    assert best.tolist() == pytest.approx([1.0, 0.0])
    mean = mean_directions(matrix, starts) @ query
    assert mean[0] == pytest.approx(1.6 / np.hypot(1.6, 0.8))
    assert mix(best, mean)[0] < best[0]


def test_without_alternates_nothing_is_learned():
    _, blocks, _ = clusters(20, 1, 0.5)
    faq = faq_of(blocks)
    assert learn(faq.index.matrix, faq.phrase_rows, [r.id for r in faq.rows]) is None


def test_learned_thresholds_answer_paraphrases_and_silence_unknown_topics():
    centres, blocks, rng = clusters(40, 6, 1.0)
    kept, held = blocks[::2], centres[1::2]
    faq = faq_of(kept)
    calibration = learn(faq.index.matrix, faq.phrase_rows, [r.id for r in faq.rows])
    assert calibration is not None
    faq.calibration = calibration
    answerer = Answerer(faq=faq, embedder=NoEmbedder(), min_score=2.0, margin=0.0)
    on = [answerer.answer_vector(unit(centres[2 * i] + rng.normal(size=DIM) / np.sqrt(DIM)))
          for i in range(len(kept))]
    off = [answerer.answer_vector(unit(c + rng.normal(size=DIM) / np.sqrt(DIM))) for c in held]
    shown = np.mean([f"f{i}" in [h.id for h in a.shown] for i, a in enumerate(on)])
    silent = np.mean([a.decision == "none" for a in off])
    assert shown >= 0.9 and silent >= 0.9
    assert answerer.min_score == calibration.threshold  # the ANSWER_MIN_SCORE of 2.0 unused


def test_a_tight_faq_is_held_to_a_higher_bar_than_a_loose_one():
    _, tight, _ = clusters(10, 6, 0.3, seed=2)
    _, loose, _ = clusters(10, 6, 1.5, seed=3)
    faq = faq_of(tight + loose)
    calibration = learn(faq.index.matrix, faq.phrase_rows, [r.id for r in faq.rows])
    typical = calibration.typical_scores([r.id for r in faq.rows])
    assert typical[:10].min() > typical[10:].max()


def test_calibration_round_trips_and_bad_metadata_means_defaults():
    calibration = Calibration(threshold=-0.2, margin=0.05, typical={"a": 0.8},
                              default_typical=0.75, channel_threshold=-0.1,
                              channel_margin=0.08)
    assert Calibration.from_meta(calibration.to_meta()) == calibration
    assert calibration.typical_scores(["a", "new"]).tolist() == pytest.approx([0.8, 0.75])
    for meta in (None, {}, {"version": 99}, {"version": 1, "threshold": "x"}, "text"):
        assert Calibration.from_meta(meta) is None


def test_warnings_name_faqs_without_alternates_and_near_duplicates():
    _, blocks, _ = clusters(3, 3, 0.2)
    blocks.append(blocks[0][:1])  # one phrasing only, the same question as FAQ 0
    faq = faq_of(blocks)
    lines = faq_warnings(faq.rows, faq.mean_directions)
    assert any("'f3' has no alternates" in line for line in lines)
    assert any("'f0' and 'f3' ask nearly the same question" in line for line in lines)
    assert not any("'f1' and" in line or "and 'f1'" in line for line in lines)


def test_a_miss_offers_the_closest_faqs_above_the_learned_looser_floor():
    centres, blocks, rng = clusters(30, 6, 1.0, seed=4)
    faq = faq_of(blocks)
    calibration = learn(faq.index.matrix, faq.phrase_rows, [r.id for r in faq.rows])
    assert calibration.near is not None and calibration.near_floor < calibration.threshold
    assert Calibration.from_meta(calibration.to_meta()).near == round(calibration.near, 4)
    faq.calibration = calibration
    answerer = Answerer(faq=faq, embedder=NoEmbedder())
    # Far from their FAQ's phrasings: questions the silence threshold misses.
    hard = [answerer.answer_vector(unit(centres[i] + 2.2 * rng.normal(size=DIM) / np.sqrt(DIM)))
            for i in range(len(blocks))]
    missed = [(i, a) for i, a in enumerate(hard) if a.decision == "none"]
    assert missed
    offered = np.mean([f"f{i}" in [h.id for h in a.near] for i, a in missed])
    assert offered >= 0.5  # most misses still find their FAQ among "Maybe one of these?"
    chatter = answerer.answer_vector(unit(-centres.sum(axis=0)))  # away from every FAQ
    assert chatter.decision == "none" and chatter.near == ()
    assert all(a.near == () for a in hard if a.decision != "none")


def test_a_card_without_a_near_floor_takes_one_under_its_threshold():
    old = Calibration(threshold=-0.2, margin=0.05, typical={}, default_typical=0.7,
                      channel_threshold=-0.2, channel_margin=0.05)
    assert Calibration.from_meta(old.to_meta()).near is None
    assert old.near_floor < old.threshold


def test_a_questions_mask_learns_only_from_those_phrasings():
    """Cross-fitting (a tuned model): phrasings the tune trained on sit tight around their
    FAQ; learned from the held-out, looser ones alone, the typical scores are lower."""
    _, tight, _ = clusters(12, 4, 0.2, seed=4)
    rng = np.random.default_rng(5)
    blocks = [np.vstack([b, unit(b[0] + 1.5 * rng.normal(size=(2, DIM)) / np.sqrt(DIM))])
              for b in tight]
    faq = faq_of(blocks)
    ids = [r.id for r in faq.rows]
    mask = np.tile([False] * 4 + [True] * 2, len(blocks))
    everything = learn(faq.index.matrix, faq.phrase_rows, ids)
    held = learn(faq.index.matrix, faq.phrase_rows, ids, questions=mask)
    assert everything is not None and held is not None
    assert held.default_typical < everything.default_typical - 0.05
    assert (held.typical_scores(ids) < everything.typical_scores(ids)).all()
    assert learn(faq.index.matrix, faq.phrase_rows, ids,
                 questions=np.zeros_like(mask)) is None  # nothing held out: nothing learned
