import numpy as np
import pytest

from bot.errors import UserError
from bot.faq.index import FaqIndex


def test_search_matches_a_full_sort():
    rng = np.random.default_rng(7)
    matrix = rng.normal(size=(500, 32))
    index = FaqIndex(matrix)
    queries = index.matrix[:4] + rng.normal(scale=0.1, size=(4, 32)).astype(np.float32)
    scores, rows = index.search(queries, 5)
    full = queries @ index.matrix.T
    assert scores.shape == rows.shape == (4, 5)
    for q in range(4):
        expected = np.argsort(-full[q])[:5]
        assert rows[q].tolist() == expected.tolist()
        assert np.allclose(scores[q], full[q, expected], atol=1e-6)


def test_rows_are_normalised_and_k_is_clamped():
    index = FaqIndex(np.array([[3.0, 4.0], [0.0, 2.0]]))
    assert np.allclose(np.linalg.norm(index.matrix, axis=1), 1.0)
    scores, rows = index.search(np.array([0.0, 1.0]), 10)
    assert rows.tolist() == [[1, 0]]
    assert scores[0, 0] == pytest.approx(1.0)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_rows_are_refused(bad):
    matrix = np.ones((3, 4))
    matrix[1, 2] = bad
    with pytest.raises(UserError, match="row 1 contains NaN or inf"):
        FaqIndex(matrix)


def test_zero_rows_and_empty_matrices_are_refused():
    with pytest.raises(UserError, match="row 0 is a zero vector"):
        FaqIndex(np.zeros((2, 4)))
    with pytest.raises(UserError, match="empty"):
        FaqIndex(np.empty((0, 4)))


def test_query_dimension_must_match():
    with pytest.raises(UserError, match="dimension 3 does not match"):
        FaqIndex(np.eye(4)).search(np.ones(3), 1)
