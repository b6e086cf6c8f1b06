"""The reducers embreduce knows, declared once each as a :class:`ReducerSpec`.

Adding a reducer means adding one spec here: its factory, display name, whether it can
transform and be saved, its fitted arrays and their shapes, its linear map and how it
exports.
"""

from __future__ import annotations

from typing import Any

from sklearn.decomposition import PCA, TruncatedSVD
from sklearn.random_projection import GaussianRandomProjection

from embreduce.choices import REDUCER_NAMES
from embreduce.exceptions import InputError
from embreduce.reducers.baselines import (
    PCAReducer,
    RandomProjection,
    TruncateReducer,
    UncentredSVD,
)
from embreduce.reducers.encoder import CosineSimilarityEncoder
from embreduce.reducers.linear import Linear, components_map, of_estimator, pca_map, truncate_map
from embreduce.reducers.spec import DenseStack, ReducerSpec, register


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
    # umap-learn (and numba) take seconds to import: only when a UMAP reducer is asked for
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


# ---------------------------------------------------------------------- linear maps


def _pca_linear(reducer: Any) -> Linear:
    return pca_map(of_estimator(reducer))


def _components_linear(reducer: Any) -> Linear:
    return components_map(of_estimator(reducer))


def _truncate_linear(reducer: Any) -> Linear:
    return truncate_map(of_estimator(reducer))


def _one_dense(linear: Any) -> Any:
    def dense(reducer: Any) -> DenseStack:
        W, b = linear(reducer)
        return DenseStack([(W.T, b, None)])

    return dense


def _mlp_dense(reducer: Any) -> DenseStack:
    last = len(reducer.weights_) - 1
    layers = [
        (w, b, None if i == last else reducer.activation)
        for i, (w, b) in enumerate(zip(reducer.weights_, reducer.biases_, strict=True))
    ]
    return DenseStack(layers, normalize_input=True)  # the MLP normalises its input


def _is_encoder(name: str) -> Any:
    return lambda r: isinstance(r, CosineSimilarityEncoder) and r._method_name == name


def _is_umap(reducer: Any) -> bool:
    # umap-learn takes seconds to import: its estimators are recognised by name
    return type(reducer).__module__.startswith("umap") or "UMAP" in type(reducer).__name__


def _is_tsne(reducer: Any) -> bool:
    return "TSNE" in type(reducer).__name__


_SVD_ARRAYS = {
    "components_": ("k", "d"),
    "explained_variance_": ("k",),
    "explained_variance_ratio_": ("k",),
    "singular_values_": ("k",),
}

SPECS = (
    ReducerSpec(
        "pca",
        _pca,
        REDUCER_NAMES["pca"],
        lambda r: isinstance(r, PCA),
        arrays={**_SVD_ARRAYS, "mean_": ("d",)},
        required_arrays=("components_", "mean_"),
        linear_map=_pca_linear,
        dense=_one_dense(_pca_linear),
    ),
    ReducerSpec(
        "svd",
        _svd,
        REDUCER_NAMES["svd"],
        lambda r: isinstance(r, TruncatedSVD),
        arrays=_SVD_ARRAYS,
        required_arrays=("components_",),
        linear_map=_components_linear,
        dense=_one_dense(_components_linear),
    ),
    ReducerSpec(
        "random",
        _random,
        REDUCER_NAMES["random"],
        lambda r: isinstance(r, GaussianRandomProjection),
        arrays={"components_": ("k", "d"), "inverse_components_": ("d", "k")},
        required_arrays=("components_",),
        linear_map=_components_linear,
        dense=_one_dense(_components_linear),
    ),
    ReducerSpec(
        "truncate",
        _truncate,
        REDUCER_NAMES["truncate"],
        lambda r: isinstance(r, TruncateReducer),
        arrays={},
        linear_map=_truncate_linear,
        dense=_one_dense(_truncate_linear),
    ),
    ReducerSpec("umap", _umap, REDUCER_NAMES["umap"], _is_umap, can_save=False, thread_safe=False),
    ReducerSpec(
        "tsne", _tsne, REDUCER_NAMES["tsne"], _is_tsne, can_transform=False, can_save=False
    ),
    ReducerSpec(
        "encoder",
        _encoder,
        REDUCER_NAMES["encoder"],
        _is_encoder("encoder"),
        linear_map=lambda r: _components_linear(r) if not r.hidden_layers else None,
        dense=_one_dense(_components_linear),
    ),
    ReducerSpec(
        "encoder-mlp",
        _encoder_mlp,
        REDUCER_NAMES["encoder-mlp"],
        _is_encoder("encoder-mlp"),
        dense=_mlp_dense,
    ),
)
"""Every reducer, in the order :func:`~embreduce.reducers.available_reducers` lists them."""

register(*SPECS)
