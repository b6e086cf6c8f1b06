"""Saving and loading vectors, whole or a chunk at a time: the format is chosen by suffix."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from embreduce.exceptions import InputError
from embreduce.io.embedding_set import EmbeddingSet
from embreduce.io.npy import load_npy, open_npy, save_npy
from embreduce.io.npz import load_npz, open_npz, save_npz
from embreduce.io.parquet import load_parquet, open_parquet, save_parquet
from embreduce.io.source import VectorSource, in_memory_source
from embreduce.outputs import atomic_write, check_output_file
from embreduce.validation import check_vectors

if TYPE_CHECKING:
    import pandas as pd

VECTOR_SUFFIXES = (".npy", ".npz", ".parquet")
"""Suffixes :func:`save_vectors` can write."""


def save_vectors(
    path: str | os.PathLike[str],
    data: EmbeddingSet | NDArray[np.floating],
    *,
    texts: list[str] | None = None,
    metadata: pd.DataFrame | None = None,
    info: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write vectors (and texts and metadata where the format holds them), atomically.

    The format is chosen by suffix: ``.npy`` (vectors only), ``.npz`` (``vectors``,
    ``texts``, ``meta_<column>`` arrays and an ``info`` JSON string, all readable without
    pickle) or ``.parquet`` (a ``text`` column, metadata columns and a fixed-size-list
    ``embedding`` column; ``info`` in the schema metadata).

    Parameters
    ----------
    path : path-like
        Output file; its suffix picks the format.
    data : EmbeddingSet or ndarray of shape (n, d)
        The vectors, or a set that already carries texts and metadata.
    texts, metadata, info
        Used when ``data`` is a bare array.
    overwrite : bool
        Replace an existing file at ``path`` (see :mod:`embreduce.outputs`).

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    OutputError
        A suffix other than ``.npy``, ``.npz``, ``.parquet``; an existing file without
        ``overwrite``; a folder that cannot be written.
    """
    path = check_output_file(path, suffixes=VECTOR_SUFFIXES, overwrite=overwrite)
    if not isinstance(data, EmbeddingSet):
        data = EmbeddingSet(check_vectors(data), texts, metadata, dict(info or {}))
    suffix = path.suffix.lower()
    with atomic_write(path, overwrite=overwrite) as tmp:
        if suffix == ".npy":
            save_npy(tmp, data)
        elif suffix == ".npz":
            save_npz(tmp, data)
        else:
            save_parquet(tmp, data)
    return path


def load_vectors(
    path: str | os.PathLike[str],
    *,
    text_column: str | None = None,
    vector_column: str | None = None,
) -> EmbeddingSet:
    """Read vectors written by embreduce or elsewhere.

    Reads ``.npy``, ``.npz`` (array ``vectors``, or the only array), ``.parquet`` (a list
    column, or all-numeric columns) and ``.csv``/``.tsv`` of numbers, with or without a
    header and with or without a label column. Nothing is unpickled.

    Parameters
    ----------
    path : path-like
        The file to read.
    text_column : str, optional
        The label column of a table; default ``text`` if present, else the first
        non-numeric column.
    vector_column : str, optional
        The list column that holds the vectors in Parquet; default ``embedding``, else
        the first list column.

    Returns
    -------
    EmbeddingSet
        Checked vectors: 2-D, finite, at least one row.

    Raises
    ------
    InputError
        Empty, unreadable or ragged files, NaN/inf values, a missing column.
    """
    path = existing_file(path)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        result = load_npy(path)
    elif suffix == ".npz":
        result = load_npz(path)
    elif suffix == ".parquet":
        result = load_parquet(path, text_column, vector_column)
    elif suffix in (".csv", ".tsv"):
        from embreduce.io.tables import load_numeric_table  # pandas: only for tables

        result = load_numeric_table(path, text_column)
    else:
        raise InputError(
            f"{path.name}: unknown vector format '{suffix}'; use .npy, .npz, .parquet or .csv"
        )
    result.vectors = check_vectors(result.vectors, name=path.name)
    return result


def existing_file(path: str | os.PathLike[str]) -> Path:
    """``path`` as a Path if it is a non-empty file, else a one-line :class:`InputError`."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, expected a file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty")
    return path


def open_source(path: str | os.PathLike[str], *, vector_column: str | None = None) -> VectorSource:
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
        return open_parquet(path, vector_column)
    if suffix == ".npy":
        return open_npy(path)
    if suffix == ".npz":
        return open_npz(path)
    return in_memory_source(path, load_vectors(path))  # CSV/TSV: small by nature, read whole
