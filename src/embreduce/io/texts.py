"""Texts to embed: one per line of a ``.txt``, or a column of a CSV/TSV/Parquet/JSONL table."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from embreduce.exceptions import InputError
from embreduce.io.columns import TEXT_COLUMN
from embreduce.io.parquet import (
    check_parquet_not_codes,
    find_vector_column,
    read_parquet_schema,
    read_parquet_table,
)
from embreduce.io.retrieval import read_jsonl
from embreduce.io.tables import check_utf8, is_number, read_delimited
from embreduce.io.vectors import existing_file


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


def read_items(path: str | os.PathLike[str], *, text_column: str | None = None) -> TextItems:
    """Read texts to embed: one per line of a ``.txt``, or a column of a CSV/TSV/Parquet/JSONL
    table (BEIR's ``corpus.jsonl``: ``title`` and ``text`` joined by a space).

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
    path = existing_file(path)
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".parquet", ".jsonl"):
        if suffix == ".parquet":
            frame = read_parquet_table(path).to_pandas()
        elif suffix == ".jsonl":
            frame = _beir_texts(read_jsonl(path))
        else:
            frame = read_delimited(path, header=0)
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
        check_utf8(path)
        lines = path.read_text(encoding="utf-8-sig").splitlines()  # no BOM in the first text
        texts = [line for line in lines if line.strip()]
        n_blank = len(lines) - len(texts)
        metadata = None
    if not texts:
        raise InputError(f"{path.name}: no texts found (all {n_blank} line(s) are blank)")
    return TextItems(texts, metadata, n_blank, str(path))


def _beir_texts(frame: pd.DataFrame) -> pd.DataFrame:
    """A JSONL table with BEIR's ``title`` and ``text``: the text is both, joined by a space.
    Nested fields (BEIR's ``metadata: {}``) are left out."""
    nested = [
        c
        for c in frame.columns
        if frame[c].map(lambda v: isinstance(v, list | dict)).any() and c != TEXT_COLUMN
    ]
    frame = frame.drop(columns=nested)
    if TEXT_COLUMN in frame.columns and "title" in frame.columns:
        frame = frame.copy()
        title = frame.pop("title").fillna("").astype(str)
        frame[TEXT_COLUMN] = (title + " " + frame[TEXT_COLUMN].fillna("").astype(str)).str.strip()
    return frame


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
    path = existing_file(path)
    suffix = path.suffix.lower()
    if suffix in (".npy", ".npz"):
        return True
    if suffix == ".parquet":
        schema = read_parquet_schema(path)
        check_parquet_not_codes(path, schema)  # codes are not texts to embed either
        return find_vector_column(schema) is not None
    if suffix in (".csv", ".tsv"):
        raw = read_delimited(path, header=None)
        if text_column is not None and len(raw) and text_column in set(raw.iloc[0]):
            return len(raw.columns) > 2
        body = raw.iloc[1:] if len(raw) > 1 else raw
        numeric = [c for c in raw.columns if all(is_number(v) for v in body[c])]
        return len(numeric) >= 2 and len(numeric) * 2 > len(raw.columns)
    return False
