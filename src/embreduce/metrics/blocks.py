"""Unit rows, blocks of pairwise cosine similarities, and seeded samples of pairs.

A *pair* is an unordered pair of rows ``i < j``; ``n`` rows have ``n (n - 1) / 2`` of them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from embreduce.exceptions import InputError
from embreduce.validation import check_int, check_vectors

#: Rows times columns of one block of similarities when ``block_size`` is left to us
#: (4 Mi float32 values, 16 MiB): big enough for fast BLAS, small enough for the cache.
BLOCK_ELEMENTS = 1 << 22


def unit_rows(X: ArrayLike, *, name: str = "vectors") -> NDArray[np.float64]:
    """Return the rows of ``X`` scaled to unit length, in float64.

    Raises :class:`~embreduce.exceptions.InputError` for NaN/inf, all-zero rows (their
    cosine is undefined) and fewer than 2 rows. Rows are scaled by their largest entry
    first, so huge or tiny (subnormal) finite values are handled without overflow.

    Examples
    --------
    >>> unit_rows([[3, 4], [0, 2]]).tolist()
    [[0.6, 0.8], [0.0, 1.0]]
    """
    arr = check_vectors(X, name=name, min_rows=2, allow_zero=False, dtype=np.float64)
    arr = arr / np.abs(arr).max(axis=1, keepdims=True)
    arr /= np.linalg.norm(arr, axis=1, keepdims=True)
    return arr


def check_pair(original: ArrayLike, reduced: ArrayLike) -> tuple[NDArray, NDArray]:
    """Unit rows of ``original`` and ``reduced``, which must describe the same items."""
    U = unit_rows(original, name="original")
    V = unit_rows(reduced, name="reduced")
    if U.shape[0] != V.shape[0]:
        raise InputError(
            f"original has {U.shape[0]} rows but reduced has {V.shape[0]}: "
            "they must describe the same items, row for row"
        )
    return U, V


def resolve_block_size(block_size: int | None, n: int) -> int:
    """Rows per block: ``block_size`` if given (>= 1), else about ``BLOCK_ELEMENTS / n``."""
    if block_size is None:
        return int(np.clip(BLOCK_ELEMENTS // max(n, 1), 16, 4096))
    return check_int(block_size, "block_size", low=1)


def cosine_strips(
    units: Sequence[NDArray[np.float32]], block_size: int, *, full: bool = False
) -> Iterator[tuple[int, list[NDArray[np.float32]]]]:
    """Yield ``(i0, strips)``: for each space, rows ``i0:i0+h`` against columns ``i0:``.

    With ``full=True`` the columns are all ``0:n``. The strips are views into buffers
    that are reused for the next block: copy what you keep.
    """
    n = units[0].shape[0]
    bufs = [np.empty(min(block_size, n) * n, dtype=np.float32) for _ in units]
    for i0 in range(0, n, block_size):
        h = min(block_size, n - i0)
        c0 = 0 if full else i0
        strips = []
        for U, buf in zip(units, bufs, strict=True):
            out = buf[: h * (n - c0)].reshape(h, n - c0)
            np.matmul(U[i0 : i0 + h], U[c0:].T, out=out)
            strips.append(out)
        yield i0, strips


def upper_parts(strip: NDArray, h: int) -> tuple[NDArray, NDArray]:
    """Split a strip (rows ``i0:i0+h``, columns ``i0:``) into its pairs.

    Returns the strict upper triangle of the leading ``h x h`` block (1-D) and the rest
    of the strip (2-D, every entry a pair).
    """
    rows, cols = np.triu_indices(h, 1)
    return strip[rows, cols], strip[:, h:]


def pairwise_cosine_blocks(
    X: ArrayLike, *, block_size: int | None = None
) -> Iterator[tuple[int, int, NDArray[np.float32]]]:
    """Yield the upper triangle of the cosine-similarity matrix of ``X`` in blocks.

    Each item is ``(i0, j0, block)``: ``block[r, c]`` is the cosine similarity of rows
    ``i0 + r`` and ``j0 + c``. Per row block there is a square diagonal block
    (``i0 == j0``, where only the entries above the diagonal are pairs) and then, unless
    it is the last one, a block of every later column (``j0 = i0 + h``, all entries are
    pairs). Together they cover each pair ``i < j`` exactly once. Memory is
    ``O(block_size x n)``; the similarities are float32 products of float64-normalised
    rows.

    Parameters
    ----------
    X : array-like of shape (n, d)
        Vectors; no NaN/inf, no all-zero rows, at least 2 rows.
    block_size : int, optional
        Rows per block. Default: about 4 Mi values per block.

    Yields
    ------
    i0, j0 : int
    block : ndarray of float32, shape (h, w)

    Examples
    --------
    >>> X = [[1, 0], [1, 1], [0, 1]]
    >>> [(i0, j0, b.shape) for i0, j0, b in pairwise_cosine_blocks(X, block_size=2)]
    [(0, 0, (2, 2)), (0, 2, (2, 1)), (2, 2, (1, 1))]
    """
    U = unit_rows(X).astype(np.float32)
    n = U.shape[0]
    bs = resolve_block_size(block_size, n)
    for i0, (strip,) in cosine_strips([U], bs):
        h = min(bs, n - i0)
        yield i0, i0, strip[:, :h].copy()
        if i0 + h < n:
            yield i0, i0 + h, strip[:, h:].copy()


def n_pairs_of(n: int) -> int:
    """Number of unordered pairs of ``n`` items."""
    return n * (n - 1) // 2


#: Pairs drawn per call to the random generator: fixed, so a seed always gives the same pairs.
SAMPLE_CHUNK = 1 << 20


def iter_sampled_pairs(
    n: int, m: int, seed: int
) -> Iterator[tuple[NDArray[np.int64], NDArray[np.int64]]]:
    """``m`` pairs ``i < j`` drawn uniformly and independently (with replacement), in chunks."""
    rng = np.random.default_rng(seed)
    for s in range(0, m, SAMPLE_CHUNK):
        size = min(SAMPLE_CHUNK, m - s)
        i = rng.integers(0, n, size=size)
        j = rng.integers(0, n - 1, size=size)
        j += j >= i  # j uniform over the other n - 1 rows, so {i, j} is a uniform pair
        yield np.minimum(i, j), np.maximum(i, j)


def sample_pairs(n: int, m: int, seed: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """``m`` pairs ``i < j`` drawn uniformly and independently (with replacement).

    Examples
    --------
    >>> i, j = sample_pairs(10, 5, seed=0)
    >>> bool((i < j).all())
    True
    """
    chunks = list(iter_sampled_pairs(n, m, seed))
    return np.concatenate([c[0] for c in chunks]), np.concatenate([c[1] for c in chunks])


def pair_cosines(
    U: NDArray[np.floating], i: NDArray[np.int64], j: NDArray[np.int64], chunk: int = 4096
) -> NDArray[np.float32]:
    """Cosine similarities of the pairs ``(i[p], j[p])`` of unit rows ``U``, in float32."""
    U = U if U.dtype == np.float32 else U.astype(np.float32)
    out = np.empty(len(i), dtype=np.float32)
    for s in range(0, len(i), chunk):
        e = s + chunk
        out[s:e] = np.einsum("pd,pd->p", U[i[s:e]], U[j[s:e]])
    return out
