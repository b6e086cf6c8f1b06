"""Vector files opened for reading a chunk at a time (the base of every format's source)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from numpy.typing import NDArray

from embreduce.io.columns import TEXT_COLUMN, VECTOR_COLUMN
from embreduce.validation import check_vectors


@dataclass
class VectorSource:
    """A vector file opened for chunked reading."""

    path: Path
    n_rows: int
    dim: int
    info: dict[str, Any] = field(default_factory=dict)
    vector_column: str = VECTOR_COLUMN
    vector_index: int | None = None  # position of the vector column among the labels

    def chunks(self, chunk_rows: int) -> Iterator[tuple[NDArray[Any], Any]]:
        """Yield ``(vectors, labels)``: an (m, d) array and a pyarrow Table or None."""
        raise NotImplementedError

    def spans(self, chunk_rows: int) -> list[tuple[int, int]] | None:
        """``(start, rows)`` pieces that :meth:`read_span` reads independently, from any
        thread; None when the file can only be read in order, through :meth:`chunks`."""
        return None

    def read_span(
        self, start: int, rows: int, chunk_rows: int
    ) -> Iterator[tuple[NDArray[Any], Any]]:
        """Yield ``(vectors, labels)`` chunks of one piece given by :meth:`spans`."""
        raise NotImplementedError

    def label_names(self) -> list[str]:
        """The columns that pass through beside the vectors (texts, ids, metadata)."""
        labels = getattr(self, "labels", None)
        return [] if labels is None else list(labels.column_names)

    def close(self) -> None:
        """Release what :meth:`read_span` opened."""


@dataclass
class ArraySource(VectorSource):
    """Vectors already in memory (CSV/TSV, Fortran-ordered ``.npy``), served in chunks."""

    vectors: Any = None
    labels: Any = None

    def chunks(self, chunk_rows: int) -> Iterator[tuple[NDArray[Any], Any]]:
        for start in range(0, self.n_rows, chunk_rows):
            labels = None if self.labels is None else self.labels.slice(start, chunk_rows)
            yield self.vectors[start : start + chunk_rows], labels


def in_memory_source(path: Path, data: Any) -> VectorSource:
    """A source over an :class:`EmbeddingSet` read whole, its vectors checked."""
    import pyarrow as pa

    columns: dict[str, Any] = {}
    if data.texts is not None:
        columns[TEXT_COLUMN] = pa.array(data.texts, type=pa.string())
    if data.metadata is not None:
        table = pa.Table.from_pandas(data.metadata, preserve_index=False)
        columns.update(zip(table.column_names, table.columns, strict=True))
    vectors = check_vectors(data.vectors, name=path.name)
    n, d = vectors.shape
    labels = pa.table(columns) if columns else None
    return ArraySource(path, n, d, dict(data.info), vectors=vectors, labels=labels)
