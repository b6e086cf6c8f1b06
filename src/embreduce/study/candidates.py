"""A study's candidates: their names, sizes, and model folders."""

from __future__ import annotations

from typing import Any

LIMIT = "limit"


ORIGINAL = "original"
"""The reference rows of the input vectors, quantized but not reduced."""


def candidate_name(method: str, rotation: str | None = None) -> str:
    """A candidate's name in the results: the method, ``+<rotation>`` for a rotated codec."""
    return f"{method}+{rotation}" if rotation else method


def split_candidate(name: str) -> tuple[str, str | None]:
    """``(method, rotation or None)`` of a candidate's name (see :func:`candidate_name`)."""
    method, _, rotation = name.partition("+")
    return method, rotation or None


def row_bits(row: dict[str, Any]) -> int:
    """A row's bits a dimension (32 for rows of studies before precisions)."""
    bits = row.get("bits")
    return 32 if bits in (None, "") else int(bits)


def row_bytes(row: dict[str, Any]) -> int:
    """A row's bytes a vector: ``ceil(dim * bits / 8)``."""
    size = row.get("bytes")
    return -(-int(row["dim"]) * row_bits(row) // 8) if size in (None, "") else int(size)


def is_reference(row: dict[str, Any]) -> bool:
    """A row to compare with, not to pick: the ``limit``, or the uncompressed input."""
    return row["method"] == LIMIT or (row["method"] == ORIGINAL and row_bits(row) == 32)


def is_candidate(row: dict[str, Any]) -> bool:
    """A held-out row one could pick: not the ``limit``, not the uncompressed input."""
    return row["split"] == "eval" and not is_reference(row)


def model_folder(method: str, dim: int) -> str:
    """Where a study saves a candidate's model, relative to its folder: ``models/pca-64``.

    A rotated candidate (``pca+itq``) shares its method's model; the ``original``
    candidates have one too (the identity, saved as a truncation to every dimension).
    """
    return f"models/{split_candidate(method)[0]}-{int(dim)}"


def recall_column(k: int = 10) -> str:
    """The results column of recall@k: ``recall_at_10`` for the default ``k=10``."""
    return f"recall_at_{k}"
