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

The names below are imported on first use (PEP 562): ``embreduce compress`` reads a linear
model's map (:func:`load_linear_map`) without importing scikit-learn, which the estimators
need.
"""

from __future__ import annotations

from embreduce.lazy import lazy_exports

_WHERE = {
    "CosineSimilarityEncoder": "embreduce.reducers.encoder",
    "LinearMap": "embreduce.reducers.linear",
    "NoTransformError": "embreduce.reducers.spec",
    "PCAReducer": "embreduce.reducers.baselines",
    "REDUCERS": "embreduce.reducers.make",
    "RandomProjection": "embreduce.reducers.baselines",
    "ReducerSpec": "embreduce.reducers.spec",
    "SPECS": "embreduce.reducers.registry",
    "TruncateReducer": "embreduce.reducers.baselines",
    "UncentredSVD": "embreduce.reducers.baselines",
    "available_reducers": "embreduce.reducers.make",
    "check_n_components": "embreduce.reducers.baselines",
    "get_spec": "embreduce.reducers.spec",
    "linear_map": "embreduce.reducers.make",
    "linear_pair": "embreduce.reducers.linear",
    "load_linear_map": "embreduce.reducers.linear",
    "load_saved": "embreduce.reducers.linear",
    "load_reducer": "embreduce.reducers.persistence",
    "make_reducer": "embreduce.reducers.make",
    "save_reducer": "embreduce.reducers.persistence",
    "supports_transform": "embreduce.reducers.make",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _WHERE)
