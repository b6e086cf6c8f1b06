"""One place that checks vectors before any work is done on them."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from embreduce.exceptions import InputError, ParameterError


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


# ------------------------------------------------------------- scalar parameters


def check_int(value: Any, name: str, *, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` as an ``int`` within ``[low, high]``, or raise :class:`ParameterError`.

    Examples
    --------
    >>> check_int(3, "k", low=1)
    3
    >>> check_int(0, "k", low=1)
    Traceback (most recent call last):
    ...
    embreduce.exceptions.ParameterError: k must be an integer >= 1, got 0
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ParameterError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        if high is None:
            bounds = f">= {low}"
        elif low is None:
            bounds = f"<= {high}"
        else:
            bounds = f"from {low} to {high}"
        raise ParameterError(f"{name} must be an integer {bounds}, got {value}")
    return value


def check_float(
    value: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    open_low: bool = False,
    open_high: bool = False,
) -> float:
    """Return ``value`` as a finite ``float`` within its bounds, or raise ``ParameterError``.

    Examples
    --------
    >>> check_float(0.2, "holdout", low=0, high=1, open_low=True, open_high=True)
    0.2
    >>> check_float(float("nan"), "tolerance", low=0)
    Traceback (most recent call last):
    ...
    embreduce.exceptions.ParameterError: tolerance must be a finite number, got nan
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ParameterError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ParameterError(f"{name} must be a finite number, got {value}")
    too_low = low is not None and (value <= low if open_low else value < low)
    too_high = high is not None and (value >= high if open_high else value > high)
    if too_low or too_high:
        lo = "" if low is None else f"{'>' if open_low else '>='} {low:g}"
        hi = "" if high is None else f"{'<' if open_high else '<='} {high:g}"
        raise ParameterError(
            f"{name} must be {' and '.join(p for p in (lo, hi) if p)}, got {value:g}"
        )
    return value


def unit_float32(X: ArrayLike) -> NDArray[np.float32]:
    """The rows of ``X`` scaled to unit length, as contiguous float32, without checks (an
    all-zero row stays zero): for vectors already checked, or about to be searched.

    Examples
    --------
    >>> unit_float32([[3, 4], [0, 0]]).tolist()
    [[0.6000000238418579, 0.800000011920929], [0.0, 0.0]]
    """
    X = np.asarray(X, dtype=np.float32)
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return np.ascontiguousarray(X / np.where(norms > 0, norms, 1), dtype=np.float32)
