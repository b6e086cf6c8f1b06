"""Cosine nearest neighbours in blocks: recall@k and trustworthiness with O(block x n) memory."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from embreduce.exceptions import InputError
from embreduce.metrics.blocks import check_pair, resolve_block_size, unit_rows

StripCallback = Callable[[int, NDArray[np.float32], NDArray[np.float32]], None]


def check_k(k: int, n: int, *, trust: bool) -> int:
    """``k`` as an int, or a clear error: 1 <= k <= n - 1, and k < n / 2 for trustworthiness."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise InputError(f"k must be a positive integer, got {k!r}")
    if k < 1:
        raise InputError(f"k must be a positive integer, got {k}")
    if trust and k >= n / 2:
        raise InputError(
            f"k={k} is too large for {n} rows: trustworthiness needs k < n / 2 "
            f"(as in scikit-learn), so at least {2 * k + 1} rows"
        )
    if k > n - 1:
        raise InputError(f"k={k} is too large for {n} rows: each row has only {n - 1} others")
    return int(k)


def top_k(S: NDArray[np.float32], k: int) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """Column indices of the ``k`` largest entries of each row, and each row's k-th value.

    Ties at the k-th value are broken by the lower column index (as a stable sort would).
    """
    import torch

    St = torch.from_numpy(S)
    vals, idx = torch.topk(St, k, dim=1, largest=True, sorted=False)
    kth = vals.min(dim=1).values
    n_ge = (St >= kth[:, None]).sum(dim=1).numpy()
    idx_np = idx.numpy().astype(np.int64)
    kth_np = kth.numpy()
    for r in np.flatnonzero(n_ge > k):  # a tie straddles the k-th place: rare
        above = np.flatnonzero(S[r] > kth_np[r])
        tied = np.flatnonzero(S[r] == kth_np[r])
        idx_np[r] = np.concatenate([above, tied[: k - len(above)]])
    return idx_np, kth_np


def rank_penalty(
    S: NDArray[np.float32], kth: NDArray[np.float32], neighbours: NDArray[np.int64], k: int
) -> int:
    """Sum over rows of ``max(0, rank - k)`` of ``neighbours`` in the order of ``S``.

    The rank of column j in row r is ``1 + #{l : S[r, l] > S[r, j]}``: tied values share
    the best rank. Only neighbours strictly below the k-th value have rank > k. Their
    ranks are summed the other way round: each entry above the row's lowest such
    threshold counts the thresholds below it, so one pass over ``S`` finds the few
    entries that matter.
    """
    thr = np.take_along_axis(S, neighbours, axis=1)
    need = thr < kth[:, None]
    m = need.sum(axis=1)
    if not m.any():
        return 0
    T = np.where(need, thr, np.inf)  # +inf: a threshold that nothing exceeds
    T = np.take_along_axis(T, np.argsort(~need, axis=1, kind="stable"), axis=1)
    rows, cols = np.nonzero(S > T.min(axis=1)[:, None])
    values = S[rows, cols]
    above = sum(int(np.count_nonzero(T[rows, s] < values)) for s in range(int(m.max())))
    return above + int(m.sum()) * (1 - k)


def knn_scores(
    U: NDArray[np.floating],
    V: NDArray[np.floating],
    k: int,
    *,
    rows: NDArray[np.int64] | None = None,
    block_size: int | None = None,
    trust: bool = True,
    on_strip: StripCallback | None = None,
) -> tuple[float, float | None]:
    """Recall@k and trustworthiness over the query ``rows`` (default: all) of unit rows.

    ``on_strip(i0, So, Sr)``, if given, sees each strip's columns ``i0:`` before the
    diagonal is masked (only when ``rows`` is all rows, in order).
    """
    n = U.shape[0]
    rows = np.arange(n) if rows is None else np.asarray(rows, dtype=np.int64)
    bs = resolve_block_size(block_size, n)
    U32, V32 = U.astype(np.float32), V.astype(np.float32)
    buf_o = np.empty(min(bs, len(rows)) * n, dtype=np.float32)
    buf_r = np.empty_like(buf_o)
    common = penalty = 0
    for s in range(0, len(rows), bs):
        R = rows[s : s + bs]
        h = len(R)
        So = np.matmul(U32[R], U32.T, out=buf_o[: h * n].reshape(h, n))
        Sr = np.matmul(V32[R], V32.T, out=buf_r[: h * n].reshape(h, n))
        if on_strip is not None:
            on_strip(int(R[0]), So[:, R[0] :], Sr[:, R[0] :])
        So[np.arange(h), R] = -np.inf
        Sr[np.arange(h), R] = -np.inf
        nn_o, kth_o = top_k(So, k)
        nn_r, _ = top_k(Sr, k)
        common += int((nn_o[:, :, None] == nn_r[:, None, :]).any(axis=2).sum())
        if trust:
            penalty += rank_penalty(So, kth_o, nn_r, k)
    recall = common / (len(rows) * k)
    if not trust:
        return recall, None
    scaled = penalty * n / len(rows)  # an unbiased estimate when rows are a sample
    return recall, 1.0 - scaled * 2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0))


def recall_at_k(
    original: ArrayLike, reduced: ArrayLike, k: int = 10, *, block_size: int | None = None
) -> float:
    """Share of each item's ``k`` nearest cosine neighbours that it keeps after reduction.

    For every row, the ``k`` most cosine-similar other rows (itself excluded) are found in
    both spaces; the result is the mean over rows of ``|common| / k``. Ties at the k-th
    place go to the lower row index. Exact, in blocks of rows: memory ``O(block x n)``,
    time one ``n x n`` matmul per space.

    Parameters
    ----------
    original, reduced : array-like of shape (n, d) and (n, d')
        The same n items before and after reduction. No NaN/inf or all-zero rows.
    k : int
        Neighbours per item, ``1 <= k <= n - 1`` (a larger k is an :class:`InputError`,
        not silently clamped).
    block_size : int, optional
        Rows per block.

    Returns
    -------
    float in [0, 1]

    Examples
    --------
    >>> X = np.eye(6) + 0.1
    >>> recall_at_k(X, X, k=2)
    1.0
    """
    U, V = check_pair(original, reduced)
    k = check_k(k, U.shape[0], trust=False)
    return knn_scores(U, V, k, block_size=block_size, trust=False)[0]


def trustworthiness(
    original: ArrayLike, reduced: ArrayLike, k: int = 10, *, block_size: int | None = None
) -> float:
    """Trustworthiness (Venna & Kaski) with cosine neighbours in both spaces, in blocks.

    ``1 - 2 / (n k (2n - 3k - 1)) * sum_i sum_{j in N_k^reduced(i)} max(0, r(i, j) - k)``,
    where ``r(i, j)`` is the rank of j among i's neighbours in the original space. It is
    the same formula as :func:`sklearn.manifold.trustworthiness` with
    ``metric="cosine"``; scikit-learn finds the reduced-space neighbours with the
    Euclidean metric, so the two agree when the reduced rows have unit length (for
    embeddings, cosine is the right metric in both spaces). Memory ``O(block x n)``
    instead of scikit-learn's several ``n x n`` arrays. Tied similarities share the best
    rank.

    Parameters
    ----------
    original, reduced : array-like of shape (n, d) and (n, d')
    k : int
        Neighbours per item, ``1 <= k < n / 2`` (else :class:`InputError`).
    block_size : int, optional

    Returns
    -------
    float, 1.0 when every reduced-space neighbour is also an original one

    Examples
    --------
    >>> X = np.eye(6) + 0.1
    >>> trustworthiness(X, X, k=2)
    1.0
    """
    U, V = check_pair(original, reduced)
    k = check_k(k, U.shape[0], trust=True)
    return knn_scores(U, V, k, block_size=block_size, trust=True)[1]


def approximate_neighbours(
    X: ArrayLike, k: int, *, seed: int = 0, n_probe: int = 8
) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """Each row's ``k`` most cosine-similar other rows, found approximately (an IVF search).

    The unit rows are split into about ``sqrt(n)`` k-means cells; the rows of each cell are
    compared, in one matrix product, with the rows of the ``n_probe`` cells whose centres are
    nearest to its centre. Time ``O(n * n_probe * sqrt(n) * d)`` instead of ``O(n**2 * d)``;
    a neighbour in a cell not probed is missed (measure with :func:`neighbour_recall`).

    Parameters
    ----------
    X : array-like of shape (n, d)
    k : int
        Neighbours per row, fewer than ``n``.
    seed : int
        Seeds the k-means.
    n_probe : int
        Cells searched for each cell's rows.

    Returns
    -------
    (indices, cosines) : ndarrays of shape (n, k), most similar first
    """
    U = unit_rows(X).astype(np.float32)
    n = len(U)
    n_cells = max(1, int(np.sqrt(n)))
    cell, centres = _spherical_cells(U, n_cells, seed)
    probes = top_k(centres @ centres.T, min(n_probe, n_cells))[0]
    members = [np.flatnonzero(cell == c) for c in range(n_cells)]
    idx = np.zeros((n, k), np.int64)
    sims = np.full((n, k), -np.inf, np.float32)
    for c, rows in enumerate(members):
        if not len(rows):
            continue
        candidates = np.concatenate([members[p] for p in probes[c]])
        if len(candidates) <= k:  # a tiny cell neighbourhood: search everything
            candidates = np.arange(n)
        S = U[rows] @ U[candidates].T
        S[candidates[None, :] == rows[:, None]] = -np.inf  # not itself
        top, _ = top_k(S, k)
        vals = np.take_along_axis(S, top, axis=1)
        order = np.argsort(-vals, axis=1, kind="stable")
        idx[rows] = candidates[np.take_along_axis(top, order, axis=1)]
        sims[rows] = np.take_along_axis(vals, order, axis=1)
    return idx, sims


def _spherical_cells(
    U: NDArray[np.float32], n_cells: int, seed: int, iterations: int = 3
) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """A few rounds of spherical k-means from seeded random rows: cells and unit centres."""
    rng = np.random.default_rng(seed)
    centres = U[rng.choice(len(U), n_cells, replace=False)]
    for _ in range(iterations + 1):
        cell = np.concatenate(
            [np.argmax(U[s : s + 8192] @ centres.T, axis=1) for s in range(0, len(U), 8192)]
        )
        sums = np.zeros_like(centres)
        np.add.at(sums, cell, U)
        empty = ~sums.any(axis=1)
        sums[empty] = centres[empty]  # a cell that lost its rows keeps its centre
        centres = unit_rows(sums).astype(np.float32)
    return cell, centres


def neighbour_recall(
    X: ArrayLike, found: NDArray[np.int64], *, sample: int = 2_000, seed: int = 0
) -> tuple[float, int]:
    """Recall of ``found`` neighbours against the exact ones, on a seeded sample of rows.

    Returns ``(recall, rows checked)``: the mean share of each checked row's exact ``k``
    nearest cosine neighbours that ``found`` holds.
    """
    U = unit_rows(X).astype(np.float32)
    n, k = found.shape
    rows = np.sort(np.random.default_rng(seed).choice(n, min(sample, n), replace=False))
    hits = 0
    for s in range(0, len(rows), 512):
        R = rows[s : s + 512]
        S = U[R] @ U.T
        S[np.arange(len(R)), R] = -np.inf
        exact, _ = top_k(S, k)
        hits += int((exact[:, :, None] == found[R][:, None, :]).any(axis=2).sum())
    return hits / (len(rows) * k), len(rows)
