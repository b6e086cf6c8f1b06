"""t-SNE (scikit-learn) for maps: it embeds the points it is fitted on, and nothing else."""

from __future__ import annotations

from typing import Any

from numpy.typing import ArrayLike
from sklearn.manifold import TSNE

from embreduce.exceptions import InputError
from embreduce.reducers.baselines import _ChecksComponents
from embreduce.reducers.spec import NoTransformError

TSNE_NO_TRANSFORM = (
    "t-SNE has no transform for new points; use fit_transform, or umap/pca for new data"
)


class TSNEReducer(_ChecksComponents, TSNE):
    """scikit-learn's :class:`~sklearn.manifold.TSNE`, with clear errors.

    t-SNE embeds the points it is fitted on and nothing else: :meth:`transform` raises
    :class:`NoTransformError`. The default Barnes-Hut solver supports at most 3 output
    dimensions; pass ``method="exact"`` for more (slow, quadratic in the number of points).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(40, 8))
    >>> TSNEReducer(n_components=2, perplexity=5, random_state=0).fit_transform(X).shape
    (40, 2)
    """

    _method = "tsne"

    def _check_fit_input(self, X: Any) -> None:
        super()._check_fit_input(X)
        if self.method == "barnes_hut" and self.n_components > 3:
            raise InputError(
                f"tsne: the Barnes-Hut solver supports n_components 1 to 3, got "
                f"{self.n_components}; pass method='exact' (slow) for more dimensions"
            )
        n = len(X) if hasattr(X, "__len__") else None
        if n and self.perplexity >= n:
            raise InputError(
                f"tsne: perplexity={self.perplexity} must be less than the number of points ({n})"
            )

    def fit(self, X: ArrayLike, y: Any = None) -> TSNEReducer:
        self._check_fit_input(X)
        return TSNE.fit(self, X, y)

    def transform(self, X: ArrayLike) -> Any:
        """Raise :class:`NoTransformError`: t-SNE cannot place new points."""
        raise NoTransformError(TSNE_NO_TRANSFORM)
