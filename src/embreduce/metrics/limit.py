"""The limit: the lowest cosine-similarity loss any reducer could reach on a set."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from embreduce.metrics.blocks import unit_rows
from embreduce.validation import check_int

#: Below this many multiply-adds per Gram product (n x d x k), optimise on one thread.
_PARALLEL_WORK = 1_000_000_000


def _eigen_truncation(U: NDArray[np.float64], k: int) -> NDArray[np.float64]:
    """Rows of the best rank-k factor ``Z Z^T`` of ``U U^T``, scaled to unit length.

    ``Z = Q_k sqrt(w_k)`` from the top eigenpairs of the cosine matrix ``U U^T``. When
    there are more rows than dims, the same Z is ``U B_k`` with ``B_k`` the top
    eigenvectors of the smaller ``U^T U``, so the n x n matrix is never formed.
    """
    n, d = U.shape
    r = min(k, n, d)
    Z = np.zeros((n, k))
    if n <= d:
        w, Q = np.linalg.eigh(U @ U.T)
        Z[:, :r] = Q[:, ::-1][:, :r] * np.sqrt(np.clip(w[::-1][:r], 0, None))
    else:
        _, B = np.linalg.eigh(U.T @ U)
        Z[:, :r] = U @ B[:, ::-1][:, :r]
    norms = np.linalg.norm(Z, axis=1)
    zero = norms == 0  # a row orthogonal to the top k directions: start it on the first
    Z[zero, 0], norms[zero] = 1.0, 1.0
    return Z / norms[:, None]


def pair_loss(U, Z, uu_sq=None):  # torch tensors or numpy arrays alike
    """Mean over pairs i < j of ``(u_i . u_j - z_i . z_j)^2``, in O(n d k) via Gram matrices.

    ``sum_{i,j} (u_i.u_j - z_i.z_j)^2 = |U^T U|^2 - 2 |U^T Z|^2 + |Z^T Z|^2``; the diagonal
    terms are removed and the symmetric sum halved. ``uu_sq`` is ``|U^T U|^2`` if known.
    """
    n = U.shape[0]
    if uu_sq is None:
        uu = U.T @ U
        uu_sq = (uu * uu).sum()
    uz, zz = U.T @ Z, Z.T @ Z
    full = uu_sq - 2 * (uz * uz).sum() + (zz * zz).sum()
    diag = (((U * U).sum(1) - (Z * Z).sum(1)) ** 2).sum()
    return (full - diag) / (n * (n - 1))


def similarity_limit(
    X: ArrayLike,
    n_components: int,
    *,
    max_iter: int = 100,
    seed: int = 0,
    max_n: int = 5000,
    return_rows: bool = False,
) -> NDArray[np.float32] | tuple[NDArray[np.float32], NDArray[np.int64]]:
    """Unit vectors in ``n_components`` dims whose cosine matrix best matches that of ``X``.

    No reducer can do better on ``X`` than free vectors fitted to ``X`` itself, so the
    loss of the result is the *limit*: the lowest cosine-similarity loss (MSE over the
    pairs ``i < j`` between the two cosine matrices) reachable at that dimension. The
    vectors start from the eigen-truncation of X's cosine matrix (the top
    ``n_components`` eigenpairs, rows scaled to unit length) and are then optimised with
    L-BFGS (torch, float64, CPU) on that same loss, computed through ``d x k`` Gram
    matrices so that memory is ``O(n (d + k))``. Deterministic for a given ``seed``.

    Above ``max_n`` rows, a seeded uniform sample of ``max_n`` rows (without replacement,
    sorted) is used; ``return_rows=True`` returns which.

    Parameters
    ----------
    X : array-like of shape (n, d)
        At least 2 rows, no NaN/inf or all-zero rows.
    n_components : int
        Dimension of the vectors, >= 1. At or above the rank of X the loss is ~0.
    max_iter : int
        L-BFGS iterations, at most.
    seed : int
        Seed of the row sample.
    max_n : int
        Rows used at most.
    return_rows : bool
        Also return the indices of the rows used.

    Returns
    -------
    Z : ndarray of float32, shape (min(n, max_n), n_components)
    rows : ndarray of int64, only with ``return_rows``

    Examples
    --------
    >>> from embreduce.metrics import similarity_metrics
    >>> X = np.random.default_rng(0).normal(size=(60, 16))
    >>> Z = similarity_limit(X, 4)
    >>> limit = similarity_metrics(X, Z, k=None)["mse"]
    >>> bool(limit < similarity_metrics(X, X[:, :4], k=None)["mse"])
    True
    """
    import torch

    n_components = check_int(n_components, "n_components", low=1)
    max_n = check_int(max_n, "max_n", low=2)
    U = unit_rows(X)
    rows = np.arange(U.shape[0], dtype=np.int64)
    if U.shape[0] > max_n:
        rng = np.random.default_rng(seed)
        rows = np.sort(rng.choice(U.shape[0], max_n, replace=False)).astype(np.int64)
        U = U[rows]
    Z0 = _eigen_truncation(U, int(n_components))
    Ut = torch.from_numpy(U)
    uu = Ut.T @ Ut
    uu_sq = (uu * uu).sum()
    W = torch.nn.Parameter(torch.from_numpy(Z0))
    opt = torch.optim.LBFGS(
        [W],
        lr=1.0,
        max_iter=int(max_iter),
        history_size=20,
        tolerance_grad=1e-12,
        tolerance_change=1e-16,
        line_search_fn="strong_wolfe",
    )

    def closure() -> torch.Tensor:
        opt.zero_grad()
        Zn = W / W.norm(dim=1, keepdim=True)
        loss = pair_loss(Ut, Zn, uu_sq)
        loss.backward()
        return loss

    threads = torch.get_num_threads()
    if U.shape[0] * U.shape[1] * Z0.shape[1] < _PARALLEL_WORK:
        torch.set_num_threads(1)  # small products: thread start-up would cost more than it saves
    try:
        if max_iter > 0:
            opt.step(closure)
    finally:
        torch.set_num_threads(threads)
    with torch.no_grad():
        Z = (W / W.norm(dim=1, keepdim=True)).numpy().astype(np.float32)
    return (Z, rows) if return_rows else Z
