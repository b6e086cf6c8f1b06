"""A retrieval task's files: BEIR's layout (``corpus.jsonl``, ``queries.jsonl``, qrels TSV).

=================  =========================================================================
file               columns
=================  =========================================================================
corpus             ``_id``, ``title``, ``text`` (JSONL; also CSV/TSV/Parquet); the text
                   embedded is ``title + " " + text``, stripped. Or vectors (``.npz``,
                   ``.parquet``, ``.npy``) with an id column (``_id``, ``id``, ``ids``...).
queries            ``_id``, ``text``; or vectors with an id column
qrels              ``query-id``, ``corpus-id``, ``score`` (TSV/CSV/Parquet; header optional)
=================  =========================================================================
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from embreduce.exceptions import InputError
from embreduce.io.tables import check_utf8, read_delimited
from embreduce.io.vectors import existing_file

ID_COLUMNS = ("_id", "id", "ids", "doc_id", "docid", "query_id", "query-id", "corpus-id")
"""Columns that name a row's id, first found wins."""
QRELS_COLUMNS = ("query-id", "corpus-id", "score")


def read_jsonl(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A JSON-lines file as a table (one object a line; blank lines skipped)."""
    path = existing_file(path)
    check_utf8(path)
    records = []
    with open(path, encoding="utf-8-sig") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path.name}: line {number} is not JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise InputError(f"{path.name}: line {number} is not a JSON object")
            records.append(record)
    if not records:
        raise InputError(f"{path.name}: the file is empty")
    return pd.DataFrame.from_records(records)


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A JSONL, CSV/TSV or Parquet table, its cells as read."""
    path = existing_file(path)
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json"):
        return read_jsonl(path)
    if suffix == ".parquet":
        from embreduce.io.parquet import read_parquet_table

        return read_parquet_table(path).to_pandas()
    if suffix in (".csv", ".tsv"):
        return read_delimited(path, header=0)
    raise InputError(f"{path.name}: expected .jsonl, .csv, .tsv or .parquet")


def id_column(frame: pd.DataFrame, source: str) -> str:
    """The name of a table's id column (see :data:`ID_COLUMNS`)."""
    for name in ID_COLUMNS:
        if name in frame.columns:
            return name
    raise InputError(
        f"{source}: no id column (one of {', '.join(ID_COLUMNS)}); columns are: "
        f"{', '.join(map(str, frame.columns)) or '(none)'}"
    )


def check_ids(ids: list[str], source: str) -> list[str]:
    """Refuse empty or repeated ids; return them as strings."""
    ids = [str(i) for i in ids]
    blank = [n for n, i in enumerate(ids) if not i.strip()]
    if blank:
        raise InputError(f"{source}: row {blank[0]} has an empty id")
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            raise InputError(f"{source}: the id {i!r} appears more than once; ids must be unique")
        seen.add(i)
    return ids


def read_id_texts(
    path: str | os.PathLike[str], *, join_title: bool = True
) -> tuple[list[str], list[str]]:
    """``(ids, texts)`` of a corpus or queries table: ``text`` (with ``title`` before it,
    joined by a space, when ``join_title``). A row without text is refused."""
    path = Path(path)
    frame = read_table(path)
    col = id_column(frame, path.name)
    if "text" not in frame.columns:
        raise InputError(
            f"{path.name}: no 'text' column; columns are: {', '.join(map(str, frame.columns))}"
        )
    text = frame["text"].fillna("").astype(str)
    if join_title and "title" in frame.columns:
        text = frame["title"].fillna("").astype(str) + " " + text
    texts = [t.strip() for t in text]
    ids = check_ids(frame[col].tolist(), path.name)
    empty = [i for i, t in zip(ids, texts, strict=True) if not t]
    if empty:
        raise InputError(f"{path.name}: {len(empty):,} row(s) have no text (first: {empty[0]!r})")
    return ids, texts


def read_qrels(path: str | os.PathLike[str]) -> dict[str, dict[str, float]]:
    """Relevance judgements: ``{query id: {corpus id: score}}``.

    A TSV/CSV (header optional) or Parquet of ``query-id``, ``corpus-id``, ``score``; a
    four-column TREC file (``qid 0 docid score``) is read too.

    Raises
    ------
    InputError
        An empty file, a score that is not a number, a pair judged twice.
    """
    path = existing_file(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        frame = read_table(path)
        missing = [c for c in QRELS_COLUMNS if c not in frame.columns]
        if missing:
            raise InputError(f"{path.name}: no column(s) {', '.join(missing)}")
        frame = frame[list(QRELS_COLUMNS)].astype(str)
    else:
        sep = "," if suffix == ".csv" else None
        frame = _read_plain_qrels(path, sep)
    if frame.empty:
        raise InputError(f"{path.name}: no judgements (the file is empty)")
    scores = pd.to_numeric(frame.iloc[:, 2], errors="coerce")
    bad = np.flatnonzero(~np.isfinite(scores.to_numpy(dtype=float)))
    if len(bad):
        raise InputError(
            f"{path.name}: row {int(bad[0]) + 1}'s score {frame.iloc[bad[0], 2]!r} is not a number"
        )
    qrels: dict[str, dict[str, float]] = {}
    for q, d, s in zip(frame.iloc[:, 0], frame.iloc[:, 1], scores, strict=True):
        docs = qrels.setdefault(str(q), {})
        if str(d) in docs:
            raise InputError(f"{path.name}: query {q!r} judges document {d!r} twice")
        docs[str(d)] = float(s)
    return qrels


def _read_plain_qrels(path: Path, sep: str | None) -> pd.DataFrame:
    check_utf8(path)
    lines = [ln for ln in path.read_text("utf-8-sig").splitlines() if ln.strip()]
    if not lines:
        raise InputError(f"{path.name}: no judgements (the file is empty)")
    rows = [ln.split(sep) if sep else ln.split() for ln in lines]
    widths = {len(r) for r in rows}
    if widths == {4}:  # TREC: query, iteration, document, relevance
        rows = [[r[0], r[2], r[3]] for r in rows]
    elif widths != {3}:
        raise InputError(
            f"{path.name}: expected three columns (query-id, corpus-id, score) on every line"
        )
    try:
        float(rows[0][2])
    except ValueError:  # a header
        rows = rows[1:]
    return pd.DataFrame(rows, columns=list(QRELS_COLUMNS))


def row_ids(data: Any, source: str, *, required: bool = True) -> list[str] | None:
    """The ids of an :class:`~embreduce.io.EmbeddingSet`'s rows, from its id column.

    Returns None when it has none and ``required`` is false.
    """
    frame = data.metadata if data.metadata is not None else pd.DataFrame()
    if not any(c in frame.columns for c in ID_COLUMNS):
        if not required:
            return None
        raise InputError(
            f"{source} has no id column (one of {', '.join(ID_COLUMNS)}), which the qrels "
            "need: give a corpus.jsonl with _id, or vectors saved with their ids"
        )
    return check_ids(frame[id_column(frame, source)].tolist(), source)


def read_queries(path: str | os.PathLike[str]) -> tuple[list[str], Any]:
    """``(ids, queries)`` of a queries file: an :class:`~embreduce.io.EmbeddingSet` when it
    holds vectors with an id column, else the texts (``_id``/``text``) to embed."""
    from embreduce.io import holds_vectors, load_vectors

    if holds_vectors(path):
        data = load_vectors(path)
        return row_ids(data, f"queries {path}"), data
    return read_id_texts(path, join_title=False)
