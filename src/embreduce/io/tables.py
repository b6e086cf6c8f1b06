"""Delimited tables (``.csv``/``.tsv``): numbers with labels, UTF-8 checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from embreduce.exceptions import InputError, first_line
from embreduce.io.columns import TEXT_COLUMN
from embreduce.io.embedding_set import EmbeddingSet


def split_labels(
    frame: pd.DataFrame, text_column: str | None, source: str
) -> tuple[list[str] | None, pd.DataFrame | None]:
    """A frame's text column (``text_column``, else ``text``) and the other columns."""
    if text_column is not None and text_column not in frame.columns:
        raise InputError(
            f"{source}: no text column '{text_column}'; columns are: "
            f"{', '.join(map(str, frame.columns)) or '(none)'}"
        )
    col = text_column or (TEXT_COLUMN if TEXT_COLUMN in frame.columns else None)
    texts = frame[col].astype(str).tolist() if col is not None else None
    rest = frame.drop(columns=[col]) if col is not None else frame
    return texts, (rest.reset_index(drop=True) if len(rest.columns) else None)


def split_numeric_frame(
    frame: pd.DataFrame, source: str, text_column: str | None, info: dict[str, Any]
) -> EmbeddingSet:
    """A table of numbers as an :class:`EmbeddingSet`, labels from its other columns."""
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    if text_column is not None and text_column in numeric:
        numeric.remove(text_column)
    if not numeric:
        raise InputError(f"{source}: no numeric columns or vector column found")
    texts, metadata = split_labels(frame.drop(columns=numeric), text_column, source)
    if texts is None and metadata is not None:  # first non-numeric column is the label
        first = metadata.columns[0]
        texts = metadata[first].astype(str).tolist()
        metadata = metadata.drop(columns=[first])
        metadata = metadata if len(metadata.columns) else None
    return EmbeddingSet(frame[numeric].to_numpy(), texts, metadata, info)


def read_delimited(path: Path, header: int | None) -> pd.DataFrame:
    """A CSV/TSV as strings (UTF-8 checked), or a one-line :class:`InputError`."""
    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    check_utf8(path)
    try:
        return pd.read_csv(path, sep=sep, header=header, dtype=str, keep_default_na=False)
    except pd.errors.ParserError as exc:
        raise InputError(f"{path.name}: ragged or malformed table ({first_line(exc)})") from None
    except pd.errors.EmptyDataError:
        raise InputError(f"{path.name}: the file is empty") from None


def is_number(value: str) -> bool:
    """Whether ``value`` parses as a float."""
    try:
        float(value)
    except ValueError:
        return False
    return True


def load_numeric_table(path: Path, text_column: str | None) -> EmbeddingSet:
    """Read a CSV/TSV of numbers, with or without a header and a label column."""
    raw = read_delimited(path, header=None)
    if raw.empty:
        raise InputError(f"{path.name}: the file is empty")
    numeric_cols = [c for c in raw.columns if all(is_number(v) for v in raw[c].iloc[1:])]
    if len(raw) == 1:
        numeric_cols = [c for c in raw.columns if is_number(raw[c].iloc[0])]
    has_header = len(raw) > 1 and not all(is_number(raw[c].iloc[0]) for c in numeric_cols)
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
    return split_numeric_frame(frame, path.name, text_column, {})


def check_utf8(path: Path) -> None:
    """Raise a one-line :class:`InputError` naming the first byte that is not UTF-8."""
    with open(path, "rb") as fh:
        data = fh.read()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path.name}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from None
