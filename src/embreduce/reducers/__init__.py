"""One registry of scikit-learn-compatible reducers, by name.

=============  ==============================================================
name           reducer
=============  ==============================================================
``pca``        scikit-learn PCA (centres the data, which shifts cosines)
``svd``        uncentred TruncatedSVD
``random``     Gaussian random projection
``truncate``   keep the first k dimensions (Matryoshka-style baseline)
``umap``       umap-learn
``tsne``       scikit-learn t-SNE (no ``transform`` for new points)
``encoder``    :class:`CosineSimilarityEncoder`, linear
``encoder-mlp`` :class:`CosineSimilarityEncoder` with one hidden layer of 512
=============  ==============================================================

Every reducer has ``fit``/``transform``/``fit_transform`` (t-SNE's ``transform`` raises
:class:`NoTransformError`), takes its parameters in ``__init__`` only, and raises
:class:`~embreduce.exceptions.InputError` when ``n_components`` exceeds the input dimension.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.utils.validation import check_is_fitted

from embreduce.exceptions import InputError
from embreduce.reducers.baselines import (
    PCAReducer,
    RandomProjection,
    TruncateReducer,
    UncentredSVD,
    check_n_components,
)
from embreduce.reducers.encoder import CosineSimilarityEncoder
from embreduce.reducers.persistence import load_reducer, save_reducer
from embreduce.reducers.registry import SPECS
from embreduce.reducers.spec import NoTransformError, ReducerSpec, get_spec, spec_of
from embreduce.validation import check_int

__all__ = [
    "REDUCERS",
    "SPECS",
    "CosineSimilarityEncoder",
    "NoTransformError",
    "PCAReducer",
    "RandomProjection",
    "ReducerSpec",
    "TruncateReducer",
    "UncentredSVD",
    "available_reducers",
    "check_n_components",
    "get_spec",
    "linear_map",
    "load_reducer",
    "make_reducer",
    "save_reducer",
    "supports_transform",
]

REDUCERS: dict[str, Callable[..., Any]] = {spec.name: spec.factory for spec in SPECS}
"""Name -> factory ``(n_components, *, random_state, **params) -> unfitted estimator``."""


def available_reducers() -> list[str]:
    """Return the names :func:`make_reducer` accepts.

    Examples
    --------
    >>> available_reducers()[:4]
    ['pca', 'svd', 'random', 'truncate']
    """
    return list(REDUCERS)


def make_reducer(
    name: str, n_components: int, *, random_state: int | None = 0, **params: Any
) -> Any:
    """Build an unfitted reducer by name.

    Parameters
    ----------
    name : str
        One of :func:`available_reducers`.
    n_components : int
        Output dimension; checked against the input dimension in ``fit``.
    random_state : int or None, default=0
        Seed for the reducers that draw random numbers.
    **params
        Other parameters of the underlying estimator.

    Returns
    -------
    estimator
        A scikit-learn-compatible transformer.

    Raises
    ------
    InputError
        Unknown name (the message lists the allowed ones), bad ``n_components`` or
        unknown parameters.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(30, 8))
    >>> make_reducer("svd", 3).fit_transform(X).shape
    (30, 3)
    """
    spec = get_spec(name)
    n_components = check_int(n_components, f"{name}: n_components", low=1)
    try:
        return spec.factory(n_components, random_state=random_state, **params)
    except TypeError as exc:
        raise InputError(f"{name}: {exc}") from None


def supports_transform(name: str) -> bool:
    """Whether the named reducer can map new points after fitting (False for t-SNE).

    Examples
    --------
    >>> supports_transform("pca"), supports_transform("tsne")
    (True, False)
    """
    return get_spec(name).can_transform


def linear_map(reducer: Any) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
    """Return ``(W, b)`` with ``reducer.transform(X) == X @ W + b``, or None if nonlinear.

    ``W`` has shape (n_features_in, n_components) and ``b`` shape (n_components,), both
    float64. Defined for pca (``b = -mean_ @ W``, whitening included), svd, random,
    truncate and the linear encoder; None for umap, t-SNE and the MLP encoder. This is what
    an exporter needs to put the reducer inside a model as a ``Dense`` layer with bias.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(30, 8))
    >>> pca = make_reducer("pca", 3).fit(X)
    >>> W, b = linear_map(pca)
    >>> np.allclose(X @ W + b, pca.transform(X))
    True
    """
    check_is_fitted(reducer)
    spec = spec_of(reducer)
    if spec is None or spec.linear_map is None:
        return None
    return spec.linear_map(reducer)
