"""Writers that stream vectors (or packed codes) to a file a chunk at a time, in order.

:func:`open_sink` picks the writer for a suffix. Parquet row groups hold
:data:`~embreduce.io.parquet.ROW_GROUP_ROWS` rows, as in :func:`~embreduce.io.save_vectors`.
"""

from __future__ import annotations

import os
import zipfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from numpy.typing import NDArray

from embreduce.io.columns import CODES_COLUMN
from embreduce.io.info import INFO_KEY, info_json
from embreduce.io.npz import npz_label_arrays
from embreduce.io.parquet import ROW_GROUP_ROWS, codes_to_arrow, vector_field, vectors_to_arrow
from embreduce.io.source import VectorSource


def open_sink(
    tmp: Path, suffix: str, source: VectorSource, width: int, dtype: str, info: dict[str, Any]
) -> ParquetSink | NpySink:
    """The writer of ``suffix`` for rows of ``width`` values of ``dtype`` (``uint8``: codes).

    ``source`` gives the row count, the vector column's name and place, and the labels.
    """
    if suffix == ".parquet":
        return ParquetSink(tmp, source, info, codes=dtype == "uint8")
    return NpySink(tmp, source.n_rows, width, dtype, info, npz=suffix == ".npz")


class ParquetSink:
    """Writes row groups of :data:`~embreduce.io.ROW_GROUP_ROWS` rows, in order."""

    random_access = False

    def __init__(self, tmp: Path, source: VectorSource, info: dict[str, Any], codes: bool) -> None:
        self.tmp, self.source, self.info, self.writer = tmp, source, info, None
        self.codes, self.pending, self.n_pending = codes, [], 0

    def write(self, vectors: NDArray[Any], labels: Any) -> None:
        self.pending.append(self._table(vectors, labels))
        self.n_pending += len(vectors)
        if self.n_pending >= ROW_GROUP_ROWS:
            self._flush(final=False)

    def _flush(self, *, final: bool) -> None:
        import pyarrow as pa

        table = pa.concat_tables(self.pending)
        whole = len(table) if final else len(table) - len(table) % ROW_GROUP_ROWS
        if whole:
            self._writer(table).write_table(
                table.slice(0, whole).replace_schema_metadata(self.writer.schema.metadata),
                row_group_size=ROW_GROUP_ROWS,
            )
        rest = table.slice(whole)
        self.pending, self.n_pending = ([rest] if len(rest) else []), len(rest)

    def _table(self, vectors: NDArray[Any], labels: Any) -> Any:
        import pyarrow as pa

        if self.codes:
            column, name = codes_to_arrow(vectors), CODES_COLUMN
            vfield = pa.field(name, column.type, nullable=False)
        else:
            column, name = vectors_to_arrow(vectors), self.source.vector_column
            vfield = vector_field(name, column)
        if labels is None:
            return pa.Table.from_arrays([column], schema=pa.schema([vfield]))
        index = self.source.vector_index
        index = labels.num_columns if index is None else min(index, labels.num_columns)
        return labels.add_column(index, vfield, column)

    def _writer(self, table: Any) -> Any:
        import pyarrow.parquet as pq

        if self.writer is None:
            meta = {**(table.schema.metadata or {}), INFO_KEY: info_json(self.info).encode()}
            meta.pop(b"pandas", None)
            schema = table.schema.with_metadata(meta)
            vectors = CODES_COLUMN if self.codes else self.source.vector_column
            others = [c for c in schema.names if c != vectors]
            # Dictionaries and min/max statistics only help the labels, not float vectors.
            self.writer = pq.ParquetWriter(
                self.tmp, schema, use_dictionary=others or False, write_statistics=others or False
            )
        return self.writer

    def close(self) -> None:
        if self.pending:
            self._flush(final=True)
        if self.writer is not None:
            self.writer.close()


class NpySink:
    """Writes the ``.npy`` header, then the rows as they come; ``.npz`` adds labels at the end."""

    def __init__(self, tmp: Path, n_rows: int, dim: int, dtype: str, info: dict, npz: bool):
        self.info, self.labels = info, []
        self._stack = ExitStack()
        fh: BinaryIO = self._stack.enter_context(open(tmp, "wb"))
        self.zip = None
        if npz:
            self.zip = self._stack.enter_context(zipfile.ZipFile(fh, "w"))
            member = f"{CODES_COLUMN if dtype == 'uint8' else 'vectors'}.npy"
            fh = self._stack.enter_context(self.zip.open(member, "w", force_zip64=True))
        header = {
            "descr": np.lib.format.dtype_to_descr(np.dtype(dtype)),
            "fortran_order": False,
            "shape": (n_rows, dim),
        }
        np.lib.format.write_array_header_1_0(fh, header)
        self.fh = fh
        self.random_access = npz is False
        if self.random_access:
            fh.flush()
            self._data_offset = fh.tell()
            self._row_bytes = dim * np.dtype(dtype).itemsize

    def write(self, vectors: NDArray[Any], labels: Any) -> None:
        self.fh.write(np.ascontiguousarray(vectors).data)
        if self.zip is not None and labels is not None:
            self.labels.append(labels)

    def write_rows(self, start: int, vectors: NDArray[Any]) -> None:
        """Write rows ``start`` onwards in place, from any thread (``.npy`` only)."""
        view = memoryview(np.ascontiguousarray(vectors)).cast("B")
        offset = self._data_offset + start * self._row_bytes
        while view:
            n = os.pwrite(self.fh.fileno(), view, offset)
            view, offset = view[n:], offset + n

    def close(self) -> None:
        """Finish the file; on a failure (a full disk) still close the archive and the file,
        so nothing is left for the garbage collector to write into later."""
        try:
            self.fh.close()
            if self.zip is not None:
                for name, array in npz_label_arrays(self.labels, self.info).items():
                    with self.zip.open(f"{name}.npy", "w", force_zip64=True) as member:
                        np.lib.format.write_array(member, array, allow_pickle=False)
        finally:
            self._stack.close()
