"""Labelled pairs of texts (two text columns and a score), e.g. the STS Benchmark."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from embreduce.exceptions import InputError
from embreduce.io.parquet import read_parquet_table
from embreduce.io.tables import check_utf8, first_line
from embreduce.io.vectors import existing_file


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
        finite number, an empty text (the row is named), fewer than 3 pairs, or scores that
        are all equal.
    """
    import csv

    path = existing_file(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        frame = read_parquet_table(path).to_pandas()
    elif suffix in (".csv", ".tsv"):
        check_utf8(path)
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
                f"{path.name}: ragged or malformed table ({first_line(exc)})"
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
        value = frame[score].iloc[bad[0]]
        shown = repr(value) if isinstance(value, str) else str(value)
        raise InputError(f"{path.name}: row {int(bad[0])}: score {shown} is not a finite number")
    texts = []
    for column in (text1, text2):
        values = frame[column].fillna("").astype(str)
        empty = np.flatnonzero((values.str.strip() == "").to_numpy())
        if len(empty):
            raise InputError(f"{path.name}: row {int(empty[0])}: the text in '{column}' is empty")
        texts.append(values.tolist())
    if len(scores) < 3:
        raise InputError(f"{path.name}: {len(scores)} pair(s); a rank correlation needs 3 or more")
    if np.ptp(scores) == 0:
        raise InputError(
            f"{path.name}: every pair has the score {scores[0]:g}; a rank correlation needs "
            f"scores that differ (is '{score}' the score column?)"
        )
    return LabelledPairs(texts[0], texts[1], scores, str(path))
