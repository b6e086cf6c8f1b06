"""UMAP (umap-learn) for maps and for new points.

Importing this module imports umap-learn (and numba), which takes seconds, so the registry
imports it only when a UMAP reducer is asked for.

umap-learn compiles its numba functions on the first fit of every process (about 15 s on
2 cores, even for 4 points) and does not cache them. Importing this module turns numba's
on-disk cache on for them, so only the first fit on a machine pays the compile.
"""

from __future__ import annotations

import warnings
from typing import Any

import umap
from numpy.typing import ArrayLike

from embreduce.reducers.baselines import _ChecksComponents


def enable_umap_cache() -> int:
    """Turn numba's on-disk cache on for umap-learn's compiled functions; return how many.

    The cache sits beside umap-learn's sources (``__pycache__``) or, where those are
    read-only, in numba's user cache folder (``NUMBA_CACHE_DIR`` to choose). A function
    that cannot be cached is left as it was: it compiles on first use, as without this.
    """
    import importlib

    from numba.core.dispatcher import Dispatcher

    cached = 0
    for name in ("umap_", "layouts", "utils", "distances", "spectral", "sparse"):
        try:
            module = importlib.import_module(f"umap.{name}")
        except ImportError:  # pragma: no cover - a umap-learn without the module
            continue
        for function in vars(module).values():
            if isinstance(function, Dispatcher) and function._cache.__class__.__name__ == (
                "NullCache"
            ):
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        function.enable_caching()
                    cached += 1
                except Exception:  # no cache locator: it compiles on first use, as before
                    continue
    return cached


enable_umap_cache()


class UMAPReducer(_ChecksComponents, umap.UMAP):
    """umap-learn's :class:`umap.UMAP` with a clear error for k > d.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(60, 8))
    >>> UMAPReducer(n_components=2, n_neighbors=5, random_state=0).fit_transform(X).shape
    (60, 2)
    """

    _method = "umap"

    # umap-learn's fit_transform calls ``self.fit(X, y, ensure_all_finite, **kwargs)``,
    # with the third argument by position: pass any such arguments on.
    def fit(self, X: ArrayLike, y: Any = None, *args: Any, **kwargs: Any) -> UMAPReducer:
        self._check_fit_input(X)
        return umap.UMAP.fit(self, X, y, *args, **kwargs)

    def fit_transform(self, X: ArrayLike, y: Any = None, *args: Any, **kwargs: Any) -> Any:
        self._check_fit_input(X)
        return umap.UMAP.fit_transform(self, X, y, *args, **kwargs)
