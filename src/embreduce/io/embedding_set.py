"""The vectors read or written, with their texts, metadata and provenance."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from embreduce.exceptions import InputError

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class EmbeddingSet:
    """Vectors with what came with them.

    Attributes
    ----------
    vectors : ndarray of shape (n, d), float32
    texts : list of str or None
        One label per row, when known.
    metadata : pandas.DataFrame or None
        Other columns, one row per vector (ids, groups...).
    info : dict
        Provenance, e.g. ``{"model": "all-MiniLM-L6-v2", "backend": "sentence-transformers"}``.
    """

    vectors: NDArray[np.float32]
    texts: list[str] | None = None
    metadata: pd.DataFrame | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.vectors)
        if self.texts is not None and len(self.texts) != n:
            raise InputError(f"{len(self.texts)} texts for {n} vectors")
        if self.metadata is not None and len(self.metadata) != n:
            raise InputError(f"{len(self.metadata)} metadata rows for {n} vectors")

    def __len__(self) -> int:
        return len(self.vectors)

    @property
    def dim(self) -> int:
        """The number of dimensions of the vectors."""
        return int(self.vectors.shape[1])
