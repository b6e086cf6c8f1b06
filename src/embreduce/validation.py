"""One place that checks vectors before any work is done on them."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from embreduce.exceptions import InputError


def check_vectors(
    X: ArrayLike,
    *,
    name: str = "vectors",
    min_rows: int = 1,
    allow_zero: bool = True,
    dtype: type = np.float32,
) -> NDArray[np.floating]:
    """Return ``X`` as a C-contiguous 2-D float array, or raise a clear :class:`InputError`.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The vectors to check.
    name : str
        What the vectors are called in error messages.
    min_rows : int
        The fewest rows the caller can work with.
    allow_zero : bool
        If False, an all-zero row is an error (its cosine similarity is undefined).
    dtype : type
        The float type of the returned array.

    Returns
    -------
    ndarray of shape (n_samples, n_features)

    Examples
    --------
    >>> check_vectors([[1, 0], [0, 1]]).dtype
    dtype('float32')
    """
    try:
        arr = np.asarray(X)
    except (ValueError, TypeError) as exc:  # ragged nested lists
        raise InputError(f"{name}: cannot be read as a 2-D array of numbers ({exc})") from None
    check_real_dtype(arr.dtype, name)
    if arr.ndim != 2:
        raise InputError(f"{name}: expected a 2-D array (rows x dims), got shape {arr.shape}")
    n, d = arr.shape
    if d == 0:
        raise InputError(f"{name}: the vectors have 0 dimensions")
    if n < min_rows:
        raise InputError(f"{name}: {n} row(s) given, at least {min_rows} needed")
    original = arr
    arr = np.ascontiguousarray(arr, dtype=dtype)
    finite = np.isfinite(arr).all(axis=1)
    if not finite.all():
        rows = np.flatnonzero(~finite)
        raise InputError(
            f"{name}: {bad_row_message(original, int(rows[0]), dtype)} "
            f"({len(rows)} such row(s) in all)"
        )
    if not allow_zero:
        zero = ~arr.any(axis=1)
        if zero.any():
            row = int(np.flatnonzero(zero)[0])
            raise InputError(
                f"{name}: row {row} is all zeros, so its cosine similarity is undefined "
                f"({int(zero.sum())} zero row(s) in all)"
            )
    return arr


def check_real_dtype(dtype: np.dtype, name: str = "vectors") -> None:
    """Raise :class:`InputError` unless ``dtype`` holds real numbers (or booleans)."""
    dtype = np.dtype(dtype)
    if np.issubdtype(dtype, np.complexfloating):
        raise InputError(f"{name}: complex numbers are not vectors embreduce can use")
    if dtype.hasobject or not (np.issubdtype(dtype, np.number) or np.issubdtype(dtype, np.bool_)):
        raise InputError(f"{name}: expected numbers, got values of type {dtype}")


def bad_row_message(original: NDArray, row: int, dtype: type = np.float32) -> str:
    """Why row ``row`` of ``original`` is not finite once cast to ``dtype``.

    Values that are finite but beyond the range of ``dtype`` (say 1e39 in float32) are
    called too large, not NaN.
    """
    values = np.asarray(original[row])
    if np.isfinite(values).all():
        limit = float(np.finfo(dtype).max)
        return f"row {row} holds values too large for {np.dtype(dtype).name} (beyond ±{limit:.3g})"
    return f"row {row} contains NaN or infinite values"


def check_sample_weight(sample_weight: ArrayLike, n_rows: int) -> NDArray[np.float64]:
    """Return ``sample_weight`` as a float64 array of ``n_rows`` finite, non-negative values.

    Raises
    ------
    InputError
        A shape other than ``(n_rows,)``, NaN, infinite or negative weights.
    """
    try:
        w = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError("sample_weight: expected numbers") from None
    if w.shape != (n_rows,):
        raise InputError(
            f"sample_weight has shape {w.shape}; expected one weight per vector ({n_rows},)"
        )
    if not np.isfinite(w).all() or (w < 0).any():
        raise InputError("sample_weight must be finite and non-negative")
    return w
