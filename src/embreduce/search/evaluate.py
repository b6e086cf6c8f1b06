"""An index scored on queries and qrels, with the study's measures and rules."""

from __future__ import annotations

from typing import Any

import numpy as np

from embreduce.metrics.retrieval import judgements, ndcg_at_k, recall_at_k
from embreduce.search.index import SearchIndex


def evaluate_index(
    index: SearchIndex,
    query_ids: list[str],
    queries: np.ndarray,
    qrels: dict[str, dict[str, float]],
    *,
    oversample: int = 1,
    drop_self: bool = True,
) -> dict[str, Any]:
    """nDCG@10 and recall@100 of ``index`` on judged queries (see
    :mod:`embreduce.metrics.retrieval`): the figures the study reports for the same
    candidate on the same queries.

    Parameters
    ----------
    index : SearchIndex
    query_ids : list of str
    queries : ndarray of shape (n, input_dim)
        The query vectors, by ``query_ids``.
    qrels : dict
        ``{query id: {corpus id: grade}}``.
    oversample : int
        Re-score ``k x oversample`` first-pass hits (an index built with ``--refine``).
    drop_self : bool
        A document whose id is the query's own is never a hit.
    """
    judged = judgements(qrels, query_ids, index.ids, drop_self=drop_self)
    exclude = [index.ids[r] if r >= 0 else None for r in judged.exclude]
    Q = queries[judged.query_rows]
    out: dict[str, Any] = {"queries": len(judged)}
    for name, measure, cutoff in (
        ("ndcg_at_10", ndcg_at_k, 10),
        ("recall_at_100", recall_at_k, 100),
    ):
        rows, _ = index.search_rows(Q, cutoff, oversample=oversample, exclude=exclude)
        out[name] = float(measure(rows, judged, cutoff).mean())
    return out
