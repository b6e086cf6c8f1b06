"""Each linear reducer's map ``X @ W + b``, from its fitted state, without scikit-learn.

One function a kind of map reads the fitted state through a getter, ``name -> value``: an
estimator's attributes (:func:`of_estimator`, what :func:`embreduce.reducers.linear_map`
uses) or a saved folder's arrays and config (:func:`load_linear_map`, what ``embreduce
compress`` uses, so that it need not import scikit-learn, 1.4 s on a small machine, to
multiply by one matrix). Both give the same ``(W, b)``, bit for bit.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from embreduce.exceptions import InputError

Linear = tuple[NDArray[np.float64], NDArray[np.float64]]
State = Callable[[str], Any]
"""``name -> value`` of a fitted reducer: its arrays (``components_``...), fitted values and
parameters (``whiten``, ``n_components``) and ``n_features_in_``."""


def pca_map(get: State) -> Linear:
    """PCA: ``W = components_.T`` (divided by the singular scale when whitening),
    ``b = -mean_ @ W``."""
    W = get("components_").T.astype(np.float64)
    if get("whiten"):
        W = W / np.sqrt(get("explained_variance_").astype(np.float64))
    return W, -get("mean_").astype(np.float64) @ W


def components_map(get: State) -> Linear:
    """Uncentred SVD, random projection, the linear encoder: ``W = components_.T``, no bias."""
    W = np.asarray(get("components_").T, dtype=np.float64)
    return W, np.zeros(W.shape[1])


def truncate_map(get: State) -> Linear:
    """Truncation: the first ``n_components`` columns of the identity."""
    W = np.eye(int(get("n_features_in_")), dtype=np.float64)[:, : int(get("n_components"))]
    return W, np.zeros(W.shape[1])


def of_estimator(reducer: Any) -> State:
    """The getter of a fitted estimator: its attributes."""
    return lambda name: getattr(reducer, name)


# method -> (its map, the arrays of a saved folder that the map reads, under the names the
# estimator gives them)
_FOLDER_MAPS: dict[str, tuple[Callable[[State], Linear], dict[str, str]]] = {
    "pca": (pca_map, {"components_": "components_", "mean_": "mean_"}),
    "svd": (components_map, {"components_": "components_"}),
    "random": (components_map, {"components_": "components_"}),
    "truncate": (truncate_map, {}),
    "encoder": (components_map, {"components_": "layers.0.weight"}),
}


@dataclass(frozen=True)
class LinearMap:
    """A saved linear reducer read as its map: enough to compress, nothing to refit.

    Attributes
    ----------
    weights, bias : ndarray
        ``W`` (n_features_in_, n_components) and ``b`` (n_components,), float64.
    method : str
        The reducer's registry name.
    n_features_in_ : int
        The input dimension.
    """

    weights: NDArray[np.float64]
    bias: NDArray[np.float64]
    method: str
    n_features_in_: int

    def transform(self, X: NDArray[np.floating]) -> NDArray[np.float64]:
        """``X @ W + b``."""
        return np.asarray(X, dtype=np.float64) @ self.weights + self.bias


def load_linear_map(directory: str | os.PathLike[str]) -> LinearMap | None:
    """The map of a linear reducer saved by ``save_reducer``, read without building it.

    Returns None for a reducer that is not linear (or of a method this table does not
    know): load it with :func:`~embreduce.reducers.load_reducer`. The config and the arrays
    the map reads are checked as ``load_reducer`` checks them (names, shapes, finite).

    Examples
    --------
    >>> import numpy as np, tempfile
    >>> from embreduce.reducers import linear_map, make_reducer, save_reducer
    >>> X = np.random.default_rng(0).normal(size=(30, 6))
    >>> pca = make_reducer("pca", 2).fit(X)
    >>> folder = save_reducer(pca, tempfile.mkdtemp() + "/pca")
    >>> W, b = linear_map(pca)
    >>> found = load_linear_map(folder)
    >>> bool((found.weights == W).all() and (found.bias == b).all())
    True
    """
    from embreduce.reducers.persistence import check_array_shapes, read_reducer_arrays
    from embreduce.reducers.persistence import read_reducer_config as read_config

    directory = Path(directory)
    config = read_config(directory)
    method, params = config["method"], config["params"]
    if method not in _FOLDER_MAPS or not isinstance(params, dict):
        return None
    if params.get("hidden_layers"):  # an encoder with hidden layers is not linear
        return None
    d, k = int(config["n_features_in"]), int(config["n_components"])
    function, names = _FOLDER_MAPS[method]
    arrays = read_reducer_arrays(directory, config)
    shapes = {"components_": (k, d), "mean_": (d,)}
    if method == "pca" and params.get("whiten"):
        names = {**names, "explained_variance_": "explained_variance_"}
        shapes["explained_variance_"] = (k,)
    used = {name: arrays[saved] for name, saved in names.items() if saved in arrays}
    try:
        check_array_shapes(used, {name: shapes[name] for name in names}, what=method)
    except InputError as exc:
        raise InputError(f"{directory}: {exc}") from None
    state = {**params, **used, "n_features_in_": d, "n_components": k}
    W, b = function(state.__getitem__)
    if W.shape != (d, k):
        raise InputError(f"{directory}: the {method} map is {W.shape}, the config says {(d, k)}")
    return LinearMap(W, b, method, d)


def load_saved(directory: str | os.PathLike[str]) -> Any:
    """A saved reducer to apply: its :class:`LinearMap` when it is linear (no estimator, no
    scikit-learn), else the estimator :func:`~embreduce.reducers.load_reducer` builds."""
    from embreduce.reducers.persistence import load_reducer

    return load_linear_map(directory) or load_reducer(directory)


def linear_pair(reducer: Any) -> Linear | None:
    """``(W, b)`` of a :class:`LinearMap` or of a fitted estimator
    (:func:`~embreduce.reducers.linear_map`); None when the reducer is not linear."""
    if isinstance(reducer, LinearMap):
        return reducer.weights, reducer.bias
    from embreduce.reducers.make import linear_map

    return linear_map(reducer)
