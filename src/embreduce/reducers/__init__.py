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

from embreduce.exceptions import EmbreduceError, InputError
from embreduce.reducers.baselines import (
    PCAReducer,
    RandomProjection,
    TruncateReducer,
    UncentredSVD,
    check_n_components,
)
from embreduce.reducers.encoder import CosineSimilarityEncoder
from embreduce.reducers.persistence import load_reducer, save_reducer

__all__ = [
    "REDUCERS",
    "CosineSimilarityEncoder",
    "NoTransformError",
    "PCAReducer",
    "RandomProjection",
    "TruncateReducer",
    "UncentredSVD",
    "available_reducers",
    "check_n_components",
    "linear_map",
    "load_reducer",
    "make_reducer",
    "save_reducer",
    "supports_transform",
]


class NoTransformError(EmbreduceError, NotImplementedError):
    """The reducer cannot map new points after fitting (t-SNE)."""


def _pca(n_components: Any = None, *, random_state: Any = 0, **params: Any) -> PCAReducer:
    return PCAReducer(n_components=n_components, random_state=random_state, **params)


def _svd(n_components: int = 2, *, random_state: Any = 0, **params: Any) -> UncentredSVD:
    return UncentredSVD(n_components=n_components, random_state=random_state, **params)


def _random(
    n_components: Any = "auto", *, random_state: Any = 0, **params: Any
) -> RandomProjection:
    return RandomProjection(n_components=n_components, random_state=random_state, **params)


def _truncate(n_components: int = 128, *, random_state: Any = None, **params: Any) -> Any:
    return TruncateReducer(n_components=n_components, **params)  # nothing random in it


def _umap(n_components: int = 2, *, random_state: Any = 0, **params: Any) -> Any:
    from embreduce.reducers.umap_reducer import UMAPReducer

    if random_state is not None:
        params.setdefault("n_jobs", 1)  # umap-learn forces it for seeded runs, with a warning
    return UMAPReducer(n_components=n_components, random_state=random_state, **params)


def _tsne(n_components: int = 2, *, random_state: Any = 0, **params: Any) -> Any:
    from embreduce.reducers.tsne import TSNEReducer

    return TSNEReducer(n_components=n_components, random_state=random_state, **params)


def _encoder(
    n_components: int = 128, *, random_state: Any = 0, **params: Any
) -> CosineSimilarityEncoder:
    return CosineSimilarityEncoder(n_components, random_state=random_state, **params)


def _encoder_mlp(
    n_components: int = 128, *, random_state: Any = 0, **params: Any
) -> CosineSimilarityEncoder:
    params.setdefault("hidden_layers", (512,))
    if not params["hidden_layers"]:
        raise InputError("encoder-mlp needs at least one hidden layer; use 'encoder' for none")
    return CosineSimilarityEncoder(n_components, random_state=random_state, **params)


REDUCERS: dict[str, Callable[..., Any]] = {
    "pca": _pca,
    "svd": _svd,
    "random": _random,
    "truncate": _truncate,
    "umap": _umap,
    "tsne": _tsne,
    "encoder": _encoder,
    "encoder-mlp": _encoder_mlp,
}
"""Name -> factory ``(n_components, *, random_state, **params) -> unfitted estimator``."""

_NO_TRANSFORM = frozenset({"tsne"})


def available_reducers() -> list[str]:
    """Return the names :func:`make_reducer` accepts.

    Examples
    --------
    >>> available_reducers()[:4]
    ['pca', 'svd', 'random', 'truncate']
    """
    return list(REDUCERS)


def _check_name(name: str) -> str:
    if name not in REDUCERS:
        raise InputError(
            f"unknown reducer {name!r}; choose one of: {', '.join(available_reducers())}"
        )
    return name


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
    _check_name(name)
    if isinstance(n_components, bool) or not isinstance(n_components, (int, np.integer)):
        raise InputError(f"{name}: n_components must be a positive integer, got {n_components!r}")
    if n_components < 1:
        raise InputError(f"{name}: n_components must be at least 1, got {n_components}")
    try:
        return REDUCERS[name](int(n_components), random_state=random_state, **params)
    except TypeError as exc:
        raise InputError(f"{name}: {exc}") from None


def supports_transform(name: str) -> bool:
    """Whether the named reducer can map new points after fitting (False for t-SNE).

    Examples
    --------
    >>> supports_transform("pca"), supports_transform("tsne")
    (True, False)
    """
    return _check_name(name) not in _NO_TRANSFORM


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
    from sklearn.decomposition import PCA, TruncatedSVD
    from sklearn.random_projection import GaussianRandomProjection
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(reducer)
    if isinstance(reducer, CosineSimilarityEncoder):
        if reducer.hidden_layers:
            return None
        W = reducer.components_.T.astype(np.float64)
        return W, np.zeros(W.shape[1])
    if isinstance(reducer, PCA):
        W = reducer.components_.T.astype(np.float64)
        if reducer.whiten:
            W = W / np.sqrt(reducer.explained_variance_.astype(np.float64))
        return W, -reducer.mean_.astype(np.float64) @ W
    if isinstance(reducer, (TruncatedSVD, GaussianRandomProjection)):
        W = np.asarray(reducer.components_.T, dtype=np.float64)
        return W, np.zeros(W.shape[1])
    if isinstance(reducer, TruncateReducer):
        W = np.eye(reducer.n_features_in_, dtype=np.float64)[:, : reducer.n_components]
        return W, np.zeros(W.shape[1])
    return None
