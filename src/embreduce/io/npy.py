"""``.npy`` files: read whole, or streamed a chunk at a time in and out."""

from __future__ import annotations

import os
import threading
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from numpy.typing import NDArray

from embreduce.exceptions import InputError
from embreduce.io.embedding_set import EmbeddingSet
from embreduce.io.source import VectorSource, in_memory_source
from embreduce.validation import check_real_dtype


@dataclass
class NpySource(VectorSource):
    """A plain ``.npy`` (read by offset, from any thread) or an ``.npz`` member (in order)."""

    member: str | None = None  # the array's name inside an .npz
    dtype: Any = np.float32
    labels: Any = None  # texts and metadata of an .npz, as a pyarrow Table
    data_offset: int = 0  # where the rows start in a plain .npy
    _fd: int | None = field(default=None, repr=False)
    _local: threading.local = field(default_factory=threading.local, repr=False)

    def chunks(self, chunk_rows: int) -> Iterator[tuple[NDArray[Any], Any]]:
        with ExitStack() as stack:
            fh: BinaryIO = stack.enter_context(open(self.path, "rb"))
            if self.member is not None:
                zf = stack.enter_context(zipfile.ZipFile(fh))
                fh = stack.enter_context(zf.open(self.member))
            read_npy_header(fh, self.path.name)
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
        buffer = getattr(self._local, "read", None)
        if buffer is None or buffer.shape != (chunk_rows, self.dim) or buffer.dtype != self.dtype:
            buffer = self._local.read = np.empty((chunk_rows, self.dim), dtype=self.dtype)
        out = buffer[:rows]
        offset = self.data_offset + start * self.dim * out.itemsize
        _pread_into(self._fd, memoryview(out).cast("B"), offset, self.path.name, start + rows)
        yield out, None

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._local = threading.local()  # this thread's read buffer


def _pread_into(fd: int, buffer: memoryview, offset: int, name: str, end_row: int) -> None:
    done = 0
    while done < len(buffer):
        n = os.preadv(fd, [buffer[done:]], offset + done)
        if n == 0:
            raise InputError(f"{name}: the file ends before row {end_row}")
        done += n


def read_npy_header(fh: BinaryIO, name: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """The ``(shape, fortran_order, dtype)`` of an ``.npy`` stream, or a one-line error."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fh)
        read = {(1, 0): fmt.read_array_header_1_0, (2, 0): fmt.read_array_header_2_0}
        shape, fortran, dtype = read.get(version, fmt.read_array_header_2_0)(fh)
    except ValueError as exc:
        raise InputError(f"{name}: not a numeric .npy array ({exc})") from None
    return shape, fortran, dtype


def save_npy(tmp: Path, data: EmbeddingSet) -> None:
    """Write the vectors of ``data`` to ``tmp`` as ``.npy`` (texts and metadata have no place)."""
    np.save(tmp, data.vectors, allow_pickle=False)


def load_npy(path: Path) -> EmbeddingSet:
    """Read a whole ``.npy`` file of vectors, never unpickling."""
    try:
        arr = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise InputError(f"{path.name}: not a numeric .npy file ({exc})") from None
    return EmbeddingSet(arr)


def open_npy(path: Path) -> VectorSource:
    """Open an ``.npy`` file for reading a chunk at a time (from any thread)."""
    with open(path, "rb") as fh:
        shape, fortran, dtype = read_npy_header(fh, path.name)
        data_offset = fh.tell()
    source = npy_source(path, shape, fortran, dtype, data_offset=data_offset)
    return source or in_memory_source(path, load_npy(path))


def npy_source(
    path: Path, shape: tuple, fortran: bool, dtype: np.dtype, **kw: Any
) -> NpySource | None:
    """A source for a C-ordered 2-D array at ``path``; None for Fortran order (read it whole)."""
    if len(shape) != 2:
        raise InputError(f"{path.name}: expected a 2-D array (rows x dims), got shape {shape}")
    check_real_dtype(dtype, path.name)
    if shape[0] == 0 or shape[1] == 0:
        raise InputError(f"{path.name}: the array is empty (shape {shape})")
    if fortran:  # rows are not contiguous on disk; rare, so read it whole
        return None
    return NpySource(path, int(shape[0]), int(shape[1]), dtype=dtype, **kw)
