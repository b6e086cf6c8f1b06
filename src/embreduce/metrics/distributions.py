"""Distributions of pairwise cosine similarities and of their change under reduction."""

from __future__ import annotations

import collections
import hashlib
import math
import threading
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from embreduce.metrics.blocks import (
    check_pair,
    cosine_strips,
    iter_sampled_pairs,
    n_pairs_of,
    pair_cosines,
    resolve_block_size,
    sample_pairs,
    unit_rows,
    upper_parts,
)
from embreduce.metrics.histograms import COS_EDGES, DIFF_EDGES, FineHistogram, scratch_buffer
from embreduce.metrics.neighbours import check_k, knn_scores
from embreduce.metrics.pairs import snap_to_grid
from embreduce.validation import check_int

#: Above this many vectors, pairs are sampled unless ``max_pairs`` says otherwise.
EXACT_MAX_N = 50_000
#: Pairs sampled when there are more than ``EXACT_MAX_N`` vectors and ``max_pairs`` is None.
DEFAULT_MAX_PAIRS = 1_000_000
#: Spearman's correlation uses every pair up to this many, else a seeded sample of this size.
SPEARMAN_MAX_PAIRS = 1_000_000
#: Up to this many pairs, quantiles are exact; beyond, they are read from a fine histogram.
EXACT_QUANTILE_PAIRS = 1 << 22
#: Query rows for recall@k and trustworthiness above ``EXACT_MAX_N`` vectors.
DEFAULT_MAX_QUERIES = 10_000
#: Fine bins behind the quantiles: width 2e-5 for similarities, 5e-5 for differences.
COS_FINE_BINS = 100_000
DIFF_FINE_BINS = 80_000

QUANTILES = {"q01": 0.01, "q05": 0.05, "q50": 0.50, "q95": 0.95, "q99": 0.99}
#: Sampled quantiles stay within this rank error with probability 1 - 1e-6 (DKW inequality).
_DKW_ALPHA = 1e-6


class _Stream:
    """Running count, sums and histogram of a stream of values, and their quantiles."""

    def __init__(self, hist: FineHistogram, *, keep: bool, moments: bool, absolute: bool):
        self.hist, self.keep, self.moments, self.absolute = hist, keep, moments, absolute
        self.kept: list[NDArray] = []
        self.count = 0
        self.sum = self.sum_sq = self.sum_abs = 0.0

    def add(self, values: NDArray[np.floating]) -> None:
        self.count += values.size
        if self.moments:
            self.sum += float(values.sum(dtype=np.float64))
            self.sum_sq += float(np.square(values, dtype=np.float64).sum())
        if self.absolute:
            scratch = scratch_buffer(self, "_abs", values.shape, values.dtype)
            self.sum_abs += float(np.abs(values, out=scratch).sum(dtype=np.float64))
        self.hist.add(values)
        if self.keep:
            self.kept.append(np.array(values, dtype=np.float64).ravel())

    def quantiles(self) -> dict[str, float]:
        qs = np.array(list(QUANTILES.values()))
        if self.keep:
            values = np.quantile(np.concatenate(self.kept), qs)
        else:
            values = self.hist.quantiles(qs)
        return {name: float(v) for name, v in zip(QUANTILES, values, strict=True)}

    def mean_std(self) -> tuple[float, float]:
        mean = self.sum / self.count
        return mean, math.sqrt(max(self.sum_sq / self.count - mean * mean, 0.0))


def _plan(n: int, max_pairs: int | None) -> tuple[int, bool]:
    """(pairs to use, sampled?) for ``n`` vectors."""
    total = n_pairs_of(n)
    if max_pairs is None:
        if n <= EXACT_MAX_N:
            return total, False
        max_pairs = DEFAULT_MAX_PAIRS
    max_pairs = check_int(max_pairs, "max_pairs", low=1)
    return (total, False) if max_pairs >= total else (int(max_pairs), True)


def _pair_sum(U: NDArray[np.float64], V: NDArray[np.float64]) -> float:
    """Sum over pairs i < j of ``(u_i . u_j)(v_i . v_j)``, exactly, in O(n d d')."""
    cross = U.T @ V
    diag = np.einsum("id,id->i", U, U) * np.einsum("id,id->i", V, V)
    return (float(np.sum(cross * cross)) - float(diag.sum())) / 2.0


def _cos_sum(U: NDArray[np.float64]) -> float:
    """Sum over pairs i < j of ``u_i . u_j``, exactly, in O(n d)."""
    s = U.sum(axis=0)
    return (float(s @ s) - float(np.einsum("id,id->", U, U))) / 2.0


def _error_keys(stream: _Stream, std: float, sampled: bool) -> dict[str, float]:
    m = stream.count
    return {
        "quantile_error": 0.0 if stream.keep else stream.hist.width,
        "mean_error": 4.0 * std / math.sqrt(m) if sampled else 0.0,
        "quantile_rank_error": math.sqrt(math.log(2 / _DKW_ALPHA) / (2 * m)) if sampled else 0.0,
    }


def base_distribution(
    X: ArrayLike,
    *,
    max_pairs: int | None = None,
    seed: int = 0,
    block_size: int | None = None,
) -> dict[str, Any]:
    """Distribution of the pairwise cosine similarities of ``X`` (pairs ``i < j``).

    Up to ``EXACT_MAX_N`` (50,000) vectors every pair is used, in blocks of rows
    (memory ``O(block x n)``). With ``max_pairs`` smaller than the number of pairs, or
    above 50,000 vectors (then ``DEFAULT_MAX_PAIRS``), a seeded i.i.d. uniform sample of
    pairs is used instead and ``sampled`` is True.

    Accuracy: with all pairs, ``mean`` and ``std`` are exact in float64 (closed forms
    over the Gram matrix). Quantiles are exact up to ``EXACT_QUANTILE_PAIRS`` pairs, and
    beyond that read from a histogram of width 2e-5, which is their error bound
    (``quantile_error``). When sampled, ``mean`` is within ``mean_error`` (4 standard
    errors) of the all-pairs mean, and each quantile lies between the all-pairs quantiles
    at ``q -+ quantile_rank_error`` (DKW inequality, probability 1 - 1e-6).

    Parameters
    ----------
    X : array-like of shape (n, d)
        At least 2 rows; no NaN/inf or all-zero rows (:class:`InputError`).
    max_pairs : int, optional
        Sample this many pairs instead of using all of them.
    seed : int
        Seed of the pair sample.
    block_size : int, optional
        Rows per block.

    Returns
    -------
    dict
        ``n``, ``n_pairs`` (pairs used), ``sampled``, ``mean``, ``std``, ``q01``, ``q05``,
        ``q50``, ``q95``, ``q99``, ``hist`` (list of counts over :data:`COS_EDGES`),
        ``quantile_error``, ``mean_error``, ``quantile_rank_error``.

    Examples
    --------
    >>> r = base_distribution([[1, 0], [1, 1], [0, 1]])
    >>> r["n_pairs"], round(r["mean"], 4), sum(r["hist"])
    (3, 0.4714, 3)
    """
    U = unit_rows(X)
    n = U.shape[0]
    P, sampled = _plan(n, max_pairs)
    hist = FineHistogram(-1.0, 1.0, COS_FINE_BINS)
    stream = _Stream(hist, keep=P <= EXACT_QUANTILE_PAIRS, moments=sampled, absolute=False)
    if sampled:
        U32 = U.astype(np.float32)
        for i, j in iter_sampled_pairs(n, P, seed):
            stream.add(pair_cosines(U32, i, j))
        mean, std = stream.mean_std()
    else:
        bs = resolve_block_size(block_size, n)
        for i0, (strip,) in cosine_strips([U.astype(np.float32)], bs):
            for part in upper_parts(strip, min(bs, n - i0)):
                stream.add(part)
        mean = _cos_sum(U) / P
        std = math.sqrt(max(_pair_sum(U, U) / P - mean * mean, 0.0))
    return {
        "n": n,
        "n_pairs": P,
        "sampled": sampled,
        "mean": mean,
        "std": std,
        **stream.quantiles(),
        "hist": hist.coarse(COS_EDGES),
        **_error_keys(stream, std, sampled),
    }


_REMEMBERED: collections.OrderedDict[bytes, Any] = collections.OrderedDict()
_REMEMBERED_KEPT = 8  # a study judges every candidate of a split against the same original
_REMEMBERED_LOCK = threading.Lock()  # a study's cells may run side by side, on threads


def _remembered(name: str, values: NDArray, compute: Any) -> Any:
    """``compute(values)``, remembered for the last few arrays seen, by their content: what
    depends only on the original vectors of a split is computed once, not per candidate."""
    digest = hashlib.blake2b(np.ascontiguousarray(values).tobytes(), digest_size=16).digest()
    key = digest + str((name, values.dtype, values.shape)).encode()
    with _REMEMBERED_LOCK:  # held while computing: the others need the same result
        if key in _REMEMBERED:
            _REMEMBERED.move_to_end(key)
            return _REMEMBERED[key]
        result = _REMEMBERED[key] = compute(values)
        if len(_REMEMBERED) > _REMEMBERED_KEPT:
            _REMEMBERED.popitem(last=False)
        return result


def _ranks(values: NDArray) -> NDArray[np.float64]:
    """``scipy.stats.rankdata(values)``, remembered (:func:`_remembered`)."""
    from scipy.stats import rankdata

    return _remembered("ranks", values, rankdata)


def _spearman(a: NDArray, b: NDArray) -> float:
    """``scipy.stats.spearmanr(a, b).statistic``, computed as scipy does (Pearson's r of the
    average ranks, ``np.corrcoef``), with ``a``'s ranks remembered (:func:`_ranks`)."""
    from scipy.stats import rankdata

    if len(a) <= 1 or (a[0] == a).all() or (b[0] == b).all():
        return math.nan  # undefined for constant input, as scipy reports it
    ranked = np.column_stack((_ranks(a), rankdata(b)))
    return float(np.corrcoef(ranked, rowvar=False)[1, 0])


def similarity_metrics(
    original: ArrayLike,
    reduced: ArrayLike,
    *,
    k: int | None = 10,
    max_pairs: int | None = None,
    seed: int = 0,
    block_size: int | None = None,
    reduced_grid: int | None = None,
) -> dict[str, Any]:
    """How well ``reduced`` keeps the pairwise cosine similarities of ``original``.

    Over the pairs ``i < j`` (all of them up to 50,000 vectors, else a seeded sample, see
    :func:`base_distribution`), ``d = cos_original - cos_reduced``: its mean, std, MSE
    (the cosine-similarity encoder's loss), MAE and quantiles; Spearman's correlation of
    the two similarity lists; the histograms of ``cos_reduced`` and ``d``. And per item,
    recall@k and trustworthiness of the cosine neighbours.

    Accuracy: with all pairs, ``mean``, ``std`` and ``mse`` are exact in float64 (closed
    forms over Gram matrices), ``mae`` is a float64 sum of float32 differences (relative
    error ~1e-7). Quantiles: exact up to ``EXACT_QUANTILE_PAIRS`` pairs, else within
    ``quantile_error`` (5e-5). Spearman uses every pair up to ``SPEARMAN_MAX_PAIRS``,
    else a seeded sample of that many (``spearman_pairs``, ``spearman_sampled``). When
    sampled: ``mean_error`` and ``quantile_rank_error`` as in :func:`base_distribution`.
    Above 50,000 vectors recall and trustworthiness are averaged over a seeded sample of
    ``DEFAULT_MAX_QUERIES`` rows (``knn_queries``), their neighbours still searched among
    all rows. Histogram bins are :data:`COS_EDGES` and :data:`DIFF_EDGES`; differences
    beyond +-1 are counted in the end bins of ``hist_diff`` (``hist_diff_clipped`` says
    how many).

    Parameters
    ----------
    original, reduced : array-like of shape (n, d) and (n, d')
        The same n items before and after reduction; no NaN/inf or all-zero rows.
    k : int or None
        Neighbours for recall@k and trustworthiness, ``1 <= k < n / 2``. None skips both
        (and their cost: one ``n x n`` matmul per space).
    max_pairs : int, optional
        Sample this many pairs instead of using all.
    seed : int
        Seed of every sample.
    block_size : int, optional
        Rows per block. Results do not depend on it beyond float32 rounding of the
        similarities (~1e-7, which BLAS may do differently for another block shape).
    reduced_grid : int, optional
        The reduced cosines are multiples of ``1 / reduced_grid`` (1-bit codes): Spearman
        ranks them on that grid, so float rounding does not break their ties
        (:func:`~embreduce.metrics.pairs.snap_to_grid`).

    Returns
    -------
    dict
        ``n``, ``n_pairs``, ``sampled``, ``mean``, ``std``, ``mse``, ``mae``, ``q01``,
        ``q05``, ``q50``, ``q95``, ``q99``, ``spearman``, ``spearman_pairs``,
        ``spearman_sampled``, ``k``, ``recall_at_{k}``, ``trustworthiness``,
        ``knn_queries``, ``knn_sampled``, ``hist_reduced``, ``hist_diff``,
        ``hist_diff_clipped``, ``quantile_error``, ``mean_error``,
        ``quantile_rank_error``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 8))
    >>> r = similarity_metrics(X, X[:, :4], k=5)
    >>> r["n_pairs"], r["sampled"], 0 < r["mse"] < 1, sorted(r)[:3]
    (780, False, True, ['hist_diff', 'hist_diff_clipped', 'hist_reduced'])
    """
    U, V = check_pair(original, reduced)
    n = U.shape[0]
    if k is not None:
        k = check_k(k, n, trust=True)
    P, sampled = _plan(n, max_pairs)
    pairs = _PairFeed(n, P, sampled, seed)
    knn: tuple[float, float | None] | None = None
    queries = n if n <= EXACT_MAX_N else min(n, DEFAULT_MAX_QUERIES)
    if sampled:
        mean, std, mse = _sampled_pass(U, V, P, seed, pairs)
    else:
        mean, std, mse, knn = _exact_pass(U, V, P, k if queries == n else None, block_size, pairs)
    if k is not None and knn is None:
        rows = np.arange(n)
        if queries < n:
            rows = np.sort(np.random.default_rng(seed).choice(n, queries, replace=False))
        knn = knn_scores(U, V, k, rows=rows, block_size=block_size)
    sa, sb = pairs.spearman_pairs()
    diff, diff_hist = pairs.diff, pairs.diff_hist
    core = (diff_hist.pad + DIFF_FINE_BINS // 4, diff_hist.pad + 3 * DIFF_FINE_BINS // 4)
    result: dict[str, Any] = {
        "n": n,
        "n_pairs": P,
        "sampled": sampled,
        "mean": mean,
        "std": std,
        "mse": mse,
        "mae": diff.sum_abs / P,
        **diff.quantiles(),
        "spearman": _spearman(sa, snap_to_grid(sb, reduced_grid)),
        "spearman_pairs": len(sa),
        "spearman_sampled": len(sa) < n_pairs_of(n),
        "k": k,
    }
    if k is not None:
        result[f"recall_at_{k}"] = knn[0]  # type: ignore[index]
    result.update(
        {
            "trustworthiness": None if knn is None else knn[1],
            "knn_queries": 0 if k is None else queries,
            "knn_sampled": k is not None and queries < n,
            "hist_reduced": pairs.red_hist.coarse(COS_EDGES),
            "hist_diff": diff_hist.coarse(DIFF_EDGES),
            "hist_diff_clipped": int(
                diff_hist.counts[: core[0]].sum() + diff_hist.counts[core[1] :].sum()
            ),
            **_error_keys(diff, std, sampled),
        }
    )
    return result


class _PairFeed:
    """The streams :func:`similarity_metrics` feeds pairs into, and its Spearman sample.

    Spearman uses every pair up to ``SPEARMAN_MAX_PAIRS``, else a seeded sample read off
    the strips (or the first pairs of a sampled pass).
    """

    def __init__(self, n: int, P: int, sampled: bool, seed: int) -> None:
        self.diff_hist = FineHistogram(-2.0, 2.0, DIFF_FINE_BINS)
        self.red_hist = FineHistogram(-1.0, 1.0, len(COS_EDGES) - 1)
        self.diff = _Stream(
            self.diff_hist, keep=P <= EXACT_QUANTILE_PAIRS, moments=sampled, absolute=True
        )
        self.red = _Stream(self.red_hist, keep=False, moments=False, absolute=False)
        self.spear_a: list[NDArray] = []
        self.spear_b: list[NDArray] = []
        self.spear_all = n_pairs_of(n) <= SPEARMAN_MAX_PAIRS
        if not (sampled or self.spear_all):
            si, sj = sample_pairs(n, SPEARMAN_MAX_PAIRS, seed)
            order = np.lexsort((sj, si))
            self.si, self.sj = si[order], sj[order]

    def feed(self, a: NDArray, b: NDArray) -> None:
        """Add original cosines ``a`` and reduced cosines ``b`` of the same pairs."""
        self.diff.add(np.subtract(a, b, out=scratch_buffer(self.diff, "_d", a.shape, a.dtype)))
        self.red.add(b)

    def feed_sampled(self, a: NDArray, b: NDArray) -> None:
        """Add sampled pairs, keeping the first ``SPEARMAN_MAX_PAIRS`` for Spearman."""
        self.feed(a, b)
        if sum(len(x) for x in self.spear_a) < SPEARMAN_MAX_PAIRS:
            self.spear_a.append(a)
            self.spear_b.append(b)

    def feed_strips(self, i0: int, So: NDArray, Sr: NDArray) -> None:
        """Add the pairs ``i < j`` of a strip of rows starting at ``i0`` of both spaces."""
        h = So.shape[0]
        for a, b in zip(upper_parts(So, h), upper_parts(Sr, h), strict=True):
            self.feed(a, b)
            if self.spear_all:
                self.spear_a.append(a.ravel().copy())
                self.spear_b.append(b.ravel().copy())
        if not self.spear_all:
            lo, hi = np.searchsorted(self.si, [i0, i0 + h])
            r, c = self.si[lo:hi] - i0, self.sj[lo:hi] - i0
            self.spear_a.append(So[r, c])
            self.spear_b.append(Sr[r, c])

    def spearman_pairs(self) -> tuple[NDArray, NDArray]:
        """The cosine pairs Spearman's correlation is computed on."""
        sa = np.concatenate(self.spear_a)[:SPEARMAN_MAX_PAIRS]
        return sa, np.concatenate(self.spear_b)[:SPEARMAN_MAX_PAIRS]


def _sampled_pass(
    U: NDArray, V: NDArray, P: int, seed: int, pairs: _PairFeed
) -> tuple[float, float, float]:
    """Feed ``P`` seeded pairs; ``(mean, std, mse)`` of the differences, from the stream."""
    n = U.shape[0]
    U32, V32 = U.astype(np.float32), V.astype(np.float32)
    for i, j in iter_sampled_pairs(n, P, seed):
        pairs.feed_sampled(pair_cosines(U32, i, j), pair_cosines(V32, i, j))
    mean, std = pairs.diff.mean_std()
    return mean, std, pairs.diff.sum_sq / P


def _exact_pass(
    U: NDArray, V: NDArray, P: int, k: int | None, block_size: int | None, pairs: _PairFeed
) -> tuple[float, float, float, tuple[float, float | None] | None]:
    """Feed every pair (with the neighbour search when ``k``); exact mean, std and mse."""
    knn = None
    if k is not None:
        knn = knn_scores(U, V, k, block_size=block_size, on_strip=pairs.feed_strips)
    else:
        bs = resolve_block_size(block_size, U.shape[0])
        for i0, strips in cosine_strips([U.astype(np.float32), V.astype(np.float32)], bs):
            pairs.feed_strips(i0, *strips)
    own = _remembered("pair sums", U, lambda A: (_cos_sum(A), _pair_sum(A, A)))  # the original's
    mean = (own[0] - _cos_sum(V)) / P
    mse = max((own[1] - 2 * _pair_sum(U, V) + _pair_sum(V, V)) / P, 0.0)
    std = math.sqrt(max(mse - mean * mean, 0.0))
    return mean, std, mse, knn
