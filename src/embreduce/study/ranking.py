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

SCORE_COLUMNS = {
    "pairs": ("select_pairs_retained", "pairs_retained"),
    "cosine": ("spearman",),
    "retrieval": ("select_retrieval_retained", "retrieval_retained"),
}
"""The column each ranking orders by (the second for studies written before the selection
halves). A study chooses on the selection half of the user's labels (pairs or queries); the
confirmation half's ``pairs_retained`` / ``retrieval_retained`` is what it reports."""


def _score(row: dict[str, Any], rank_by: str) -> float:
    """A row's quality: the selection half's retained share of the pairs' Spearman, the
    cosine Spearman, or the selection queries' retained share of float32 search quality."""
    names = SCORE_COLUMNS[rank_by]
    value = next((row[n] for n in names if row.get(n) not in (None, "")), None)
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
    oversample: Sequence[int] = (),
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
    oversample : sequence of int
        A retrieval study's re-scoring factors: the recommendation also names the smallest
        one at which the pick keeps ``1 - tolerance`` of float32 on the selection queries.

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
    rec = _recommendation(pick, best, rank_by, tolerance, k, budget, input_dim, oversample)
    if rank_by == "retrieval":
        rec.update(_retrieval_pick(pick, tolerance, oversample))
        rescored = _smallest_rescored(candidates, tolerance, oversample)
        if rescored is not None and row_bytes(rescored[0]) < rec["bytes"]:
            row, factor = rescored
            retained = float(row[f"retrieval_retained_x{factor}"])
            rec["with_rescoring"] = {
                "method": row["method"],
                "dim": int(row["dim"]),
                "codec": row.get("codec"),
                "bytes": row_bytes(row),
                "oversample": factor,
                "retained": retained,
            }
            rec["reason"] += (
                f". Or store {row_bytes(row):,} bytes a vector and re-score: "
                f"{row['method']}-{row['dim']} ({row.get('codec')}) re-scored x{factor} with "
                f"float32 vectors keeps {retained:.1%} on held-out queries"
            )
    return rec


def _smallest_rescored(
    candidates: Sequence[dict[str, Any]], tolerance: float, oversample: Sequence[int]
) -> tuple[dict[str, Any], int] | None:
    """The fewest bytes a vector (then the smallest factor) whose re-scored selection-half
    share reaches ``1 - tolerance``, with that factor; None when none does."""
    from embreduce.study.retrieval import smallest_oversample

    found = []
    for row in candidates:
        factor = smallest_oversample(row, [o for o in oversample if o > 1], 1 - tolerance)
        if factor is not None:
            found.append((row_bytes(row), factor, row))
    if not found:
        return None
    size, factor, row = min(found, key=lambda t: (t[0], t[1]))
    return row, factor


def _retrieval_pick(
    pick: dict[str, Any], tolerance: float, oversample: Sequence[int]
) -> dict[str, Any]:
    """The confirmation queries' share (which took no part in the choice), the selection
    half's, and the smallest re-scoring factor that reaches ``1 - tolerance`` on the
    selection queries."""
    from embreduce.study.retrieval import smallest_oversample

    factor = smallest_oversample(pick, oversample or (1,), 1 - tolerance)
    out: dict[str, Any] = {
        "retained": float(pick["retrieval_retained"]),
        "selection_retained": float(pick["select_retrieval_retained"]),
        "oversample": factor,
    }
    if factor is not None and factor > 1:
        out["retained_rescored"] = float(pick[f"retrieval_retained_x{factor}"])
    return out


def _retrieval_clause(pick: dict[str, Any], tolerance: float, oversample: Sequence[int]) -> str:
    facts = _retrieval_pick(pick, tolerance, oversample)
    text = (
        f", keeps {facts['retained']:.1%} of float32 search quality on held-out queries "
        f"({pick.get('n_queries')} queries the choice never saw; "
        f"{facts['selection_retained']:.1%} on the selection half)"
    )
    factor = facts["oversample"]
    if factor is not None and factor > 1:
        text += (
            f"; re-scoring x{factor} with float32 vectors keeps {facts['retained_rescored']:.1%}"
        )
    elif factor is None and oversample:
        text += f"; no re-scoring factor up to x{max(oversample)} reaches {1 - tolerance:.0%}"
    return text


def _recommendation(
    pick: dict[str, Any],
    best: dict[str, Any],
    rank_by: str,
    tolerance: float,
    k: int,
    budget: int | None,
    input_dim: int | None,
    oversample: Sequence[int] = (),
) -> dict[str, Any]:
    bits, size = row_bits(pick), row_bytes(pick)
    whole = float(pick.get("bits") or 32).is_integer()  # a FAISS code's bits are a share
    name = f"{pick['method']}-{pick['dim']}" + (f" at {bits} bits" if whole else "")
    reason = f"{name}: {size:,} bytes a vector"
    if input_dim:
        reason += f", {4 * input_dim / size:.3g}x smaller than float32 {input_dim}-d"
    kept = _score(pick, rank_by)
    if rank_by == "pairs":
        kept = float(pick["pairs_retained"])  # the confirmation half, when there is one
        chosen = pick.get("select_pairs_retained")
        held_out = chosen not in (None, "") and chosen != pick["pairs_retained"]
        reason += (
            f", keeps {kept:.1%} of the original vectors' Spearman on "
            + (f"held-out pairs ({pick['pairs_spearman']:.1f}; " if held_out else "your pairs (")
            + (f"{float(chosen):.1%} on the pairs it was chosen on)" if held_out else "")
            + ("" if held_out else f"{pick['pairs_spearman']:.1f})")
        )
    elif rank_by == "retrieval":
        reason += _retrieval_clause(pick, tolerance, oversample)
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
