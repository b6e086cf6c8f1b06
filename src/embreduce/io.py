"""Vectors and texts in and out: npy, npz, parquet, csv/tsv and plain text, with atomic writes.

Every writer goes through :func:`atomic_write`, so a failed run never leaves a half file.
Every reader returns an :class:`EmbeddingSet` (vectors + optional texts and metadata) or,
for inputs that hold texts to embed, a :class:`TextItems`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from embreduce.exceptions import InputError
from embreduce.outputs import (  # noqa: F401  (atomic_* re-exported)
    atomic_directory,
    atomic_write,
    check_output_file,
)
from embreduce.validation import check_vectors

VECTOR_SUFFIXES = (".npy", ".npz", ".parquet")
"""Suffixes :func:`save_vectors` can write."""

TEXT_SUFFIXES = (".txt", ".csv", ".tsv", ".parquet")
"""Suffixes :func:`read_items` can read texts from."""

VECTOR_COLUMN = "embedding"
TEXT_COLUMN = "text"
_INFO_KEY = b"embreduce"


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


@dataclass
class TextItems:
    """Texts read from a file, before embedding.

    Attributes
    ----------
    texts : list of str
        The non-blank items, in file order.
    metadata : pandas.DataFrame or None
        The other columns of a table, aligned with ``texts``.
    n_blank : int
        How many blank lines or empty cells were dropped.
    source : str
        Where the texts came from.
    """

    texts: list[str]
    metadata: pd.DataFrame | None = None
    n_blank: int = 0
    source: str = ""


# --------------------------------------------------------------------------- atomic writes


def write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as indented JSON, atomically."""
    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, default=_json_default) + "\n", encoding="utf-8")
    return Path(path)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot write {type(obj).__name__} as JSON")


# --------------------------------------------------------------------------- saving vectors


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
    with atomic_write(path) as tmp:
        if suffix == ".npy":
            np.save(tmp, data.vectors, allow_pickle=False)
        elif suffix == ".npz":
            _save_npz(tmp, data)
        else:
            _save_parquet(tmp, data)
    return path


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


def _save_npz(tmp: Path, data: EmbeddingSet) -> None:
    arrays: dict[str, np.ndarray] = {"vectors": data.vectors}
    if data.texts is not None:
        arrays["texts"] = npz_text_array(data.texts)
    if data.metadata is not None:
        for col in data.metadata.columns:
            values = data.metadata[col].to_numpy()
            if values.dtype == object or isinstance(data.metadata[col].dtype, pd.StringDtype):
                values = data.metadata[col].astype(str).to_numpy(dtype=np.str_)
            arrays[f"meta_{col}"] = values
    arrays["info"] = np.asarray(json.dumps(data.info, default=_json_default))
    with open(tmp, "wb") as fh:
        np.savez(fh, **arrays)


def _save_parquet(tmp: Path, data: EmbeddingSet) -> None:
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
    meta = {_INFO_KEY: json.dumps(data.info, default=_json_default).encode()}
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


ROW_GROUP_ROWS = 65_536
"""Rows per Parquet row group in the files embreduce writes."""


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


# --------------------------------------------------------------------------- loading vectors


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
    path = _existing(path)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except ValueError as exc:
            raise InputError(f"{path.name}: not a numeric .npy file ({exc})") from None
        result = EmbeddingSet(arr)
    elif suffix == ".npz":
        result = _load_npz(path)
    elif suffix == ".parquet":
        result = _load_parquet(path, text_column, vector_column)
    elif suffix in (".csv", ".tsv"):
        result = _load_numeric_table(path, text_column)
    else:
        raise InputError(
            f"{path.name}: unknown vector format '{suffix}'; use .npy, .npz, .parquet or .csv"
        )
    result.vectors = check_vectors(result.vectors, name=path.name)
    return result


def _existing(path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, expected a file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty")
    return path


def _load_npz(path: Path) -> EmbeddingSet:
    try:
        with np.load(path, allow_pickle=False) as npz:
            files = dict(npz.items())
    except (ValueError, OSError, EOFError) as exc:
        raise InputError(f"{path.name}: not an .npz readable without pickle ({exc})") from None
    if "vectors" in files:
        key = "vectors"
    else:
        arrays = [k for k, v in files.items() if getattr(v, "ndim", 0) == 2]
        if len(arrays) != 1:
            raise InputError(f"{path.name}: no array named 'vectors' (arrays: {', '.join(files)})")
        key = arrays[0]
    vectors = files[key]
    texts, meta, info = npz_labels(files, [k for k in files if k != key], len(vectors), path.name)
    return EmbeddingSet(vectors, texts, pd.DataFrame(meta) if meta else None, info)


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
            info = _npz_info(value, source)
            continue
        if key != "texts" and not key.startswith("meta_"):
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
        else:
            meta[key[len("meta_") :]] = value
    return texts, meta, info


def _npz_info(value: np.ndarray, source: str) -> dict[str, Any]:
    try:
        info = json.loads(str(value))
    except ValueError:
        raise InputError(f"{source}: 'info' is not JSON") from None
    if not isinstance(info, dict):
        raise InputError(f"{source}: 'info' is not a JSON object")
    return info


def _read_parquet_table(path: Path) -> Any:
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise InputError(f"{path.name}: not a readable Parquet file ({_first_line(exc)})") from None


def read_parquet_schema(path: Path) -> Any:
    """The schema of a Parquet file, or a one-line :class:`InputError` for a broken one."""
    import pyarrow.parquet as pq

    try:
        return pq.read_schema(path)
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise InputError(f"{path.name}: not a readable Parquet file ({_first_line(exc)})") from None


def parquet_info(schema: Any) -> dict[str, Any]:
    """The embreduce provenance stored in a Parquet schema, or ``{}``."""
    raw = (schema.metadata or {}).get(_INFO_KEY)
    return json.loads(raw) if raw else {}


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


def _load_parquet(path: Path, text_column: str | None, vector_column: str | None) -> EmbeddingSet:
    table = _read_parquet_table(path)
    if table.num_rows == 0:
        raise InputError(f"{path.name}: the table has no rows")
    info = parquet_info(table.schema)
    vcol = find_vector_column(table.schema, vector_column)
    if vcol is None:
        return _split_numeric_frame(table.to_pandas(), path.name, text_column, info)
    vectors = arrow_to_vectors(table.column(vcol))
    rest = table.drop_columns([vcol]).to_pandas()
    texts, metadata = _split_labels(rest, text_column, path.name)
    return EmbeddingSet(vectors, texts, metadata, info)


def _split_labels(
    frame: pd.DataFrame, text_column: str | None, source: str
) -> tuple[list[str] | None, pd.DataFrame | None]:
    if text_column is not None and text_column not in frame.columns:
        raise InputError(
            f"{source}: no text column '{text_column}'; columns are: "
            f"{', '.join(map(str, frame.columns)) or '(none)'}"
        )
    col = text_column or (TEXT_COLUMN if TEXT_COLUMN in frame.columns else None)
    texts = frame[col].astype(str).tolist() if col is not None else None
    rest = frame.drop(columns=[col]) if col is not None else frame
    return texts, (rest.reset_index(drop=True) if len(rest.columns) else None)


def _split_numeric_frame(
    frame: pd.DataFrame, source: str, text_column: str | None, info: dict[str, Any]
) -> EmbeddingSet:
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    if text_column is not None and text_column in numeric:
        numeric.remove(text_column)
    if not numeric:
        raise InputError(f"{source}: no numeric columns or vector column found")
    texts, metadata = _split_labels(frame.drop(columns=numeric), text_column, source)
    if texts is None and metadata is not None:  # first non-numeric column is the label
        first = metadata.columns[0]
        texts = metadata[first].astype(str).tolist()
        metadata = metadata.drop(columns=[first])
        metadata = metadata if len(metadata.columns) else None
    return EmbeddingSet(frame[numeric].to_numpy(), texts, metadata, info)


def _read_delimited(path: Path, header: int | None) -> pd.DataFrame:
    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    _check_utf8(path)
    try:
        return pd.read_csv(path, sep=sep, header=header, dtype=str, keep_default_na=False)
    except pd.errors.ParserError as exc:
        raise InputError(f"{path.name}: ragged or malformed table ({_first_line(exc)})") from None
    except pd.errors.EmptyDataError:
        raise InputError(f"{path.name}: the file is empty") from None


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _load_numeric_table(path: Path, text_column: str | None) -> EmbeddingSet:
    raw = _read_delimited(path, header=None)
    if raw.empty:
        raise InputError(f"{path.name}: the file is empty")
    numeric_cols = [c for c in raw.columns if all(_is_number(v) for v in raw[c].iloc[1:])]
    if len(raw) == 1:
        numeric_cols = [c for c in raw.columns if _is_number(raw[c].iloc[0])]
    has_header = len(raw) > 1 and not all(_is_number(raw[c].iloc[0]) for c in numeric_cols)
    if has_header:
        frame = raw.iloc[1:].reset_index(drop=True)
        frame.columns = [str(v) for v in raw.iloc[0]]
        names = [str(raw[c].iloc[0]) for c in numeric_cols]
    else:
        frame = raw.copy()
        frame.columns = [str(c) for c in raw.columns]
        names = [str(c) for c in numeric_cols]
    if not names:
        raise InputError(f"{path.name}: no numeric columns found")
    frame[names] = frame[names].astype(np.float64)
    return _split_numeric_frame(frame, path.name, text_column, {})


# --------------------------------------------------------------------------- reading texts


def _check_utf8(path: Path) -> None:
    with open(path, "rb") as fh:
        data = fh.read()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path.name}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from None


def read_items(path: str | os.PathLike[str], *, text_column: str | None = None) -> TextItems:
    """Read texts to embed: one per line of a ``.txt``, or a column of a CSV/TSV/Parquet.

    Blank lines and empty cells are dropped and counted in ``n_blank``; the other columns
    of a table come back as ``metadata``, aligned with the kept texts.

    Parameters
    ----------
    path : path-like
        A ``.txt`` file (one item per line) or a ``.csv``/``.tsv``/``.parquet`` table.
    text_column : str, optional
        The column holding the texts; default ``text``, or the only column.

    Raises
    ------
    InputError
        An empty file, a file that is not UTF-8, a missing column, a ragged table.
    """
    path = _existing(path)
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".parquet"):
        if suffix == ".parquet":
            frame = _read_parquet_table(path).to_pandas()
        else:
            frame = _read_delimited(path, header=0)
        col = _pick_text_column(frame, text_column, path.name)
        nested = frame[col].map(lambda v: isinstance(v, list | tuple | dict | np.ndarray))
        if nested.any():
            raise InputError(
                f"{path.name}: column '{col}' holds lists or records, not texts "
                f"(row {int(np.flatnonzero(nested.to_numpy())[0])})"
            )
        values = frame[col].fillna("").astype(str)
        keep = values.str.strip() != ""
        texts = values[keep].tolist()
        rest = frame.drop(columns=[col])[keep.to_numpy()].reset_index(drop=True)
        metadata = rest if len(rest.columns) else None
        n_blank = int((~keep).sum())
    else:
        _check_utf8(path)
        lines = path.read_text(encoding="utf-8-sig").splitlines()  # no BOM in the first text
        texts = [line for line in lines if line.strip()]
        n_blank = len(lines) - len(texts)
        metadata = None
    if not texts:
        raise InputError(f"{path.name}: no texts found (all {n_blank} line(s) are blank)")
    return TextItems(texts, metadata, n_blank, str(path))


def _pick_text_column(frame: pd.DataFrame, text_column: str | None, source: str) -> str:
    if frame.empty and not len(frame.columns):
        raise InputError(f"{source}: the table is empty")
    if text_column is not None:
        if text_column not in frame.columns:
            raise InputError(
                f"{source}: no text column '{text_column}'; columns are: "
                f"{', '.join(map(str, frame.columns))}"
            )
        return text_column
    if TEXT_COLUMN in frame.columns:
        return TEXT_COLUMN
    if len(frame.columns) == 1:
        return str(frame.columns[0])
    raise InputError(
        f"{source}: no column named 'text'; pick one with --text-column "
        f"(columns are: {', '.join(map(str, frame.columns))})"
    )


def holds_vectors(path: str | os.PathLike[str], *, text_column: str | None = None) -> bool:
    """Tell whether a file holds vectors (True) or texts to embed (False).

    ``.npy``/``.npz`` hold vectors and ``.txt`` holds texts. A Parquet file holds vectors
    when it has a list column; a CSV/TSV when most of its columns are numbers.
    """
    path = _existing(path)
    suffix = path.suffix.lower()
    if suffix in (".npy", ".npz"):
        return True
    if suffix == ".parquet":
        return find_vector_column(read_parquet_schema(path)) is not None
    if suffix in (".csv", ".tsv"):
        raw = _read_delimited(path, header=None)
        if text_column is not None and len(raw) and text_column in set(raw.iloc[0]):
            return len(raw.columns) > 2
        body = raw.iloc[1:] if len(raw) > 1 else raw
        numeric = [c for c in raw.columns if all(_is_number(v) for v in body[c])]
        return len(numeric) >= 2 and len(numeric) * 2 > len(raw.columns)
    return False


# ----------------------------------------------------------------------------- labelled pairs


@dataclass
class LabelledPairs:
    """Pairs of texts with a score each, read by :func:`read_pairs`.

    Attributes
    ----------
    first, second : list of str
        The two texts of each pair.
    scores : ndarray of shape (n_pairs,)
        The score of each pair (only its order matters to a rank correlation).
    source : str
    """

    first: list[str]
    second: list[str]
    scores: NDArray[np.float64]
    source: str = ""

    def __len__(self) -> int:
        return len(self.scores)


def read_pairs(
    path: str | os.PathLike[str],
    *,
    text1: str = "sentence1",
    text2: str = "sentence2",
    score: str = "score",
) -> LabelledPairs:
    """Read labelled pairs from a CSV, TSV or Parquet table, e.g. the STS Benchmark.

    Parameters
    ----------
    path : path-like
        ``.csv``, ``.tsv`` (tab-separated, quotes taken literally) or ``.parquet``.
    text1, text2, score : str
        The columns of the two texts and of the score.

    Raises
    ------
    InputError
        A missing column (the message lists those there are), a score that is not a
        finite number, an empty text, or fewer than 3 pairs; the row is named.
    """
    import csv

    path = _existing(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        frame = _read_parquet_table(path).to_pandas()
    elif suffix in (".csv", ".tsv"):
        _check_utf8(path)
        quoting = csv.QUOTE_NONE if suffix == ".tsv" else csv.QUOTE_MINIMAL
        try:
            frame = pd.read_csv(
                path,
                sep="\t" if suffix == ".tsv" else ",",
                dtype=str,
                keep_default_na=False,
                quoting=quoting,
                encoding="utf-8-sig",
            )
        except pd.errors.ParserError as exc:
            raise InputError(
                f"{path.name}: ragged or malformed table ({_first_line(exc)})"
            ) from None
        except pd.errors.EmptyDataError:
            raise InputError(f"{path.name}: the file is empty") from None
    else:
        raise InputError(f"{path.name}: pairs must be a .csv, .tsv or .parquet table")
    missing = [c for c in (text1, text2, score) if c not in frame.columns]
    if missing:
        raise InputError(
            f"{path.name}: no column {', '.join(map(repr, missing))} for the pairs (columns: "
            f"{', '.join(map(str, frame.columns))}); name them with --pair-columns"
        )
    scores = pd.to_numeric(frame[score], errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(scores))
    if len(bad):
        raise InputError(
            f"{path.name}: row {int(bad[0])}: score {frame[score].iloc[bad[0]]!r} is not a number"
        )
    texts = []
    for column in (text1, text2):
        values = frame[column].fillna("").astype(str)
        empty = np.flatnonzero((values.str.strip() == "").to_numpy())
        if len(empty):
            raise InputError(f"{path.name}: row {int(empty[0])}: the text in '{column}' is empty")
        texts.append(values.tolist())
    if len(scores) < 3:
        raise InputError(f"{path.name}: {len(scores)} pair(s); a rank correlation needs 3 or more")
    return LabelledPairs(texts[0], texts[1], scores, str(path))
