"""Parquet files: a fixed-size-list vector column (or packed codes), labels and ``info``."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from embreduce.exceptions import InputError, first_line
from embreduce.io.columns import CODES_COLUMN, TEXT_COLUMN, VECTOR_COLUMN
from embreduce.io.embedding_set import EmbeddingSet
from embreduce.io.info import INFO_KEY, check_not_codes, info_json, parquet_info
from embreduce.io.source import VectorSource

ROW_GROUP_ROWS = 65_536
"""Rows per Parquet row group in the files embreduce writes."""


def save_parquet(tmp: Path, data: EmbeddingSet) -> None:
    """Write ``data`` to ``tmp`` as Parquet (see :func:`~embreduce.io.save_vectors`)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns: dict[str, pa.Array] = {}
    if data.texts is not None:
        columns[TEXT_COLUMN] = pa.array(data.texts, type=pa.string())
    if data.metadata is not None:
        for col in data.metadata.columns:
            if col in (TEXT_COLUMN, VECTOR_COLUMN):
                raise InputError(f"metadata column '{col}' clashes with a reserved column name")
            columns[str(col)] = pa.array(data.metadata[col].to_numpy(), from_pandas=True)
    columns[VECTOR_COLUMN] = vectors_to_arrow(data.vectors)
    schema = pa.schema(
        [
            vector_field(n, c) if n == VECTOR_COLUMN else pa.field(n, c.type)
            for n, c in columns.items()
        ]
    )
    table = pa.Table.from_arrays(list(columns.values()), schema=schema)
    meta = {INFO_KEY: info_json(data.info).encode()}
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), **meta})
    # Dictionary pages and min/max statistics only help the labels; on float vectors they
    # cost time and space.
    labels = [name for name in table.column_names if name != VECTOR_COLUMN]
    # Row groups of 65,536 rows let readers (compress) decode several at once, a piece at a time.
    pq.write_table(
        table,
        tmp,
        row_group_size=ROW_GROUP_ROWS,
        use_dictionary=labels or False,
        write_statistics=labels or False,
    )


def vectors_to_arrow(vectors: NDArray[np.floating]) -> Any:
    """Wrap an (n, d) array as a pyarrow fixed-size-list array without copying rows.

    The list items are declared non-null (a vector never has a missing value), and
    :func:`vector_field` declares the column non-null too: Parquet then stores no
    definition levels for them, which makes the file about a third faster to read and write.
    """
    import pyarrow as pa

    vectors = np.ascontiguousarray(vectors)
    flat = pa.array(vectors.reshape(-1))
    item = pa.field("item", flat.type, nullable=False)
    return pa.FixedSizeListArray.from_arrays(flat, type=pa.list_(item, vectors.shape[1]))


def vector_field(name: str, column: Any) -> Any:
    """The non-null schema field of a vector column made by :func:`vectors_to_arrow`."""
    import pyarrow as pa

    return pa.field(name, column.type, nullable=False)


def arrow_to_vectors(column: Any) -> NDArray[np.float32]:
    """Turn a pyarrow (fixed-size) list column into an (n, d) float32 array."""
    import pyarrow as pa

    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    n = len(column)
    if n == 0:
        return np.zeros((0, 0), dtype=np.float32)
    if column.null_count:
        raise InputError(f"the vector column has {column.null_count} missing value(s)")
    if pa.types.is_fixed_size_list(column.type):
        d = column.type.list_size
    else:
        lengths = np.asarray(column.value_lengths())
        if (lengths != lengths[0]).any():
            row = int(np.flatnonzero(lengths != lengths[0])[0])
            raise InputError(
                f"vectors have different lengths: row 0 has {lengths[0]}, row {row} has "
                f"{lengths[row]}"
            )
        d = int(lengths[0])
    values = column.flatten().to_numpy(zero_copy_only=False)
    return np.asarray(values, dtype=np.float32).reshape(n, d)


def codes_to_arrow(codes: NDArray[np.uint8]) -> Any:
    """Packed codes as an Arrow fixed-size binary array, one value of bytes a vector."""
    import pyarrow as pa

    codes = np.ascontiguousarray(codes, dtype=np.uint8)
    return pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(codes.shape[1]), len(codes), [None, pa.py_buffer(codes.tobytes())]
    )


def read_parquet_table(path: Path) -> Any:
    """A whole Parquet file as a pyarrow Table, or a one-line :class:`InputError`."""
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise InputError(f"{path.name}: not a readable Parquet file ({first_line(exc)})") from None


def read_parquet_schema(path: Path) -> Any:
    """The schema of a Parquet file, or a one-line :class:`InputError` for a broken one."""
    import pyarrow.parquet as pq

    try:
        return pq.read_schema(path)
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise InputError(f"{path.name}: not a readable Parquet file ({first_line(exc)})") from None


def _is_number_list(dtype: Any) -> bool:
    import pyarrow as pa

    is_list = pa.types.is_fixed_size_list(dtype) or pa.types.is_list(dtype)
    if not (is_list or pa.types.is_large_list(dtype)):
        return False
    value = dtype.value_type
    return pa.types.is_integer(value) or pa.types.is_floating(value)


def find_vector_column(schema: Any, vector_column: str | None = None) -> str | None:
    """Name the list-of-numbers column that holds vectors in a Parquet/Arrow schema, if any.

    Raises :class:`InputError` when ``vector_column`` is missing or holds no vectors.
    """
    if vector_column is not None:
        if vector_column not in schema.names:
            raise InputError(
                f"no vector column '{vector_column}'; columns are: {', '.join(schema.names)}"
            )
        field = schema.field(vector_column)
        if not _is_number_list(field.type):
            raise InputError(
                f"column '{vector_column}' holds {field.type}, not lists of numbers (vectors)"
            )
        return vector_column
    lists = [f.name for f in schema if _is_number_list(f.type)]
    if VECTOR_COLUMN in lists:
        return VECTOR_COLUMN
    return lists[0] if lists else None


def check_parquet_not_codes(path: Path, schema: Any, vector_column: str | None = None) -> None:
    """Refuse a Parquet file of packed codes (a fixed-size binary ``codes`` column and no
    vector column), what ``compress --bits`` writes: it holds no vectors to read."""
    import pyarrow as pa

    codes = CODES_COLUMN in schema.names and pa.types.is_fixed_size_binary(
        schema.field(CODES_COLUMN).type
    )
    if codes and find_vector_column(schema, vector_column) is None:
        check_not_codes(path.name, parquet_info(schema), True)


def load_parquet(path: Path, text_column: str | None, vector_column: str | None) -> EmbeddingSet:
    """Read a whole Parquet file of vectors: a list column, or all-numeric columns."""
    from embreduce.io.tables import split_labels, split_numeric_frame  # pandas: when needed

    table = read_parquet_table(path)
    check_parquet_not_codes(path, table.schema, vector_column)
    if table.num_rows == 0:
        raise InputError(f"{path.name}: the table has no rows")
    info = parquet_info(table.schema)
    vcol = find_vector_column(table.schema, vector_column)
    if vcol is None:
        return split_numeric_frame(table.to_pandas(), path.name, text_column, info)
    vectors = arrow_to_vectors(table.column(vcol))
    rest = table.drop_columns([vcol]).to_pandas()
    texts, metadata = split_labels(rest, text_column, path.name)
    return EmbeddingSet(vectors, texts, metadata, info)


MAX_SPAN_CHUNKS = 8
"""Row groups of up to this many chunks are decoded on the worker threads, side by side."""


@dataclass
class ParquetSource(VectorSource):
    """A Parquet file read in batches; row groups can be decoded side by side."""

    group_rows: list[int] = field(default_factory=list)  # rows per row group
    _group_at: dict[int, int] = field(default_factory=dict, repr=False)
    _local: threading.local = field(default_factory=threading.local, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _files: list[Any] = field(default_factory=list, repr=False)

    def chunks(self, chunk_rows: int) -> Iterator[tuple[NDArray[Any], Any]]:
        import pyarrow.parquet as pq

        # Without pre-buffering, pyarrow reads a column chunk a few MiB at a time instead of
        # whole (a row group of embed's output can hold a million rows).
        with pq.ParquetFile(self.path, pre_buffer=False, buffer_size=1 << 22) as pf:
            for batch in pf.iter_batches(batch_size=chunk_rows):
                yield self._split(batch)

    def _split(self, batch: Any) -> tuple[NDArray[Any], Any]:
        """A record batch as ``(vectors, the other columns)``."""
        import pyarrow as pa

        table = pa.Table.from_batches([batch])
        vectors = arrow_to_vectors(table.column(self.vector_column))
        return vectors, table.drop_columns([self.vector_column])

    def spans(self, chunk_rows: int) -> list[tuple[int, int]] | None:
        # Row groups are the units Parquet can decode apart: the worker threads decode them
        # side by side when there are several and none is much larger than a chunk (a task's
        # compressed rows wait in memory until the writer takes them).
        if len(self.group_rows) < 2 or max(self.group_rows) > MAX_SPAN_CHUNKS * chunk_rows:
            return None
        starts = np.concatenate([[0], np.cumsum(self.group_rows)[:-1]])
        self._group_at = {int(s): i for i, s in enumerate(starts)}
        return [(int(s), int(m)) for s, m in zip(starts, self.group_rows, strict=True)]

    def read_span(
        self, start: int, rows: int, chunk_rows: int
    ) -> Iterator[tuple[NDArray[Any], Any]]:
        import pyarrow.parquet as pq

        pf = getattr(self._local, "file", None)
        if pf is None:  # one reader per thread: a ParquetFile is not safe to share
            pf = self._local.file = pq.ParquetFile(self.path, pre_buffer=False, buffer_size=1 << 22)
            with self._lock:
                self._files.append(pf)
        group = [self._group_at[start]]
        for batch in pf.iter_batches(batch_size=chunk_rows, row_groups=group):
            yield self._split(batch)

    def label_names(self) -> list[str]:
        return [n for n in read_parquet_schema(self.path).names if n != self.vector_column]

    def close(self) -> None:
        with self._lock:
            for pf in self._files:
                pf.close()
            self._files.clear()
        self._local = threading.local()


def open_parquet(path: Path, vector_column: str | None) -> VectorSource:
    """Open a Parquet file for chunked reading, checking its vector column and rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = read_parquet_schema(path)
    check_parquet_not_codes(path, schema, vector_column)
    metadata = pq.read_metadata(path)
    n_rows = metadata.num_rows
    vcol = find_vector_column(schema, vector_column)
    if vcol is None:
        columns = ", ".join(f"{f.name} ({f.type})" for f in schema)
        raise InputError(f"{path.name}: no list column of vectors found; columns are: {columns}")
    if n_rows == 0:
        raise InputError(f"{path.name}: the table has no rows")
    vtype = schema.field(vcol).type
    if pa.types.is_fixed_size_list(vtype):
        dim = vtype.list_size
    else:  # variable-length lists: look at the first row
        with pq.ParquetFile(path) as pf:
            first = next(pf.iter_batches(batch_size=1, columns=[vcol]))
        dim = len(first.column(0)[0])
    index = schema.names.index(vcol)
    groups = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
    return ParquetSource(path, n_rows, dim, parquet_info(schema), vcol, index, groups)
