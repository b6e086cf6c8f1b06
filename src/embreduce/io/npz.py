"""``.npz`` archives: vectors, texts, ``meta_<column>`` arrays and ``info``, never pickled."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from embreduce.exceptions import InputError
from embreduce.io.columns import CODES_COLUMN, TEXT_COLUMN
from embreduce.io.embedding_set import EmbeddingSet
from embreduce.io.info import check_not_codes, info_json, npz_info
from embreduce.io.npy import npy_source, read_npy_header
from embreduce.io.source import VectorSource, in_memory_source


def npz_text_array(texts: list[str], name: str = "texts") -> NDArray[np.str_]:
    """``texts`` as a numpy string array, which is how ``.npz`` holds them without pickle.

    Numpy's strings cannot end in NUL characters (it strips them), so such a text is
    refused rather than changed.
    """
    for i, text in enumerate(texts):
        if text.endswith("\0"):
            raise InputError(
                f"{name}: text {i} ends in a NUL character, which .npz cannot keep; "
                "write .parquet instead"
            )
    return np.asarray(texts, dtype=np.str_)


def save_npz(tmp: Path, data: EmbeddingSet) -> None:
    """Write ``data`` to ``tmp`` as ``.npz``: vectors, texts, ``meta_<column>``, ``info``."""
    arrays: dict[str, np.ndarray] = {"vectors": data.vectors}
    if data.texts is not None:
        arrays["texts"] = npz_text_array(data.texts)
    if data.metadata is not None:
        import pandas as pd  # loaded already: the metadata is a DataFrame

        for col in data.metadata.columns:
            values = data.metadata[col].to_numpy()
            if values.dtype == object or isinstance(data.metadata[col].dtype, pd.StringDtype):
                values = data.metadata[col].astype(str).to_numpy(dtype=np.str_)
            arrays[f"meta_{col}"] = values
    arrays["info"] = np.asarray(info_json(data.info))
    with open(tmp, "wb") as fh:
        np.savez(fh, **arrays)


def load_npz(path: Path) -> EmbeddingSet:
    """Read a whole ``.npz``: the ``vectors`` array (or the only 2-D one) and its labels."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            files = dict(npz.items())
    except (ValueError, OSError, EOFError) as exc:
        raise InputError(f"{path.name}: not an .npz readable without pickle ({exc})") from None
    _check_not_codes(path, files)
    if "vectors" in files:
        key = "vectors"
    else:
        arrays = [k for k, v in files.items() if getattr(v, "ndim", 0) == 2]
        if len(arrays) != 1:
            raise InputError(f"{path.name}: no array named 'vectors' (arrays: {', '.join(files)})")
        key = arrays[0]
    vectors = files[key]
    texts, meta, info = npz_labels(files, [k for k in files if k != key], len(vectors), path.name)
    if not meta:
        return EmbeddingSet(vectors, texts, None, info)
    import pandas as pd  # only for metadata columns

    return EmbeddingSet(vectors, texts, pd.DataFrame(meta), info)


def _check_not_codes(path: Path, npz: Any) -> None:
    """An ``.npz`` of ``codes`` and no ``vectors`` is what ``compress --bits`` writes."""
    if CODES_COLUMN in npz and "vectors" not in npz:
        info = npz_info(npz["info"], path.name) if "info" in npz else {}
        check_not_codes(path.name, info, True)


def npz_labels(
    npz: Any, keys: list[str], n_rows: int, source: str
) -> tuple[list[str] | None, dict[str, np.ndarray], dict[str, Any]]:
    """Read the labels of an ``.npz`` written by embreduce, checking each one.

    Parameters
    ----------
    npz : mapping of str to ndarray
        The archive (``numpy.load``'s ``NpzFile`` or a dict of its arrays).
    keys : list of str
        The members besides the vectors: ``texts``, ``meta_<column>``, ``info``; others
        are ignored.
    n_rows : int
        The number of vectors; ``texts`` and every ``meta_`` array must have as many.
    source : str
        The file's name, for messages.

    Returns
    -------
    texts : list of str or None
    metadata : dict of str to 1-D ndarray
    info : dict

    Raises
    ------
    InputError
        Texts that are not strings, labels whose length is not ``n_rows``, an ``info``
        that is not a JSON object, a member that needs pickle.
    """
    texts, meta, info = None, {}, {}
    for key in keys:
        try:
            value = npz[key]
        except ValueError as exc:  # an object array: numpy refuses it without pickle
            raise InputError(f"{source}: member '{key}' cannot be read without pickle") from exc
        if key == "info":
            info = npz_info(value, source)
            continue
        if key not in ("texts", "ids") and not key.startswith("meta_"):
            continue
        if value.ndim != 1 or len(value) != n_rows:
            raise InputError(
                f"{source}: '{key}' holds {value.shape[0] if value.ndim else 0} value(s) "
                f"for {n_rows} vectors"
            )
        if key == "texts":
            if value.dtype.kind not in "US":
                raise InputError(f"{source}: 'texts' must be strings, not {value.dtype}")
            texts = [str(t) for t in value]
        else:  # ``ids`` as many write it, or ``meta_<column>`` as save_npz writes it
            meta[key.removeprefix("meta_")] = value
    return texts, meta, info


def open_npz(path: Path) -> VectorSource:
    """Open an ``.npz`` for reading its vectors a chunk at a time; labels are read now."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if n.endswith(".npy")]
            headers = {}
            for name in names:
                with zf.open(name) as fh:
                    headers[name[:-4]] = read_npy_header(fh, path.name)
    except zipfile.BadZipFile:
        raise InputError(f"{path.name}: not a readable .npz file") from None
    if CODES_COLUMN in headers and "vectors" not in headers:
        with np.load(path, allow_pickle=False) as npz:
            _check_not_codes(path, npz)
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
    n_rows = int(shape[0]) if len(shape) == 2 else 0  # npy_source refuses other shapes
    labels, info = npz_label_table(path, [k for k in headers if k != key], n_rows)
    source = npy_source(path, *headers[key], member=f"{key}.npy", labels=labels, info=info)
    return source or in_memory_source(path, load_npz(path))


def npz_label_table(path: Path, keys: list[str], n_rows: int) -> tuple[Any, dict[str, Any]]:
    """An ``.npz``'s texts and metadata as a pyarrow Table (or None), and its ``info``."""
    import pyarrow as pa

    with np.load(path, allow_pickle=False) as npz:
        texts, meta, info = npz_labels(npz, keys, n_rows, path.name)
    columns: dict[str, Any] = {}
    if texts is not None:
        columns[TEXT_COLUMN] = pa.array(texts, type=pa.string())
    columns.update({name: pa.array(values) for name, values in meta.items()})
    return (pa.table(columns) if columns else None), info


def npz_label_arrays(labels: list[Any], info: dict[str, Any]) -> dict[str, np.ndarray]:
    """Streamed labels (pyarrow Tables) and ``info`` as the arrays an ``.npz`` holds."""
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
    arrays["info"] = np.asarray(info_json(info))
    return arrays
