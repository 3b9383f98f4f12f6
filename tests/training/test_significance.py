"""Paired significance tests (treernn.training.significance): SciPy's permutation test and
bootstrap, checked against an exact randomization test enumerated here."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from treernn.errors import ConfigError
from treernn.training.significance import paired_test


def _exact_p(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided p of the difference of means over every swap of the items' two values."""
    observed = abs(a.mean() - b.mean())
    hits = total = 0
    for swap in itertools.product((False, True), repeat=len(a)):
        s = np.array(swap)
        x, y = np.where(s, b, a), np.where(s, a, b)
        hits += abs(x.mean() - y.mean()) >= observed - 1e-12
        total += 1
    return hits / total


def test_the_permutation_p_value_is_the_exact_randomization_test():
    rng = np.random.default_rng(3)
    a = (rng.random((3, 11)) < 0.7).astype(float)  # 3 seeds, 11 items: 2^11 swaps, fewer than the resamples
    b = (rng.random((3, 11)) < 0.4).astype(float)
    result = paired_test(a, b)
    assert result["p_value"] == pytest.approx(_exact_p(a.mean(0), b.mean(0)))
    assert result["difference"] == pytest.approx(100 * (a.mean() - b.mean()))
    assert result["items"] == 11 and result["seeds"] == 3


def test_a_real_difference_is_found_and_none_where_there_is_none():
    rng = np.random.default_rng(0)
    a = (rng.random((5, 2000)) < 0.52).astype(float)
    b = (rng.random((5, 2000)) < 0.45).astype(float)
    found = paired_test(a, b, resamples=2000)
    assert found["p_value"] < 0.001 and found["ci95"][0] > 0
    assert found["ci95"][0] <= found["difference"] <= found["ci95"][1]
    same = paired_test(a, a, resamples=500)
    assert same["difference"] == 0 and same["p_value"] == 1.0 and same["ci95"] == [0.0, 0.0]
    noise = paired_test(a, (rng.random((5, 2000)) < 0.52).astype(float), resamples=2000)
    assert noise["p_value"] > 0.01 and noise["ci95"][0] < 0 < noise["ci95"][1]


def test_pearson_differences_keep_each_items_gold():
    rng = np.random.default_rng(1)
    gold = rng.uniform(1, 5, 400)
    good = gold + rng.normal(0, 0.6, (3, 400))
    worse = gold + rng.normal(0, 1.2, (3, 400))
    result = paired_test(good, worse, "pearson", gold, resamples=1000)
    expected = np.mean([np.corrcoef(r, gold)[0, 1] for r in good]) - np.mean([np.corrcoef(r, gold)[0, 1] for r in worse])
    assert result["difference"] == pytest.approx(expected)
    assert result["p_value"] < 0.01 and result["ci95"][0] > 0
    swapped = paired_test(worse, good, "pearson", gold, resamples=1000)
    assert swapped["difference"] == pytest.approx(-expected) and swapped["ci95"][1] < 0


def test_bad_input_is_a_config_error():
    with pytest.raises(ConfigError, match="the same items"):
        paired_test(np.ones((2, 5)), np.ones((2, 6)))
    with pytest.raises(ConfigError, match="gold score of every item"):
        paired_test(np.ones((2, 5)), np.ones((2, 5)), "pearson")
    with pytest.raises(ConfigError, match="unknown metric"):
        paired_test(np.ones((2, 5)), np.ones((2, 5)), "f1")
