"""UMAP (umap-learn) for maps and for new points.

Importing this module imports umap-learn (and numba), which takes seconds, so the registry
imports it only when a UMAP reducer is asked for.
"""

from __future__ import annotations

from typing import Any

import umap
from numpy.typing import ArrayLike

from embreduce.reducers.baselines import _ChecksComponents


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
