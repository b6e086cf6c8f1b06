"""What the package knows about each reducer, declared once: :class:`ReducerSpec`.

The specs themselves are declared in :mod:`embreduce.reducers.registry`; this module holds
the record type and the table they are registered in, so that persistence and the
encoder can look a reducer up without importing the modules that define the reducers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from embreduce.exceptions import EmbreduceError, InputError

__all__ = [
    "DenseStack",
    "NoTransformError",
    "ReducerSpec",
    "all_specs",
    "get_spec",
    "register",
    "spec_of",
]


class NoTransformError(EmbreduceError, NotImplementedError):
    """The reducer cannot map new points after fitting (t-SNE)."""


@dataclass(frozen=True)
class DenseStack:
    """A reducer as dense layers: ``layers`` of ``(weight (out, in), bias or None, act)``.

    ``activation`` names a torch activation (``"relu"``...) or is None; ``normalize_input``
    says the reducer scales its input to unit length first.
    """

    layers: list[tuple[NDArray[Any], NDArray[Any] | None, str | None]]
    normalize_input: bool = False


@dataclass(frozen=True)
class ReducerSpec:
    """One reducer, declared once.

    Attributes
    ----------
    name : str
        The registry name (``"pca"``).
    factory : callable
        ``(n_components, *, random_state, **params) -> unfitted estimator``.
    display_name : str
        The name reports show (``"PCA"``).
    matches : callable
        ``reducer -> bool``: whether an estimator instance is this reducer.
    can_transform : bool
        Whether it maps new points after fitting (False for t-SNE).
    can_save : bool
        Whether its fitted state can be saved without pickle.
    arrays : dict or None
        The fitted arrays a saved model may hold, as shapes in ``"d"`` (input dimension)
        and ``"k"`` (output dimension); None when the reducer checks its own state
        (``_set_state``, the encoders).
    required_arrays : tuple of str
        The names in ``arrays`` a saved model must hold.
    linear_map : callable or None
        ``fitted reducer -> (W, b) or None``; None for a reducer that is never linear.
    dense : callable or None
        ``fitted reducer -> DenseStack``: how it exports as sentence-transformers
        ``Dense`` layers; None when it cannot be exported.
    thread_safe : bool
        Whether two of its fits may run at once on threads of one process (a study runs
        its cells side by side). False for UMAP: umap-learn's numba kernels, under numba's
        fallback threading layer (``workqueue``, where OpenMP and TBB are missing), abort
        the process when two threads launch them at once.
    """

    name: str
    factory: Callable[..., Any]
    display_name: str
    matches: Callable[[Any], bool]
    can_transform: bool = True
    can_save: bool = True
    arrays: dict[str, tuple[str, ...]] | None = None
    required_arrays: tuple[str, ...] = ()
    linear_map: Callable[[Any], tuple[NDArray[np.float64], NDArray[np.float64]] | None] | None = (
        None
    )
    dense: Callable[[Any], DenseStack] | None = None
    thread_safe: bool = True

    def array_shapes(self, present: Any, d: int, k: int) -> dict[str, tuple[int, ...]]:
        """The expected shape of each array a saved model holds, given those ``present``."""
        sizes = {"d": d, "k": k}
        names = [n for n in self.arrays or {} if n in present or n in self.required_arrays]
        return {n: tuple(sizes[s] for s in self.arrays[n]) for n in names}  # type: ignore[index]


_REGISTRY: dict[str, ReducerSpec] = {}


def register(*specs: ReducerSpec) -> None:
    """Add reducers (or codecs) to the registry, in order; a name may be registered once."""
    for spec in specs:
        if spec.name in _REGISTRY:
            raise ValueError(f"a reducer named {spec.name!r} is already registered")
        _REGISTRY[spec.name] = spec


def _registry() -> dict[str, ReducerSpec]:
    if not _REGISTRY:  # the package imports its modules on first use: declare the specs
        import embreduce.reducers.registry  # noqa: F401
    return _REGISTRY


def all_specs() -> list[ReducerSpec]:
    """Every registered spec, in registration order."""
    return list(_registry().values())


def get_spec(name: str) -> ReducerSpec:
    """The spec named ``name``; :class:`InputError` listing the names when there is none."""
    registry = _registry()
    if name not in registry:
        raise InputError(f"unknown reducer {name!r}; choose one of: {', '.join(registry)}")
    return registry[name]


def spec_of(reducer: Any) -> ReducerSpec | None:
    """The spec of an estimator instance, or None when it is none of the registered ones."""
    for spec in _registry().values():
        if spec.matches(reducer):
            return spec
    return None
