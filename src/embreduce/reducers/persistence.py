"""Save and load fitted reducers as a folder: ``config.json`` plus ``model.safetensors``.

No pickle and no joblib: the config is JSON, the fitted arrays are safetensors, and loading
rebuilds the estimator from its parameters, then checks every array against the shapes the
config implies before using it.

Format (:mod:`embreduce.folders`, ``format_version`` 1)
-----------------------------------------------------
``config.json``::

    {"format_version": 1, "kind": "reducer", "embreduce_version": "0.1.0", "method": "pca",
     "params": {...get_params()...}, "n_features_in": 384, "n_components": 128,
     "fitted": {...JSON-able fitted attributes...},
     "arrays": {"components_": {"shape": [128, 384], "dtype": "float32"}, ...},
     "linear": true, "architecture": {...encoders only...}, "extra": {...caller's...}}

``model.safetensors`` holds the fitted arrays. For the baselines they are named after the
scikit-learn attributes (``components_``, ``mean_``...). For the encoders they are
``layers.{i}.weight`` of shape ``(out, in)`` and, for the MLP, ``layers.{i}.bias`` of shape
``(out,)``: the layout of torch ``Linear`` and of sentence-transformers ``Dense``. The MLP
applies ``architecture["activation"]`` after every layer but the last, and L2-normalises
its input first (``architecture["normalize_input"]``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from embreduce.exceptions import InputError
from embreduce.folders import (
    check_params,
    config_text,
    new_config,
    positive_int,
    read_arrays,
    read_config,
    write_arrays,
)
from embreduce.outputs import atomic_directory
from embreduce.reducers.spec import ReducerSpec, all_specs, get_spec, spec_of

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"


def method_of(reducer: Any) -> str:
    """Return the registry name of a reducer instance (``"pca"``, ``"encoder"``...)."""
    spec = spec_of(reducer)
    if spec is None:
        raise InputError(f"cannot save a {type(reducer).__name__}: not one of embreduce's reducers")
    return spec.name


def reducer_config(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``config.json`` of a saved reducer, or ``{}`` when it is missing or unreadable."""
    try:
        return json.loads((Path(directory) / CONFIG_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def save_reducer(
    reducer: Any,
    directory: str | Path,
    *,
    method: str | None = None,
    extra: dict | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a fitted reducer to ``directory`` as ``config.json`` + ``model.safetensors``.

    The folder is written beside its final place and renamed into it, so a reader never
    sees half a model.

    Parameters
    ----------
    reducer : estimator
        A fitted pca, svd, random, truncate, encoder or encoder-mlp reducer.
    directory : str or Path
        The folder to create. An existing folder must be empty, unless ``overwrite``.
    method : str, optional
        The registry name; inferred from the reducer's class when omitted.
    extra : dict, optional
        JSON-able information stored under ``"extra"`` (e.g. the embedding model's name).
    overwrite : bool
        Write into an existing folder, replacing ``config.json`` and ``model.safetensors``
        and leaving anything else it holds.

    Returns
    -------
    Path
        ``directory``.

    Raises
    ------
    InputError
        For UMAP and t-SNE (they cannot be saved without pickle), an unfitted reducer, or
        parameters/extra that are not JSON.

    Examples
    --------
    >>> import numpy as np, tempfile
    >>> from embreduce.reducers import make_reducer, load_reducer
    >>> X = np.random.default_rng(0).normal(size=(30, 6))
    >>> pca = make_reducer("pca", 2).fit(X)
    >>> back = load_reducer(save_reducer(pca, tempfile.mkdtemp() + "/pca"))
    >>> np.allclose(back.transform(X), pca.transform(X))
    True
    """
    from sklearn.utils.validation import check_is_fitted

    inferred = method_of(reducer)
    if method is not None and method != inferred:
        raise InputError(f"method='{method}' does not match the reducer, a '{inferred}'")
    spec = get_spec(inferred)
    if not spec.can_save:
        raise InputError(
            f"{inferred} reducers cannot be saved: their fitted state is only writable with "
            "pickle, which embreduce does not use; save the reduced vectors instead"
        )
    check_is_fitted(reducer)
    arrays, fitted = _get_state(reducer)
    # safetensors stores C order; remember Fortran-ordered arrays so that a loaded model
    # multiplies in the same memory layout and gives bit-identical results
    orders = {
        k: "F" if v.flags.f_contiguous and not v.flags.c_contiguous else "C"
        for k, v in arrays.items()
    }
    arrays = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    config: dict[str, Any] = new_config(
        "reducer",
        method=inferred,
        params=_jsonable_params(reducer.get_params(deep=False)),
    )
    config.update(
        {
            "n_features_in": int(reducer.n_features_in_),
            "n_components": int(output_dim(reducer)),
            "linear": spec.linear_map is not None,
            "fitted": fitted,
            "arrays": {
                k: {"shape": list(v.shape), "dtype": str(v.dtype), "order": orders[k]}
                for k, v in arrays.items()
            },
        }
    )
    if hasattr(reducer, "_config_extra"):
        config.update(reducer._config_extra())
    if extra is not None:
        config["extra"] = extra
    text = config_text(config)
    with atomic_directory(directory, overwrite=overwrite) as tmp:
        (tmp / CONFIG_NAME).write_text(text, encoding="utf-8")
        write_arrays(tmp / WEIGHTS_NAME, arrays, "embreduce")
    return Path(directory)


def load_reducer(directory: str | Path) -> Any:
    """Read a reducer written by :func:`save_reducer`, checking what it reads.

    Parameters
    ----------
    directory : str or Path
        A folder holding ``config.json`` and ``model.safetensors``.

    Returns
    -------
    estimator
        The fitted reducer, ready to ``transform``.

    Raises
    ------
    ModelNotFoundError
        The folder or one of its two files is missing or unreadable.
    InputError
        The config is incomplete, of an unknown format or method, or the arrays do not
        have the shapes it implies.

    Examples
    --------
    >>> load_reducer("no/such/folder")
    Traceback (most recent call last):
    ...
    embreduce.exceptions.ModelNotFoundError: no reducer saved at no/such/folder: ...
    """
    directory = Path(directory)
    config = read_reducer_config(directory)
    arrays = read_reducer_arrays(directory, config)
    method, d, k = config["method"], config["n_features_in"], config["n_components"]
    spec = next((s for s in all_specs() if s.name == method and s.can_save), None)
    if spec is None:
        raise InputError(f"{directory}: unknown method '{method}' in {CONFIG_NAME}")
    # JSON has no tuples: the saved tuples (hidden_layers) come back as lists
    params = {p: tuple(v) if isinstance(v, list) else v for p, v in config["params"].items()}
    check_params(params, spec.factory().get_params(), config, directory / CONFIG_NAME)
    try:
        reducer = spec.factory(**params)
        if hasattr(reducer, "_parameter_constraints"):  # __init__ only stores: check now
            reducer._validate_params()
    except (TypeError, ValueError) as exc:
        raise InputError(f"{directory}: bad params in {CONFIG_NAME}: {exc}") from None
    fitted = config.get("fitted", {})
    if not isinstance(fitted, dict):
        raise InputError(f"{directory}: 'fitted' in {CONFIG_NAME} must be an object")
    _set_state(reducer, spec, arrays, fitted, d, k, where=str(directory))
    if int(output_dim(reducer)) != k:
        raise InputError(
            f"{directory}: the reducer gives {output_dim(reducer)} dimensions, the config says {k}"
        )
    return reducer


def output_dim(reducer: Any) -> int:
    """The number of dimensions a fitted reducer outputs."""
    if hasattr(reducer, "n_components_"):
        return int(reducer.n_components_)
    if hasattr(reducer, "components_"):
        return int(reducer.components_.shape[0])
    return int(reducer.n_components)


# ---------------------------------------------------------------------- state in and out


def _get_state(reducer: Any) -> tuple[dict[str, NDArray], dict[str, Any]]:
    if hasattr(reducer, "_get_state"):
        return reducer._get_state()
    arrays: dict[str, NDArray] = {}
    fitted: dict[str, Any] = {}
    for key, value in vars(reducer).items():
        if not key.endswith("_") or key.startswith("_") or key == "n_features_in_":
            continue
        if isinstance(value, np.ndarray) and value.dtype.kind in "fiub":
            arrays[key] = value
        elif isinstance(value, np.ndarray) and value.dtype.kind in "OU":
            fitted[key] = [str(v) for v in value]
        elif value is None or isinstance(value, (bool, int, float, str, np.generic)):
            fitted[key] = value.item() if isinstance(value, np.generic) else value
        else:
            raise InputError(
                f"cannot save attribute {key} of type {type(value).__name__} without pickle"
            )
    return arrays, fitted


def _set_state(
    reducer: Any, spec: ReducerSpec, arrays: dict, fitted: dict, d: int, k: int, *, where: str
) -> None:
    try:
        if hasattr(reducer, "_set_state"):
            reducer._set_state(arrays, fitted, d)
            return
        check_array_shapes(arrays, spec.array_shapes(arrays, d, k), what=spec.name)
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None
    for key, value in fitted.items():
        if not key.endswith("_") or key.startswith("_"):
            raise InputError(f"{where}: unexpected fitted attribute '{key}' in {CONFIG_NAME}")
        if key == "feature_names_in_":
            value = np.asarray(value, dtype=object)
        setattr(reducer, key, value)
    for key, value in arrays.items():
        setattr(reducer, key, value)
    reducer.n_features_in_ = d


def check_array_shapes(
    arrays: dict[str, NDArray], expected: dict[str, tuple[int, ...]], *, what: str
) -> None:
    """Raise :class:`InputError` unless ``arrays`` has exactly the expected names and shapes."""
    missing = sorted(set(expected) - set(arrays))
    unexpected = sorted(set(arrays) - set(expected))
    if missing or unexpected:
        raise InputError(
            f"{what}: the weights file does not match its config "
            f"(missing: {missing or 'none'}; unexpected: {unexpected or 'none'})"
        )
    for name, shape in expected.items():
        got = tuple(arrays[name].shape)
        if got != tuple(shape):
            raise InputError(
                f"{what}: array '{name}' has shape {got}, the config implies {tuple(shape)}"
            )
        if not np.isfinite(arrays[name]).all():
            raise InputError(f"{what}: array '{name}' holds NaN or infinite values")


# ---------------------------------------------------------------------- reading files


def read_reducer_config(directory: Path) -> dict[str, Any]:
    """The checked ``config.json`` of a saved reducer (:class:`InputError` if it is not one)."""
    path = directory / CONFIG_NAME
    required = ("format_version", "method", "params", "n_features_in", "n_components")
    config = read_config(directory, CONFIG_NAME, what="reducer", required=required)
    for key in ("n_features_in", "n_components"):
        positive_int(config, key, path)
    return config


def read_reducer_arrays(directory: Path, config: dict[str, Any]) -> dict[str, NDArray]:
    """The arrays of a saved reducer's ``model.safetensors``, each in the memory order it
    was saved from (``config["arrays"]``), so that products with them give the same bits."""
    arrays = read_arrays(directory, WEIGHTS_NAME, what="reducer")
    manifest = config.get("arrays") if isinstance(config.get("arrays"), dict) else {}
    for name, info in manifest.items():
        if name in arrays and isinstance(info, dict) and info.get("order") == "F":
            arrays[name] = np.asfortranarray(arrays[name])
    return arrays


def _jsonable_params(params: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, np.random.RandomState):
            value = None  # only used while fitting; the fitted arrays carry its effect
        elif isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, np.generic):
            value = value.item()
        try:
            json.dumps(value)
        except TypeError:
            raise InputError(
                f"cannot save parameter {key}={value!r} as JSON; set it to a plain value"
            ) from None
        out[key] = value
    return out
