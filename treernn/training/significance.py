"""Paired significance tests of two models on the same test items (Dror, Baumer, Shlomov and
Reichart, "The Hitchhiker's Guide to Testing Statistical Significance in NLP", ACL 2018).

Each model is given as its per-seed predictions on the same items, as an array ``(seeds, n)``:
0/1 correctness for accuracy, predicted scores for Pearson's r (with the gold scores). The
statistic is the difference of the models' metrics, each averaged over the seeds (the figure a
table of means shows). Both tests resample items, keeping each item's seeds together:

- the p-value: approximate randomization (:func:`scipy.stats.permutation_test`, paired
  samples: each item's two models swapped or not at random), two-sided;
- the 95% confidence interval of the difference: the paired bootstrap
  (:func:`scipy.stats.bootstrap`, ``paired=True``, percentile intervals).

So the test asks whether the difference holds over these items for these seeds; the seeds'
spread is in the table's ± beside it.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
from scipy import stats

from treernn.errors import ConfigError

RESAMPLES = 10_000
METHOD = ("p: approximate randomization over items (scipy.stats.permutation_test, paired samples, two-sided); "
          "95% CI: paired bootstrap over items (scipy.stats.bootstrap, percentile); each model's metric the "
          "mean over its seeds")


def _pearson_rows(x: np.ndarray, gold: np.ndarray) -> np.ndarray:
    """Pearson's r of each row of ``x`` (..., n) with ``gold`` (..., n)."""
    xc = x - x.mean(-1, keepdims=True)
    gc = gold - gold.mean(-1, keepdims=True)
    den = np.sqrt((xc * xc).sum(-1) * (gc * gc).sum(-1))
    return np.where(den > 0, (xc * gc).sum(-1) / np.where(den > 0, den, 1.0), 0.0)


def paired_test(a: np.ndarray, b: np.ndarray, metric: str = "accuracy", gold: Optional[np.ndarray] = None,
                resamples: int = RESAMPLES, seed: int = 0) -> dict:
    """Is model A's metric different from model B's on these items?

    Args:
        a, b: ``(seeds, n)`` or ``(n,)``: correctness (0/1) for ``accuracy``, predicted scores
            for ``pearson``; the same items in the same order.
        metric: ``accuracy`` (difference in percentage points) or ``pearson`` (needs ``gold``).
        gold: ``(n,)`` gold scores (``pearson``).

    Returns:
        ``difference`` (A - B), ``ci95`` [low, high], ``p_value``, ``items``, ``seeds``,
        ``resamples``, ``method``.

    Raises:
        ConfigError: shapes that do not match, an unknown metric, no items.
    """
    a, b = np.atleast_2d(np.asarray(a, dtype=np.float64)), np.atleast_2d(np.asarray(b, dtype=np.float64))
    if a.shape[-1] != b.shape[-1] or a.shape[-1] < 2:
        raise ConfigError(f"a paired test needs the same items (at least 2) for both models, got {a.shape[-1]} "
                          f"and {b.shape[-1]}; compare runs on the same test split")
    rng = np.random.default_rng(seed)
    if metric == "accuracy":
        # the mean over seeds of each seed's accuracy = the mean over items of each item's mean
        data: tuple = (100.0 * a.mean(0), 100.0 * b.mean(0))

        def statistic(x, y, axis=-1):
            return x.mean(axis) - y.mean(axis)

        observed = float(statistic(*data))
        perm = stats.permutation_test(data, statistic, permutation_type="samples", n_resamples=resamples,
                                      vectorized=True, alternative="two-sided", rng=rng)
        boot = stats.bootstrap(data, statistic, paired=True, vectorized=True, n_resamples=resamples,
                               confidence_level=0.95, method="percentile", rng=rng)
    elif metric == "pearson":
        g = None if gold is None else np.asarray(gold, dtype=np.float64)
        if g is None or g.shape != (a.shape[-1],):
            raise ConfigError("a Pearson test needs the gold score of every item, got none or another number")
        x0, y0 = a.T, b.T  # (n, seeds): items first, each item's seeds kept together

        def mean_r(x, gg):
            return float(_pearson_rows(x.T, gg[None, :]).mean())

        both = np.concatenate([x0, y0])  # (2n, seeds): A's items, then B's
        n = len(g)

        def swapped(rows_a, rows_b):  # rows of `both`: the permutation swaps an item's A and B rows
            return mean_r(both[np.asarray(rows_a).astype(np.int64)], g) - mean_r(both[np.asarray(rows_b).astype(np.int64)], g)

        def resampled(items):  # the bootstrap draws items (indices), each with its gold
            i = np.asarray(items).astype(np.int64)
            return mean_r(x0[i], g[i]) - mean_r(y0[i], g[i])

        observed = mean_r(x0, g) - mean_r(y0, g)
        perm = stats.permutation_test((np.arange(n), np.arange(n, 2 * n)), swapped, permutation_type="samples",
                                      n_resamples=resamples, vectorized=False, alternative="two-sided", rng=rng)
        boot = stats.bootstrap((np.arange(len(g)),), resampled, vectorized=False, n_resamples=resamples,
                               confidence_level=0.95, method="percentile", rng=rng)
    else:
        raise ConfigError(f"unknown metric for a paired test, got {metric!r}; accuracy or pearson")
    low, high = boot.confidence_interval
    return {"metric": metric, "difference": observed, "ci95": [float(low), float(high)],
            "p_value": float(perm.pvalue), "items": int(a.shape[-1]), "seeds": int(min(a.shape[0], b.shape[0])),
            "resamples": resamples, "method": METHOD}

