"""Apply a saved reducer to a vector store, chunk by chunk, in flat memory.

:func:`compress` reads Parquet a batch at a time and ``.npy``/``.npz`` through plain file
reads of the array's bytes (so neither the input nor the output is ever whole in memory),
reduces each chunk with :class:`Compressor` and streams the result to a temporary file
that replaces the output only when every row is done. Ids, texts and metadata columns pass
through unchanged.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import json
import os
import queue
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from numpy.typing import NDArray

from embreduce.codecs import load_model_codec
from embreduce.exceptions import InputError, ModelNotFoundError, ParameterError
from embreduce.io import (
    ROW_GROUP_ROWS,
    TEXT_COLUMN,
    VECTOR_COLUMN,
    VECTOR_SUFFIXES,
    arrow_to_vectors,
    atomic_write,
    find_vector_column,
    load_vectors,
    npz_labels,
    parquet_info,
    read_parquet_schema,
    vector_field,
    vectors_to_arrow,
)
from embreduce.outputs import check_output_file
from embreduce.progress import progress_bar
from embreduce.reducers.persistence import reducer_config
from embreduce.validation import bad_row_message, check_real_dtype

DTYPES = ("float32", "float16")
"""Output types :func:`compress` can write."""

CHUNK_BYTES = 24 << 20
"""Input bytes per chunk (as float32) when ``chunk_rows`` is not given: 16,384 rows of 384-d
vectors, 3,072 of 2048-d; large enough for BLAS, small enough for flat memory."""


def default_chunk_rows(dim: int) -> int:
    """Rows per chunk for ``dim``-dimensional vectors: :data:`CHUNK_BYTES` of float32."""
    return max(256, CHUNK_BYTES // (4 * max(1, dim)))


_INFO_KEY = b"embreduce"


# --------------------------------------------------------------------------- the transform


class Compressor:
    """A fitted reducer made ready to compress chunks of vectors.

    Linear reducers (PCA, SVD, random projection, truncation, the linear encoder) become one
    float32 matrix product plus a bias, ``X @ W + b``; others call ``reducer.transform``.

    Parameters
    ----------
    reducer : estimator
        A fitted reducer, e.g. from :func:`embreduce.reducers.load_reducer`.
    method : str, optional
        The reducer's name, for messages and provenance.
    dtype : {"float32", "float16"}
        The type of the compressed vectors.
    normalize : bool
        Scale each compressed vector to unit length (all-zero rows stay zero).
    codec : QuantizationCodec, optional
        A codec fitted on the reducer's output (``embreduce study`` saves them beside each
        model): :meth:`transform` then gives packed ``uint8`` codes, one row of
        ``codec.bytes_per_vector()`` bytes a vector.

    Attributes
    ----------
    n_features_in : int
        The input dimension the reducer was fitted on.
    n_components : int
        The output dimension.
    weights, bias : ndarray or None
        The linear map ``(W, b)``, or None for a nonlinear reducer.

    Examples
    --------
    >>> import numpy as np
    >>> from embreduce.reducers import make_reducer
    >>> X = np.random.default_rng(0).normal(size=(50, 8)).astype(np.float32)
    >>> Compressor(make_reducer("pca", 3).fit(X)).transform(X).shape
    (50, 3)
    """

    def __init__(
        self,
        reducer: Any,
        *,
        method: str | None = None,
        dtype: str = "float32",
        normalize: bool = False,
        codec: Any = None,
    ) -> None:
        from embreduce.reducers import linear_map

        if dtype not in DTYPES:
            raise ParameterError(f"unknown dtype '{dtype}': use one of {', '.join(DTYPES)}")
        if codec is not None and (normalize or dtype != "float32"):
            raise ParameterError(
                "bits: codes are calibrated on the reducer's float32 output; they take no "
                "normalize or dtype (decode the codes, then normalize)"
            )
        self.method = method or type(reducer).__name__
        self.dtype = dtype
        self.normalize = normalize
        self.codec = codec
        n_in = getattr(reducer, "n_features_in_", None)
        if n_in is None:
            raise InputError(f"the {self.method} reducer is not fitted")
        self.n_features_in = int(n_in)
        pair = linear_map(reducer)
        if pair is not None:
            W, b = pair
            self.weights: NDArray[np.float32] | None = np.ascontiguousarray(W, dtype=np.float32)
            self.bias: NDArray[np.float32] | None = np.asarray(b, dtype=np.float32).reshape(-1)
            self.reducer = None  # the map is all a worker needs
            self.n_components = int(self.weights.shape[1])
        else:
            self.weights = self.bias = None
            self.reducer = reducer
            probe = np.asarray(reducer.transform(np.zeros((1, self.n_features_in), np.float32)))
            self.n_components = int(probe.shape[1])
        if codec is not None and not hasattr(codec, "n_features_in_") and codec.bits == 16:
            codec.fit(np.ones((1, self.n_components), np.float32))  # no calibration at 16 bits
        if codec is not None and codec.n_features_in_ != self.n_components:
            raise InputError(
                f"the codec codes {codec.n_features_in_}-d vectors, the {self.method} reducer "
                f"gives {self.n_components}"
            )

    @classmethod
    def load(
        cls,
        directory: str | os.PathLike[str],
        *,
        dtype: str = "float32",
        normalize: bool = False,
        bits: int | None = None,
    ) -> Compressor:
        """Load a reducer saved by ``save_reducer`` (``embreduce study`` saves them).

        ``bits`` (32, 16, 8, 4, 2 or 1) picks the codec saved beside the reducer
        (``codec-<bits>bit/``; 32 means plain float32 vectors); without it, the precision
        saved with the model (``codec.json``, which ``embreduce study`` writes for its
        recommendation) is used, else float32; with ``normalize`` or ``dtype="float16"``
        the output is vectors, not codes.
        """
        from embreduce.reducers import load_reducer

        directory = Path(directory)
        if not directory.is_dir():
            raise ModelNotFoundError(f"reducer '{directory}': no such folder")
        reducer = load_reducer(directory)
        codec = load_model_codec(directory, bits)
        if bits is None and (normalize or dtype != "float32"):
            codec = None  # asked for vectors: the saved default precision does not apply
        return cls(
            reducer,
            method=reducer_config(directory).get("method"),
            dtype=dtype,
            normalize=normalize,
            codec=codec,
        )

    @property
    def output_width(self) -> int:
        """Columns of the output: dims, or bytes a vector with a codec."""
        return self.n_components if self.codec is None else self.codec.bytes_per_vector()

    @property
    def output_dtype(self) -> str:
        """``uint8`` for codes, else :attr:`dtype`."""
        return self.dtype if self.codec is None else "uint8"

    def encode(self, X: NDArray[np.floating]) -> NDArray[np.uint8]:
        """Reduce and encode ``X``: packed codes, one row of bytes a vector."""
        if self.codec is None:
            raise ParameterError(
                "this Compressor has no codec: load it with bits= (a codec the study saved)"
            )
        return self.transform(X)

    def decode(self, codes: NDArray[np.uint8]) -> NDArray[np.float32]:
        """The float32 vectors ``(n, n_components)`` that codes stand for."""
        if self.codec is None:
            raise ParameterError("this Compressor has no codec: there are no codes to decode")
        return self.codec.decode(codes)

    @property
    def is_linear(self) -> bool:
        """True when compressing is one matrix product plus a bias."""
        return self.weights is not None

    def check_dim(self, dim: int, source: str) -> None:
        """Raise :class:`InputError` unless ``dim`` is the reducer's input dimension."""
        if dim != self.n_features_in:
            raise InputError(
                f"{source}: the vectors have {dim} dims, but the {self.method} reducer "
                f"expects {self.n_features_in}"
            )

    def transform(
        self,
        X: NDArray[np.floating],
        *,
        offset: int = 0,
        out: NDArray[np.float32] | None = None,
    ) -> NDArray[np.floating]:
        """Compress one chunk of rows; ``offset`` is its first row's number in the input.

        ``out``, a float32 array of at least ``len(X)`` rows, receives the product of a
        linear reducer (the result may be a view of it), so a loop can reuse one buffer.

        Raises
        ------
        InputError
            A row with NaN or infinite values, named by its row number in the whole input.
        """
        original = np.asarray(X)
        if original.ndim != 2:
            raise InputError(f"expected a 2-D array (rows x dims), got shape {original.shape}")
        self.check_dim(original.shape[1], "vectors")
        X = np.ascontiguousarray(original, dtype=np.float32)
        _check_finite(X, offset, original)
        if self.weights is not None:
            out = np.matmul(X, self.weights, out=None if out is None else out[: len(X)])
            out += self.bias
        else:
            out = np.asarray(self.reducer.transform(X), dtype=np.float32)
        if self.normalize:
            _normalize_rows(out)
        if self.dtype != "float32":
            out = out.astype(self.dtype)
        _check_finite(out, offset, None, what=f"its compressed {self.dtype} vector")
        if self.codec is not None:
            return self.codec.encode(out)
        return out

    def describe(self) -> dict[str, Any]:
        """Provenance written with the compressed vectors."""
        return {
            "method": self.method,
            "n_features_in": self.n_features_in,
            "n_components": self.n_components,
            "dtype": self.dtype,
            "normalized": self.normalize,
            **({} if self.codec is None else {"codec": self.codec.describe()}),
        }


def _check_finite(
    X: NDArray[np.floating],
    offset: int,
    original: NDArray[Any] | None,
    what: str | None = None,
) -> None:
    """Raise :class:`InputError` naming the first row of ``X`` that is not finite.

    ``original`` is the chunk as read (its values may be finite and still overflow
    float32); ``what`` names the checked vector when it is not the input's.
    """
    # One sum is much cheaper than isfinite over every value, and NaN/inf always reach it;
    # a sum that overflows sends us to the exact check, which then finds nothing.
    if np.isfinite(X.sum(dtype=X.dtype)):
        return
    bad = np.flatnonzero(~np.isfinite(X).all(axis=1))
    if not len(bad):
        return
    row = int(bad[0])
    if what is not None:
        raise InputError(f"row {offset + row}: {what} overflows (values too large)")
    message = bad_row_message(original, row)
    raise InputError(message.replace(f"row {row}", f"row {offset + row}", 1))


def _normalize_rows(out: NDArray[np.float32]) -> None:
    """Scale each row to unit length in place; all-zero rows stay zero.

    The squared norms are summed in float64, so rows of large values (1e20 and up) do not
    overflow to an infinite norm and come out as zeros.
    """
    squares = np.einsum("ij,ij->i", out, out, dtype=np.float64)
    with np.errstate(divide="ignore"):
        scale = np.where(squares > 0, 1.0 / np.sqrt(squares), 0.0)
    np.multiply(out, scale[:, None], out=out, casting="same_kind")


# --------------------------------------------------------------------------- reading


@dataclass
class _Source:
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

    def close(self) -> None:
        """Release what :meth:`read_span` opened."""


_MAX_SPAN_CHUNKS = 8
"""Row groups of up to this many chunks are decoded on the worker threads, side by side."""


@dataclass
class _ParquetSource(_Source):
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
        if len(self.group_rows) < 2 or max(self.group_rows) > _MAX_SPAN_CHUNKS * chunk_rows:
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

    def close(self) -> None:
        with self._lock:
            for pf in self._files:
                pf.close()
            self._files.clear()
        self._local = threading.local()


@dataclass
class _NpySource(_Source):
    member: str | None = None  # the array's name inside an .npz
    dtype: Any = np.float32
    labels: Any = None  # texts and metadata of an .npz, as a pyarrow Table
    data_offset: int = 0  # where the rows start in a plain .npy
    _fd: int | None = field(default=None, repr=False)

    def chunks(self, chunk_rows: int) -> Iterator[tuple[NDArray[Any], Any]]:
        with ExitStack() as stack:
            fh: BinaryIO = stack.enter_context(open(self.path, "rb"))
            if self.member is not None:
                zf = stack.enter_context(zipfile.ZipFile(fh))
                fh = stack.enter_context(zf.open(self.member))
            _read_npy_header(fh, self.path.name)
            row_bytes = self.dim * self.dtype.itemsize
            for start in range(0, self.n_rows, chunk_rows):
                m = min(chunk_rows, self.n_rows - start)
                raw = fh.read(m * row_bytes)
                if len(raw) != m * row_bytes:
                    raise InputError(f"{self.path.name}: the file ends before row {start + m}")
                vectors = np.frombuffer(raw, dtype=self.dtype).reshape(m, self.dim)
                labels = None if self.labels is None else self.labels.slice(start, m)
                yield vectors, labels

    def spans(self, chunk_rows: int) -> list[tuple[int, int]] | None:
        if self.member is not None:  # a member of a zip reads in order only
            return None
        self._fd = os.open(self.path, os.O_RDONLY)
        return [
            (start, min(chunk_rows, self.n_rows - start))
            for start in range(0, self.n_rows, chunk_rows)
        ]

    def read_span(
        self, start: int, rows: int, chunk_rows: int
    ) -> Iterator[tuple[NDArray[Any], Any]]:
        assert self._fd is not None, "spans() opens the file"
        # one buffer per thread: the task is done with a chunk before it reads the next
        buffer = getattr(_local, "read", None)
        if buffer is None or buffer.shape != (chunk_rows, self.dim) or buffer.dtype != self.dtype:
            buffer = _local.read = np.empty((chunk_rows, self.dim), dtype=self.dtype)
        out = buffer[:rows]
        offset = self.data_offset + start * self.dim * out.itemsize
        _pread_into(self._fd, memoryview(out).cast("B"), offset, self.path.name, start + rows)
        yield out, None

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _pread_into(fd: int, buffer: memoryview, offset: int, name: str, end_row: int) -> None:
    done = 0
    while done < len(buffer):
        n = os.preadv(fd, [buffer[done:]], offset + done)
        if n == 0:
            raise InputError(f"{name}: the file ends before row {end_row}")
        done += n


def _read_npy_header(fh: BinaryIO, name: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fh)
        read = {(1, 0): fmt.read_array_header_1_0, (2, 0): fmt.read_array_header_2_0}
        shape, fortran, dtype = read.get(version, fmt.read_array_header_2_0)(fh)
    except ValueError as exc:
        raise InputError(f"{name}: not a numeric .npy array ({exc})") from None
    return shape, fortran, dtype


def open_source(path: str | os.PathLike[str], *, vector_column: str | None = None) -> _Source:
    """Open a vector file for chunked reading and check its shape, reading no vectors yet.

    ``.parquet``, ``.npy`` and ``.npz`` stream; ``.csv``/``.tsv`` are read whole.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: is a folder; use --engine dask for a Parquet dataset folder")
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return _open_parquet(path, vector_column)
    if suffix == ".npy":
        with open(path, "rb") as fh:
            shape, fortran, dtype = _read_npy_header(fh, path.name)
            data_offset = fh.tell()
        return _npy_source(path, shape, fortran, dtype, data_offset=data_offset)
    if suffix == ".npz":
        return _open_npz(path)
    data = load_vectors(path)  # CSV/TSV: small by nature, read whole
    return _in_memory_source(path, data)


def _open_parquet(path: Path, vector_column: str | None) -> _Source:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = read_parquet_schema(path)
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
    return _ParquetSource(path, n_rows, dim, parquet_info(schema), vcol, index, groups)


def _npy_source(path: Path, shape: tuple, fortran: bool, dtype: np.dtype, **kw: Any) -> _Source:
    if len(shape) != 2:
        raise InputError(f"{path.name}: expected a 2-D array (rows x dims), got shape {shape}")
    check_real_dtype(dtype, path.name)
    if shape[0] == 0 or shape[1] == 0:
        raise InputError(f"{path.name}: the array is empty (shape {shape})")
    if fortran:  # rows are not contiguous on disk; rare, so read it whole
        return _in_memory_source(path, load_vectors(path))
    return _NpySource(path, int(shape[0]), int(shape[1]), dtype=dtype, **kw)


def _open_npz(path: Path) -> _Source:
    try:
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if n.endswith(".npy")]
            headers = {}
            for name in names:
                with zf.open(name) as fh:
                    headers[name[:-4]] = _read_npy_header(fh, path.name)
    except zipfile.BadZipFile:
        raise InputError(f"{path.name}: not a readable .npz file") from None
    if "vectors" in headers:
        key = "vectors"
    else:
        two_d = [k for k, h in headers.items() if len(h[0]) == 2]
        if len(two_d) != 1:
            raise InputError(
                f"{path.name}: no array named 'vectors' (arrays: {', '.join(headers)})"
            )
        key = two_d[0]
    shape = headers[key][0]
    n_rows = int(shape[0]) if len(shape) == 2 else 0  # _npy_source refuses other shapes
    labels, info = _npz_labels(path, [k for k in headers if k != key], n_rows)
    return _npy_source(path, *headers[key], member=f"{key}.npy", labels=labels, info=info)


def _npz_labels(path: Path, keys: list[str], n_rows: int) -> tuple[Any, dict[str, Any]]:
    import pyarrow as pa

    with np.load(path, allow_pickle=False) as npz:
        texts, meta, info = npz_labels(npz, keys, n_rows, path.name)
    columns: dict[str, Any] = {}
    if texts is not None:
        columns[TEXT_COLUMN] = pa.array(texts, type=pa.string())
    columns.update({name: pa.array(values) for name, values in meta.items()})
    return (pa.table(columns) if columns else None), info


@dataclass
class _ArraySource(_Source):
    vectors: Any = None
    labels: Any = None

    def chunks(self, chunk_rows: int) -> Iterator[tuple[NDArray[Any], Any]]:
        for start in range(0, self.n_rows, chunk_rows):
            labels = None if self.labels is None else self.labels.slice(start, chunk_rows)
            yield self.vectors[start : start + chunk_rows], labels


def _in_memory_source(path: Path, data: Any) -> _Source:
    import pyarrow as pa

    columns: dict[str, Any] = {}
    if data.texts is not None:
        columns[TEXT_COLUMN] = pa.array(data.texts, type=pa.string())
    if data.metadata is not None:
        table = pa.Table.from_pandas(data.metadata, preserve_index=False)
        columns.update(zip(table.column_names, table.columns, strict=True))
    n, d = data.vectors.shape
    labels = pa.table(columns) if columns else None
    return _ArraySource(path, n, d, dict(data.info), vectors=data.vectors, labels=labels)


# --------------------------------------------------------------------------- writing


CODES_COLUMN = "codes"
"""The column (Parquet) or array (``.npz``) that holds packed codes."""


def codes_to_arrow(codes: NDArray[np.uint8]) -> Any:
    """Packed codes as an Arrow fixed-size binary array, one value of bytes a vector."""
    import pyarrow as pa

    codes = np.ascontiguousarray(codes, dtype=np.uint8)
    return pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(codes.shape[1]), len(codes), [None, pa.py_buffer(codes.tobytes())]
    )


class _ParquetSink:
    """Writes row groups of :data:`~embreduce.io.ROW_GROUP_ROWS` rows, in order."""

    random_access = False

    def __init__(self, tmp: Path, source: _Source, info: dict[str, Any], codes: bool) -> None:
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
            meta = {**(table.schema.metadata or {}), _INFO_KEY: json.dumps(self.info).encode()}
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


class _NpySink:
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
        self.fh.close()
        if self.zip is not None:
            for name, array in _npz_label_arrays(self.labels, self.info).items():
                with self.zip.open(f"{name}.npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, array, allow_pickle=False)
        self._stack.close()


def _npz_label_arrays(labels: list[Any], info: dict[str, Any]) -> dict[str, np.ndarray]:
    import pyarrow as pa

    arrays: dict[str, np.ndarray] = {}
    if labels:
        table = pa.concat_tables(labels)
        for name in table.column_names:
            column = table.column(name)
            if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
                values = np.asarray(column.to_pylist(), dtype=np.str_)
            else:
                values = column.to_numpy()
            arrays["texts" if name == TEXT_COLUMN else f"meta_{name}"] = values
    arrays["info"] = np.asarray(json.dumps(info))
    return arrays


# --------------------------------------------------------------------------- compress


def _prefetch(chunks: Iterator[Any], depth: int = 2) -> Iterator[Any]:
    """Read the next chunks in a thread while this one is reduced and written.

    Parquet decoding and file reads release the GIL, so reading overlaps the matrix
    product and the writing; ``depth`` bounds how many chunks wait in memory.
    """
    done = object()
    slots: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False  # the consumer has gone

    def work() -> None:
        try:
            for item in chunks:
                if not put(item):
                    return
            put(done)
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()  # release the open file in this thread, not at garbage collection

    thread = threading.Thread(target=work, name="embreduce-read", daemon=True)
    thread.start()
    try:
        while (item := slots.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


class _WriteBehind:
    """Hand chunks to ``sink.write`` in a thread, so encoding the output overlaps the next
    chunk's reading and matrix product (pyarrow and file writes release the GIL)."""

    def __init__(self, sink: Any, depth: int = 2) -> None:
        self.sink = sink
        self.error: BaseException | None = None
        self.closed = False
        self.slots: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self.thread = threading.Thread(target=self._work, name="embreduce-write", daemon=True)
        self.thread.start()

    def _work(self) -> None:
        while (item := self.slots.get()) is not None:
            if self.error is None:  # after a failure, drain the queue so nobody blocks
                try:
                    self.sink.write(*item)
                except BaseException as exc:
                    self.error = exc

    def write(self, vectors: NDArray[Any], labels: Any) -> None:
        if self.error is not None:
            raise self.error
        self.slots.put((vectors, labels))

    def close(self) -> None:
        """Wait for the queued chunks and close the sink; raise the first write error."""
        if self.closed:
            return
        self.closed = True
        self.slots.put(None)
        self.thread.join()
        self.sink.close()
        if self.error is not None:
            raise self.error


class _Workers:
    """Run tasks on ``n_jobs`` threads, each with a one-thread BLAS, and hand the results
    back in order.

    File reads and writes, Parquet decoding and the matrix product release the GIL, so
    ``n_jobs`` chunks are worked on at once; one BLAS thread per chunk keeps the BLAS
    pool's spinning threads from fighting the other threads for the same cores. At most
    ``2 * n_jobs`` tasks are in flight, so memory stays flat.
    """

    def __init__(self, n_jobs: int) -> None:
        self.n_jobs = max(1, n_jobs)
        self._stack = ExitStack()
        self.pool: Any = None
        if self.n_jobs > 1:
            from concurrent.futures import ThreadPoolExecutor

            from threadpoolctl import threadpool_limits

            self._stack.enter_context(threadpool_limits(limits=1, user_api="blas"))
            self.pool = self._stack.enter_context(ThreadPoolExecutor(self.n_jobs))

    def __enter__(self) -> _Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def map(self, fn: Any, items: Iterator[tuple[Any, ...]]) -> Iterator[Any]:
        """``fn(*item)`` for every item, in order; on an error the queued tasks are dropped."""
        if self.pool is None:
            for item in items:
                yield fn(*item)
            return
        pending: collections.deque[Any] = collections.deque()
        try:
            for item in items:
                pending.append(self.pool.submit(fn, *item))
                if len(pending) >= 2 * self.n_jobs:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
            for future in pending:  # let running tasks end before the files close
                if not future.cancelled():
                    with contextlib.suppress(BaseException):
                        future.result()


_local = threading.local()  # per worker thread: buffers reused from chunk to chunk


def _tasks(src: _Source, chunk_rows: int, parallel: bool) -> Iterator[tuple[int, int, Any]]:
    """``(start, rows, chunk)`` per task. When there are several workers and the source can
    read pieces apart, the workers read them (chunk None); otherwise a thread reads ahead,
    in order."""
    spans = src.spans(chunk_rows) if parallel else None
    if spans is not None:
        for start, rows in spans:
            yield start, rows, None
        return
    start = 0
    for vectors, labels in _prefetch(src.chunks(chunk_rows)):
        yield start, len(vectors), (vectors, labels)
        start += len(vectors)


def _compress_task(
    src: _Source,
    model: Compressor,
    sink: Any,
    chunk_rows: int,
    start: int,
    rows: int,
    chunk: tuple[NDArray[Any], Any] | None,
) -> tuple[list[tuple[NDArray[Any], Any]], int]:
    """Read (when the source allows it), reduce and, when the sink allows it, write the
    rows of one task; return the compressed chunks left for the in-order writer."""
    chunks = [chunk] if chunk is not None else src.read_span(start, rows, chunk_rows)
    left = []
    offset = start
    buffer = None
    if sink.random_access and model.is_linear:  # written before the next chunk: reuse
        buffer = getattr(_local, "out", None)
        if buffer is None or buffer.shape != (chunk_rows, model.n_components):
            buffer = _local.out = np.empty((chunk_rows, model.n_components), np.float32)
    for vectors, labels in chunks:
        out = model.transform(vectors, offset=offset, out=buffer)
        if sink.random_access:
            sink.write_rows(offset, out)
        else:
            left.append((out, labels))
        offset += len(vectors)
    return left, rows


@dataclass
class CompressResult:
    """What :func:`compress` did.

    Attributes
    ----------
    path : pathlib.Path
        The file written.
    n_rows, n_features_in, n_components : int
    seconds : float
        Wall time from opening the input to renaming the output.
    codec : dict, optional
        The codec's description when codes were written.
    """

    path: Path
    n_rows: int
    n_features_in: int
    n_components: int
    seconds: float
    codec: dict[str, Any] | None = None

    @property
    def rows_per_second(self) -> float:
        """Throughput of the whole run."""
        return self.n_rows / self.seconds if self.seconds > 0 else float("inf")


def compress(
    source: str | os.PathLike[str],
    model: str | os.PathLike[str] | Compressor,
    output: str | os.PathLike[str],
    *,
    dtype: str = "float32",
    normalize: bool = False,
    bits: int | None = None,
    vector_column: str | None = None,
    chunk_rows: int | None = None,
    n_jobs: int | None = None,
    show_progress: bool = False,
    overwrite: bool = False,
) -> CompressResult:
    """Compress the vectors of a file with a saved reducer, streaming, in flat memory.

    Parameters
    ----------
    source : path-like
        ``.parquet`` (a list column of vectors, read a batch at a time), ``.npy`` or
        ``.npz`` (read a chunk of rows at a time), or ``.csv``/``.tsv`` (read whole).
    model : path-like or Compressor
        A reducer folder saved by ``save_reducer``/``embreduce study``
        (e.g. ``out/demo/models/encoder-128``), or a ready :class:`Compressor`.
    output : path-like
        ``.npy``, ``.npz`` or ``.parquet``, chosen by suffix, written atomically. Parquet
        keeps every other column and puts the vectors in one fixed-size-list column;
        ``.npz`` streams the vectors but keeps texts and metadata in memory until the end
        (a zip member is written whole); ``.npy`` holds the vectors only.
    dtype : {"float32", "float16"}
        The type of the compressed vectors (ignored when ``model`` is a Compressor).
    normalize : bool
        Scale compressed vectors to unit length (ignored when ``model`` is a Compressor).
    bits : {32, 16, 8, 4, 2, 1}, optional
        Write packed codes of this precision with the codec saved beside the reducer
        (see :meth:`Compressor.load`; ignored when ``model`` is a Compressor): ``.npy`` a
        ``uint8`` array of shape (n, bytes a vector), Parquet a fixed-size binary column
        ``codes``, ``.npz`` a ``codes`` array with the texts and metadata. Without it, the
        precision saved with the model, else float32 vectors.
    vector_column : str, optional
        The Parquet column that holds the vectors; default ``embedding``, else the first
        list column.
    chunk_rows : int, optional
        Rows read, reduced and written at a time; default :func:`default_chunk_rows` of the
        input dimension (16,384 rows of 384-d vectors).
    n_jobs : int, optional
        Threads that read, reduce and write chunks at once; default every core. With more
        than one, BLAS is held to one thread per call in this process while compress runs.
        Nonlinear reducers (``encoder-mlp``) use one thread, with reading and writing
        overlapped by two helper threads.
    show_progress : bool
        Draw a progress bar with rows/s and the ETA on stderr.
    overwrite : bool
        Replace an existing file at ``output`` (never the input).

    Returns
    -------
    CompressResult

    Raises
    ------
    InputError
        An input whose dimension is not the reducer's (checked before any work), NaN or
        infinite values (the message names the row).
    OutputError
        An unknown output suffix, an output that is the input or an existing file
        (without ``overwrite``), a folder that cannot be written (checked before any work).
    ModelNotFoundError
        A reducer folder that is missing or cannot be read.
    """
    model_dir = None if isinstance(model, Compressor) else model
    output = check_output_file(
        output, suffixes=VECTOR_SUFFIXES, inputs=[source, model_dir], overwrite=overwrite
    )
    suffix = output.suffix.lower()
    if chunk_rows is not None and chunk_rows < 1:
        raise InputError(f"chunk_rows must be at least 1, got {chunk_rows}")
    if n_jobs is None:
        n_jobs = os.cpu_count() or 1
    if n_jobs < 1:
        raise InputError(f"n_jobs must be at least 1, got {n_jobs}")
    if not isinstance(model, Compressor):
        model = Compressor.load(model, dtype=dtype, normalize=normalize, bits=bits)
    start = time.perf_counter()  # the reducer is loaded: time the work on the data
    src = open_source(source, vector_column=vector_column)
    model.check_dim(src.dim, src.path.name)
    chunk_rows = chunk_rows or default_chunk_rows(src.dim)
    info = {**src.info, "reducer": model.describe()}
    with (
        atomic_write(output) as tmp,
        progress_bar("Compressing", src.n_rows, enabled=show_progress, unit="rows") as bar,
    ):
        if suffix == ".parquet":
            sink: Any = _ParquetSink(tmp, src, info, codes=model.codec is not None)
        else:
            sink = _NpySink(
                tmp, src.n_rows, model.output_width, model.output_dtype, info, npz=suffix == ".npz"
            )
        writer = _WriteBehind(sink)
        try:
            with _Workers(n_jobs if model.is_linear else 1) as workers:
                task = functools.partial(_compress_task, src, model, sink, chunk_rows)
                tasks = _tasks(src, chunk_rows, parallel=workers.pool is not None)
                for left, rows in workers.map(task, tasks):
                    for out, labels in left:
                        writer.write(out, labels)
                    bar.advance(rows)
            writer.close()
        except InputError as exc:
            named = str(exc).startswith(f"{src.path.name}:")
            raise InputError(str(exc) if named else f"{src.path.name}: {exc}") from None
        finally:
            with contextlib.suppress(Exception):  # already failing: keep the first error
                writer.close()
            src.close()
            vars(_local).clear()  # this thread's reused buffers (the workers' die with them)
    return CompressResult(
        output,
        src.n_rows,
        model.n_features_in,
        model.n_components,
        time.perf_counter() - start,
        None if model.codec is None else model.codec.describe(),
    )
