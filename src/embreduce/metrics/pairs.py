"""Judging vectors on labelled pairs: the Spearman of pair cosines against the scores."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from embreduce.exceptions import InputError


def row_cosines(first: ArrayLike, second: ArrayLike) -> np.ndarray:
    """Row-wise cosine similarity of two arrays of the same shape (float64): row i of
    ``first`` with row i of ``second`` (:func:`~embreduce.metrics.blocks.pair_cosines`
    takes index pairs of one array)."""
    a = np.asarray(first, dtype=np.float64)
    b = np.asarray(second, dtype=np.float64)
    if a.ndim != 2 or a.shape != b.shape:
        raise InputError(
            f"pairs: the two sides have shapes {a.shape} and {b.shape}; expected two equal "
            "2-D arrays"
        )
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    if np.any(norms == 0):
        raise InputError(f"pairs: pair {int(np.flatnonzero(norms == 0)[0])} has a zero vector")
    return np.einsum("ij,ij->i", a, b) / norms


def snap_to_grid(cosines: np.ndarray, grid: int | None) -> np.ndarray:
    """Cosines rounded to the nearest multiple of ``1 / grid`` (unchanged when None).

    Codes whose cosines are exact multiples of ``1 / k`` (1 bit: ``1 - 2 * hamming / k``)
    tie often; computed in floats, the ties come out a rounding error apart and a rank
    correlation breaks them by that noise. On the grid they tie again, as a Hamming
    distance ranks them.

    Examples
    --------
    >>> snap_to_grid(np.array([0.4999999, 0.5000001, -0.25]), 4)
    array([ 0.5 ,  0.5 , -0.25])
    """
    if grid is None:
        return cosines
    return np.rint(np.asarray(cosines) * grid) / grid


def pairs_spearman(
    first: ArrayLike, second: ArrayLike, scores: ArrayLike, *, grid: int | None = None
) -> float:
    """Spearman's rank correlation x100 between the pairs' cosines and their scores.

    What sentence-transformers' ``EmbeddingSimilarityEvaluator`` reports as
    ``spearman_cosine`` (there as a fraction), the usual measure on the STS Benchmark.

    Parameters
    ----------
    first, second : array-like of shape (n_pairs, dim)
        The vectors of the two sides of each pair (decoded vectors for codes).
    scores : array-like of shape (n_pairs,)
        The labelled score of each pair.
    grid : int, optional
        The cosines are multiples of ``1 / grid`` (1-bit codes of ``grid`` dimensions):
        rank them on that grid (:func:`snap_to_grid`).

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    >>> b = np.array([[1.0, 0.1], [1.0, 1.0], [0.0, 1.0]])
    >>> round(pairs_spearman(a, b, [5.0, 3.0, 0.0]), 6)
    100.0
    """
    from scipy.stats import spearmanr

    cosines = snap_to_grid(row_cosines(first, second), grid)
    scores = np.asarray(scores, dtype=np.float64)
    if scores.shape != cosines.shape:
        raise InputError(f"pairs: {len(cosines)} pairs but scores of shape {scores.shape}")
    return float(spearmanr(cosines, scores).statistic * 100)
