"""Build reducers by name, and read a fitted one's linear map: the package's front door."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.utils.validation import check_is_fitted

from embreduce.exceptions import InputError
from embreduce.reducers.registry import SPECS
from embreduce.reducers.spec import get_spec, spec_of
from embreduce.validation import check_int

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
