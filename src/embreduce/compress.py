"""Apply a saved reducer to a vector store, chunk by chunk, in flat memory.

:func:`compress` reads Parquet a batch at a time and ``.npy``/``.npz`` through plain file
reads of the array's bytes (so neither the input nor the output is ever whole in memory),
reduces each chunk with :class:`Compressor` and streams the result to a temporary file
that replaces the output only when every row is done. Ids, texts and metadata columns pass
through unchanged.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from embreduce.choices import DTYPES
from embreduce.codecs import load_model_codec
from embreduce.exceptions import InputError, ModelNotFoundError, ParameterError
from embreduce.io import VECTOR_SUFFIXES, VectorSource, open_sink, open_source
from embreduce.io.columns import CODES_COLUMN
from embreduce.outputs import atomic_write, check_output_file
from embreduce.pipeline import (
    Workers,
    WriteBehind,
    prefetch,
)
from embreduce.progress import progress_bar
from embreduce.reducers.persistence import reducer_config
from embreduce.validation import bad_row_message

CHUNK_BYTES = 24 << 20
"""Input bytes per chunk (as float32) when ``chunk_rows`` is not given: 16,384 rows of 384-d
vectors, 3,072 of 2048-d; large enough for BLAS, small enough for flat memory."""


def default_chunk_rows(dim: int) -> int:
    """Rows per chunk for ``dim``-dimensional vectors: :data:`CHUNK_BYTES` of float32."""
    return max(256, CHUNK_BYTES // (4 * max(1, dim)))


# --------------------------------------------------------------------------- the transform


class Compressor:
    """A fitted reducer made ready to compress chunks of vectors.

    Linear reducers (PCA, SVD, random projection, truncation, the linear encoder) become one
    float32 matrix product plus a bias, ``X @ W + b``; others call ``reducer.transform``.

    Parameters
    ----------
    reducer : estimator or LinearMap
        A fitted reducer, e.g. from :func:`embreduce.reducers.load_reducer`, or a saved
        linear reducer's map (:func:`embreduce.reducers.load_linear_map`).
    method : str, optional
        The reducer's name, for messages and provenance.
    dtype : {"float32", "float16"}
        The type of the compressed vectors.
    normalize : bool
        Scale each compressed vector to unit length (all-zero rows stay zero).
    codec : Codec, optional
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
        from embreduce.reducers.linear import LinearMap, linear_pair

        if dtype not in DTYPES:
            raise ParameterError(f"unknown dtype '{dtype}': use one of {', '.join(DTYPES)}")
        if codec is not None and (normalize or dtype != "float32"):
            raise ParameterError(
                "bits: codes are calibrated on the reducer's float32 output; they take no "
                "normalize or dtype (decode the codes, then normalize)"
            )
        own = reducer.method if isinstance(reducer, LinearMap) else type(reducer).__name__
        self.method = method or own
        self.dtype = dtype
        self.normalize = normalize
        self.codec = codec
        n_in = getattr(reducer, "n_features_in_", None)
        if n_in is None:
            raise InputError(f"the {self.method} reducer is not fitted")
        self.n_features_in = int(n_in)
        pair = linear_pair(reducer)
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
        if codec is not None and not hasattr(codec, "n_features_in_"):
            raise InputError(
                f"the codec for the {self.method} reducer is not fitted: fit it on the "
                "reducer's output first (load_model_codec fits a 16-bit one to the model)"
            )
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
        rotation: str | None = None,
        codec: str | None = None,
    ) -> Compressor:
        """Load a reducer saved by ``save_reducer`` (``embreduce study`` saves them).

        ``bits`` (32, 16, 8, 4, 2 or 1) picks the codec saved beside the reducer
        (``codec-<bits>bit/``; 32 means plain float32 vectors); without it, the precision
        saved with the model (``codec.json``, which ``embreduce study`` writes for its
        recommendation) is used, else float32; with ``normalize`` or ``dtype="float16"``
        the output is vectors, not codes. ``rotation`` (``"random"``, ``"itq"``) picks the
        rotated codec a study saved with ``--rotations`` (``codec-<bits>bit-<rotation>/``).
        ``codec`` picks any saved codec by its folder id (``codec-<id>/``: ``"4bit"``,
        ``"2bit-itq"``, or another registered family's), instead of ``bits``.
        """
        from embreduce.reducers.linear import load_saved

        directory = Path(directory)
        if not directory.is_dir():
            raise ModelNotFoundError(f"reducer '{directory}': no such folder")
        reducer = load_saved(directory)
        chosen = bits is not None or codec is not None
        codec = load_model_codec(directory, bits, rotation, codec=codec)
        if not chosen and (normalize or dtype != "float32"):
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
            if _bits(self.codec) == 16:  # a value float16 cannot hold: name its row
                _check_finite(
                    out.astype(np.float16), offset, None, what="its 16-bit code (float16)"
                )
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


def _bits(codec: Any) -> int | None:
    """A scalar codec's bits a dimension; None for a codec family without them."""
    bits = getattr(codec, "bits", None)
    return None if bits is None else int(bits)


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


# --------------------------------------------------------------------------- compress


_local = threading.local()  # per worker thread: buffers reused from chunk to chunk


def _tasks(src: VectorSource, chunk_rows: int, parallel: bool) -> Iterator[tuple[int, int, Any]]:
    """``(start, rows, chunk)`` per task. When there are several workers and the source can
    read pieces apart, the workers read them (chunk None); otherwise a thread reads ahead,
    in order."""
    spans = src.spans(chunk_rows) if parallel else None
    if spans is not None:
        for start, rows in spans:
            yield start, rows, None
        return
    start = 0
    for vectors, labels in prefetch(src.chunks(chunk_rows)):
        yield start, len(vectors), (vectors, labels)
        start += len(vectors)


def _compress_task(
    src: VectorSource,
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


def check_codes_column(src: VectorSource, model: Compressor, suffix: str) -> None:
    """Refuse, before any work, Parquet codes over an input column already named ``codes``.

    The output would hold two fields of that name, which pyarrow and pandas cannot read.
    """
    if model.codec is None or suffix != ".parquet":
        return
    if CODES_COLUMN in src.label_names():
        src.close()
        raise InputError(
            f"{src.path.name}: has a column named '{CODES_COLUMN}', where compress --bits "
            "writes the codes; rename that column first (or write .npz/.npy)"
        )


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
    rotation: str | None = None,
    codec: str | None = None,
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
    rotation : {"random", "itq"}, optional
        With ``bits``, the rotated codec the study saved (``--rotations``).
    codec : str, optional
        Any codec saved beside the reducer, by its folder id (``codec-<id>/``), instead of
        ``bits``: ``"4bit"``, ``"2bit-itq"``, or another registered family's id.
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
        model = Compressor.load(
            model, dtype=dtype, normalize=normalize, bits=bits, rotation=rotation, codec=codec
        )
    start = time.perf_counter()  # the reducer is loaded: time the work on the data
    src = open_source(source, vector_column=vector_column)
    model.check_dim(src.dim, src.path.name)
    check_codes_column(src, model, suffix)
    chunk_rows = chunk_rows or default_chunk_rows(src.dim)
    info = {**src.info, "reducer": model.describe()}
    with (
        atomic_write(output, overwrite=overwrite) as tmp,
        progress_bar("Compressing", src.n_rows, enabled=show_progress, unit="rows") as bar,
    ):
        sink = open_sink(tmp, suffix, src, model.output_width, model.output_dtype, info)
        writer = WriteBehind(sink)
        try:
            with Workers(n_jobs if model.is_linear else 1) as workers:
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
