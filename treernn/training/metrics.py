"""Metrics of scores: Pearson's r, Spearman's rho, mean squared error (SICK relatedness, as
Tai et al. 2015 report it). Plain numpy, ties in Spearman's ranks averaged (as scipy does)."""

from __future__ import annotations

from typing import Sequence

import numpy as np


def pearson(x: Sequence[float], y: Sequence[float]) -> float:
    """Pearson's correlation r of ``x`` and ``y`` (0.0 when either is constant)."""
    a, b = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if len(a) != len(b) or len(a) < 2:
        raise ValueError(f"pearson needs two sequences of the same length >= 2, got {len(a)} and {len(b)}")
    a, b = a - a.mean(), b - b.mean()
    denominator = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denominator) if denominator > 0 else 0.0


def ranks(x: Sequence[float]) -> np.ndarray:
    """1-based ranks of ``x``, ties given the mean of their ranks."""
    a = np.asarray(x, dtype=np.float64)
    order = np.argsort(a, kind="mergesort")
    ranked = np.empty(len(a), dtype=np.float64)
    ranked[order] = np.arange(1, len(a) + 1)
    _, inverse, counts = np.unique(a, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranked)
    return sums[inverse] / counts[inverse]


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rho: Pearson's r of the ranks."""
    return pearson(ranks(x), ranks(y))


def mse(x: Sequence[float], y: Sequence[float]) -> float:
    """Mean squared error."""
    a, b = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return float(((a - b) ** 2).mean())
