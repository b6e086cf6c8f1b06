"""One order of the candidates, best first, and the recommendation read off it.

The CLI's table, the report's table and :func:`recommend` all use :func:`rank_rows`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from embreduce.study.candidates import (
    is_candidate,
    is_reference,
    recall_column,
    row_bits,
    row_bytes,
)


def _score(row: dict[str, Any], rank_by: str) -> float:
    """A row's quality: the retained share of the pairs' Spearman, or the cosine Spearman."""
    value = row.get("pairs_retained" if rank_by == "pairs" else "spearman")
    value = float("nan") if value in (None, "") else float(value)
    return -math.inf if math.isnan(value) else value


def rank_rows(
    rows: Sequence[dict[str, Any]], rank_by: str = "cosine", *, split: str = "eval"
) -> list[dict[str, Any]]:
    """A split's rows best first (held-out by default), the references (``original``
    32-bit, ``limit``) last.

    ``rank_by="cosine"`` orders by the rank agreement of the pair cosines with the
    originals (``spearman``), ``"pairs"`` by the share of the original vectors' Spearman
    on the labelled pairs a candidate keeps (``pairs_retained``); ties go to the smaller
    size. The CLI's table, the report's table and :func:`recommend` all use this order.
    """
    chosen = [r for r in rows if r["split"] == split]
    return sorted(chosen, key=lambda r: (is_reference(r), -_score(r, rank_by), row_bytes(r)))


def recommend(
    rows: Sequence[dict[str, Any]],
    tolerance: float = 0.01,
    k: int = 10,
    *,
    rank_by: str = "cosine",
    budget: int | None = None,
    input_dim: int | None = None,
) -> dict[str, Any] | None:
    """Pick the smallest candidate that keeps nearly all of the best candidate's quality.

    Quality is ``spearman`` (how well the candidate keeps the order of the pair cosines,
    1 = perfectly) with ``rank_by="cosine"``, or ``pairs_retained`` (the share of the
    uncompressed vectors' Spearman on the labelled pairs it keeps) with
    ``rank_by="pairs"``. Without ``budget``: the fewest bytes a vector whose quality is
    within ``tolerance`` of the best candidate's. With ``budget``: the best candidate of
    at most ``budget`` bytes.

    Parameters
    ----------
    rows : sequence of dict
        Result rows (see :func:`result_columns`).
    tolerance : float
        Share of quality that may be given up for size; 0.01 = one point.
    k : int
        The study's neighbours: which recall column the reason quotes.
    rank_by : {"cosine", "pairs"}
    budget : int, optional
        Bytes a vector.
    input_dim : int, optional
        The input dimension, for the "Nx smaller than float32" factor.

    Returns
    -------
    dict or None
        ``{"method", "dim", "bits", "bytes", "reason", ...}``; None without candidates.
    """
    candidates = [r for r in rows if is_candidate(r) and _score(r, rank_by) > -math.inf]
    if budget is not None:
        candidates = [r for r in candidates if row_bytes(r) <= budget]
    if not candidates:
        return None
    best = max(candidates, key=lambda r: (_score(r, rank_by), -row_bytes(r)))
    if budget is None:
        floor = _score(best, rank_by) - tolerance
        ok = [r for r in candidates if _score(r, rank_by) >= floor]
        pick = min(ok, key=lambda r: (row_bytes(r), -_score(r, rank_by)))
    else:
        pick = best
    return _recommendation(pick, best, rank_by, tolerance, k, budget, input_dim)


def _recommendation(
    pick: dict[str, Any],
    best: dict[str, Any],
    rank_by: str,
    tolerance: float,
    k: int,
    budget: int | None,
    input_dim: int | None,
) -> dict[str, Any]:
    bits, size = row_bits(pick), row_bytes(pick)
    name = f"{pick['method']}-{pick['dim']} at {bits} bits"
    reason = f"{name}: {size:,} bytes a vector"
    if input_dim:
        reason += f", {4 * input_dim / size:.3g}x smaller than float32 {input_dim}-d"
    kept = _score(pick, rank_by)
    if rank_by == "pairs":
        reason += (
            f", keeps {kept:.1%} of the original vectors' Spearman on your pairs "
            f"({pick['pairs_spearman']:.1f})"
        )
    else:
        reason += f", keeps the order of the pair cosines at Spearman {pick['spearman']:.4f}"
    recall = pick.get(recall_column(k))
    if recall not in (None, ""):
        reason += f", recall@{k} {float(recall):.3f}"
    reason += f"; mean diff {pick['mean']:+.4f}, std {pick['std']:.4f}"
    if budget is not None:
        reason += f"; the best candidate within the budget of {budget:,} bytes"
    elif best is not pick:
        reason += (
            f"; the smallest within {tolerance:.0%} of the best, {best['method']}-"
            f"{best['dim']} at {row_bits(best)} bits ({row_bytes(best):,} bytes)"
        )
    return {
        "method": pick["method"],
        "dim": int(pick["dim"]),
        "bits": bits,
        "bytes": size,
        "retained": kept,
        "rank_by": rank_by,
        "budget": budget,
        "codec": pick.get("codec"),
        "tolerance": tolerance,
        "reason": reason,
    }
