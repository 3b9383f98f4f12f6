"""Pearson, Spearman (ties averaged) and MSE against values worked out by hand."""

from __future__ import annotations

import pytest

from treernn.training.metrics import mse, pearson, ranks, spearman


def test_pearson_by_hand():
    # x = 1..5, y = 2, 4, 5, 4, 5: cov 6/5... r = 6 / sqrt(10 * 6)
    assert pearson([1, 2, 3, 4, 5], [2, 4, 5, 4, 5]) == pytest.approx(6 / (10 * 6) ** 0.5)
    assert pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert pearson([1, 1, 1], [1, 2, 3]) == 0.0


def test_spearman_averages_ties():
    assert ranks([10, 20, 20, 30]).tolist() == [1.0, 2.5, 2.5, 4.0]
    assert spearman([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    assert spearman([1, 2, 3, 4], [10, 20, 20, 30]) == pytest.approx(pearson([1, 2, 3, 4], [1, 2.5, 2.5, 4]))


def test_mse_and_bad_lengths():
    assert mse([1, 2, 3], [1, 2, 5]) == pytest.approx(4 / 3)
    with pytest.raises(ValueError, match="same length"):
        pearson([1, 2], [1])
