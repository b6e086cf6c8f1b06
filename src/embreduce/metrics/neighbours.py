"""Cosine nearest neighbours in blocks: recall@k and trustworthiness with O(block x n) memory."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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


NUMPY_TOP_K_COLUMNS = 4096
"""Strips of up to this many columns are searched with NumPy, wider ones with torch.topk
(several times faster there; slower on small strips, where its call overhead dominates)."""


def top_k(
    S: NDArray[np.float32], k: int, *, stable_ties: bool = True
) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """Column indices of the ``k`` largest entries of each row, and each row's k-th value.

    Ties at the k-th value are broken by the lower column index (as a stable sort would);
    with ``stable_ties=False`` they are broken as :func:`torch.topk` breaks them (a pass
    over ``S`` cheaper, for approximate searches).
    """
    if S.shape[1] <= NUMPY_TOP_K_COLUMNS:  # small strips: no torch call overhead
        idx_np = np.argpartition(S, S.shape[1] - k, axis=1)[:, S.shape[1] - k :]
        kth_np = np.take_along_axis(S, idx_np, axis=1).min(axis=1)
    else:
        import torch

        vals, idx = torch.topk(torch.from_numpy(S), k, dim=1, largest=True, sorted=False)
        kth_np = vals.numpy().min(axis=1)
        idx_np = idx.numpy().astype(np.int64)
    if not stable_ties:
        return idx_np, kth_np
    n_ge = np.count_nonzero(S >= kth_np[:, None], axis=1)
    tied_rows = np.flatnonzero(n_ge > k)  # a tie straddles the k-th place (1-bit codes)
    if len(tied_rows):
        idx_np[tied_rows] = _lowest_tied(S[tied_rows], kth_np[tied_rows], k)
    return idx_np, kth_np


def _lowest_tied(S: NDArray[np.float32], kth: NDArray[np.float32], k: int) -> NDArray[np.int64]:
    """Per row: every column above ``kth``, then the lowest-indexed columns equal to it, to
    ``k`` columns in all (in column order): all rows at once, no loop over them."""
    above = S > kth[:, None]
    tied = S == kth[:, None]
    room = k - above.sum(axis=1)
    keep = above | (tied & (np.cumsum(tied, axis=1) <= room[:, None]))
    return np.nonzero(keep)[1].reshape(len(S), k)


def rank_penalty(
    S: NDArray[np.float32], kth: NDArray[np.float32], neighbours: NDArray[np.int64], k: int
) -> int:
    """Sum over rows of ``max(0, rank - k)`` of ``neighbours`` in the order of ``S``.

    The rank of column j in row r is ``1 + #{l : S[r, l] > S[r, j]}``: tied values share
    the best rank. Only neighbours strictly below the k-th value have rank > k. Their
    ranks are counted in one pass over ``S`` for each place of the longest row's list of
    such neighbours (at most ``k`` passes; a row with fewer counts against ``+inf``).
    """
    thr = np.take_along_axis(S, neighbours, axis=1)
    need = thr < kth[:, None]
    m = need.sum(axis=1)
    if not m.any():
        return 0
    T = np.where(need, thr, np.inf)  # +inf: a threshold that nothing exceeds
    T = np.take_along_axis(T, np.argsort(~need, axis=1, kind="stable"), axis=1)
    rows = np.flatnonzero(m)
    S, T = S[rows], T[rows]
    above = sum(int(np.count_nonzero(S > T[:, s : s + 1])) for s in range(int(m.max())))
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
    U32, V32 = U.astype(np.float32, copy=False), V.astype(np.float32, copy=False)
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
    return recall, float(_trust_from_penalty(penalty, n, k, len(rows)))


def _trust_from_penalty(penalty: Any, n: int, k: int, n_queries: int) -> Any:
    """Trustworthiness from the rank penalty summed over ``n_queries`` of the ``n`` rows.

    Scaled by ``n / n_queries``, an unbiased estimate when the queries are a sample.
    """
    scaled = penalty * n / n_queries
    return 1.0 - scaled * 2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0))


def sampled_trustworthiness(
    U: NDArray[np.floating],
    maps: list[NDArray[np.floating]],
    k: int,
    batches: list[NDArray[np.int64]],
    *,
    block_size: int | None = None,
) -> NDArray[np.float64]:
    """Trustworthiness of several maps of the same unit rows ``U``, one estimate a batch.

    Each batch of query rows is compared with every row once in the original space (the
    expensive product), and that strip then ranks the neighbours of every map: the same
    values as :func:`knn_scores` on each map alone, for one original-space pass instead of
    one a map.

    Returns
    -------
    ndarray of shape (len(maps), len(batches))
        Each map's unbiased estimate from each batch.
    """
    n = U.shape[0]
    bs = resolve_block_size(block_size, n)
    U32 = U.astype(np.float32, copy=False)
    Vs = [V.astype(np.float32, copy=False) for V in maps]
    buf = np.empty(bs * n, dtype=np.float32)
    out = np.empty((len(maps), len(batches)))
    for b, batch in enumerate(batches):
        penalty = np.zeros(len(maps))
        for s in range(0, len(batch), bs):
            R = np.asarray(batch[s : s + bs], dtype=np.int64)
            h = len(R)
            So = np.matmul(U32[R], U32.T, out=buf[: h * n].reshape(h, n))
            So[np.arange(h), R] = -np.inf
            _, kth_o = top_k(So, k)
            for m, V in enumerate(Vs):
                Sr = V[R] @ V.T
                Sr[np.arange(h), R] = -np.inf
                penalty[m] += rank_penalty(So, kth_o, top_k(Sr, k)[0], k)
        out[:, b] = _trust_from_penalty(penalty, n, k, len(batch))
    return out


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
    return CellIndex(unit_rows(X).astype(np.float32), seed=seed).search(k, n_probe=n_probe)


class CellIndex:
    """Unit rows split into about ``sqrt(n)`` spherical k-means cells, searched cell by cell.

    Built once, searched as often as needed (a wider search reuses the cells).

    Parameters
    ----------
    U : ndarray of shape (n, d), float32
        Unit rows.
    seed : int
        Seeds the k-means.
    """

    def __init__(self, U: NDArray[np.float32], *, seed: int = 0) -> None:
        self.U = U
        self.n_cells = max(1, int(np.sqrt(len(U))))
        cell, self.centres = _spherical_cells(U, self.n_cells, seed)
        order = np.argsort(cell, kind="stable")
        bounds = np.searchsorted(cell[order], np.arange(self.n_cells + 1))
        self.members = [order[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]

    def search(self, k: int, *, n_probe: int = 8) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """Each row's ``k`` nearest rows among the ``n_probe`` cells nearest to its cell."""
        U, members, n = self.U, self.members, len(self.U)
        probes = top_k(self.centres @ self.centres.T, min(n_probe, self.n_cells))[0]
        idx = np.zeros((n, k), np.int64)
        sims = np.full((n, k), -np.inf, np.float32)
        for c, rows in enumerate(members):
            if not len(rows):
                continue
            own = c in probes[c]  # then the cell's rows come first among the candidates
            cells = [c, *(p for p in probes[c] if p != c)] if own else list(probes[c])
            candidates = np.concatenate([members[p] for p in cells])
            if len(candidates) <= k:  # a tiny cell neighbourhood: search everything
                candidates, own = np.arange(n), False
            S = U[rows] @ U[candidates].T
            if own:
                np.fill_diagonal(S[:, : len(rows)], -np.inf)  # not itself
            else:
                S[candidates[None, :] == rows[:, None]] = -np.inf
            top, _ = top_k(S, k, stable_ties=False)
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
        sums = _cell_sums(U, cell, n_cells)
        empty = ~sums.any(axis=1)
        sums[empty] = centres[empty]  # a cell that lost its rows keeps its centre
        centres = unit_rows(sums).astype(np.float32)
    return cell, centres


def _cell_sums(U: NDArray[np.float32], cell: NDArray[np.int64], n_cells: int) -> NDArray:
    """The sum of each cell's rows (a sparse one-hot product: far faster than ``np.add.at``)."""
    from scipy.sparse import csr_matrix

    n = len(U)
    onehot = csr_matrix((np.ones(n, np.float32), (cell, np.arange(n))), shape=(n_cells, n))
    return np.asarray(onehot @ U, dtype=np.float32)


def neighbour_recall(
    X: ArrayLike, found: NDArray[np.int64], *, sample: int = 2_000, seed: int = 0
) -> tuple[float, int]:
    """Recall of ``found`` neighbours against the exact ones, on a seeded sample of rows.

    Returns ``(recall, rows checked)``: the mean share of each checked row's exact ``k``
    nearest cosine neighbours that ``found`` holds.
    """
    rows, exact = exact_sample(unit_rows(X).astype(np.float32), found.shape[1], sample, seed)
    return sample_recall(found, rows, exact), len(rows)


def exact_sample(
    U: NDArray[np.float32], k: int, sample: int, seed: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """A seeded sample of rows of the unit rows ``U`` (sorted) and their exact ``k`` neighbours."""
    n = len(U)
    rows = np.sort(np.random.default_rng(seed).choice(n, min(sample, n), replace=False))
    exact = np.empty((len(rows), k), np.int64)
    for s in range(0, len(rows), 512):
        R = rows[s : s + 512]
        S = U[R] @ U.T
        S[np.arange(len(R)), R] = -np.inf
        exact[s : s + len(R)] = top_k(S, k)[0]
    return rows, exact


def sample_recall(
    found: NDArray[np.int64], rows: NDArray[np.int64], exact: NDArray[np.int64]
) -> float:
    """The mean share of ``exact[i]`` that ``found[rows[i]]`` holds."""
    hits = (exact[:, :, None] == found[rows][:, None, :]).any(axis=2).sum()
    return float(hits) / exact.size
