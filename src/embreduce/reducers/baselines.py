"""The classic reducers: PCA, uncentred SVD, Gaussian random projection and truncation.

Each one is the scikit-learn estimator (or, for truncation, a tiny estimator of our own)
with one addition: ``fit`` refuses ``n_components`` larger than the input dimension with an
:class:`~embreduce.exceptions.InputError` that names the allowed range, instead of the
silent clipping or the warning scikit-learn gives.
"""

from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.decomposition import PCA, TruncatedSVD
from sklearn.random_projection import GaussianRandomProjection
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

from embreduce.exceptions import InputError
from embreduce.validation import check_int


def check_n_components(n_components: Any, n_features: int, *, method: str) -> None:
    """Raise :class:`InputError` unless ``1 <= n_components <= n_features``.

    Parameters
    ----------
    n_components : int
        The requested output dimension.
    n_features : int
        The input dimension.
    method : str
        The reducer's name, for the message.

    Examples
    --------
    >>> check_n_components(2, 3, method="pca")
    >>> check_n_components(4, 3, method="pca")
    Traceback (most recent call last):
    ...
    embreduce.exceptions.InputError: pca: n_components=4 is larger than the input dimension; ...
    """
    check_int(n_components, f"{method}: n_components", low=1)
    if n_components > n_features:
        raise InputError(
            f"{method}: n_components={n_components} is larger than the input dimension; "
            f"allowed: 1 to {n_features} for these {n_features}-dimensional vectors"
        )


def _n_features(X: Any) -> int | None:
    """The number of columns of a 2-D real input, or None to leave the input to sklearn."""
    if not hasattr(X, "shape") or not hasattr(X, "dtype"):
        try:
            X = np.asarray(X)
        except (ValueError, TypeError):  # ragged lists: sklearn's validation will explain
            return None
    if len(X.shape) != 2 or np.issubdtype(X.dtype, np.complexfloating):
        return None
    return int(X.shape[1])


class _ChecksComponents:
    """Mixin: check ``n_components`` against the input dimension before fitting."""

    _method = "reducer"

    def _check_fit_input(self, X: Any) -> None:
        d = _n_features(X)
        k = self.n_components
        # only whole numbers are dimensions; PCA's 0.95 or "mle" and "auto" are sklearn's
        if d and isinstance(k, (int, np.integer)) and not isinstance(k, bool):
            check_n_components(k, d, method=self._method)

    def fit(self, X: ArrayLike, y: Any = None) -> Any:
        self._check_fit_input(X)
        return super().fit(X, y)

    def fit_transform(self, X: ArrayLike, y: Any = None) -> Any:
        self._check_fit_input(X)
        return super().fit_transform(X, y)


class PCAReducer(_ChecksComponents, PCA):
    """scikit-learn's :class:`~sklearn.decomposition.PCA` with a clear error for k > d.

    PCA centres the data first; this shifts every cosine similarity, which is why the
    uncentred :class:`UncentredSVD` sits beside it.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(20, 5))
    >>> PCAReducer(n_components=2).fit_transform(X).shape
    (20, 2)
    """

    _method = "pca"


class UncentredSVD(_ChecksComponents, TruncatedSVD):
    """scikit-learn's :class:`~sklearn.decomposition.TruncatedSVD`: an SVD without centring.

    The projection is ``X @ components_.T``: the origin stays put, so cosine similarities
    are not shifted the way PCA's centring shifts them.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(20, 5))
    >>> UncentredSVD(n_components=2, random_state=0).fit_transform(X).shape
    (20, 2)
    """

    _method = "svd"

    def _check_fit_input(self, X: Any) -> None:
        super()._check_fit_input(X)
        d = _n_features(X)
        # arpack needs k < d strictly; randomized allows k == d.
        if d is not None and self.algorithm == "arpack" and self.n_components >= d:
            raise InputError(
                f"svd: algorithm='arpack' needs n_components < {d}, got {self.n_components}; "
                f"use algorithm='randomized' for n_components={d}"
            )


class RandomProjection(_ChecksComponents, GaussianRandomProjection):
    """scikit-learn's :class:`~sklearn.random_projection.GaussianRandomProjection`.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(20, 5))
    >>> RandomProjection(n_components=2, random_state=0).fit_transform(X).shape
    (20, 2)
    """

    _method = "random"


class TruncateReducer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Keep the first ``n_components`` dimensions: the Matryoshka-style baseline.

    Models trained with a Matryoshka loss put the most information in their first
    dimensions; for other models this is a cheap, data-free baseline.

    Parameters
    ----------
    n_components : int, default=128
        How many leading dimensions to keep.

    Attributes
    ----------
    n_features_in_ : int
        The input dimension seen in ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> TruncateReducer(n_components=2).fit_transform(np.eye(3))
    array([[1., 0.],
           [0., 1.],
           [0., 0.]])
    """

    _parameter_constraints: dict = {"n_components": [Interval(Integral, 1, None, closed="left")]}

    def __init__(self, n_components: int = 128) -> None:
        self.n_components = n_components

    def fit(self, X: ArrayLike, y: Any = None) -> TruncateReducer:
        """Check ``X`` and remember its dimension; nothing is learned."""
        X = validate_data(self, X, dtype=[np.float64, np.float32])
        check_n_components(self.n_components, X.shape[1], method="truncate")
        return self

    @property
    def _n_features_out(self) -> int:
        return int(self.n_components)

    def transform(self, X: ArrayLike) -> NDArray[np.floating]:
        """Return the first ``n_components`` columns of ``X``."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        return np.ascontiguousarray(X[:, : self.n_components])

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "n_features_in_")

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
