"""Metrics of how well reduced vectors keep pairwise cosine similarities.

Pairwise similarities are computed in blocks (memory ``O(block x n)``); every pair
``i < j`` is used up to 50,000 vectors, a seeded sample beyond. See
:func:`similarity_metrics` for what is measured and how exactly.
"""

from embreduce.metrics.blocks import pairwise_cosine_blocks
from embreduce.metrics.distributions import (
    DEFAULT_MAX_PAIRS,
    EXACT_MAX_N,
    base_distribution,
    similarity_metrics,
)
from embreduce.metrics.histograms import COS_EDGES, DIFF_EDGES
from embreduce.metrics.limit import similarity_limit
from embreduce.metrics.neighbours import recall_at_k, trustworthiness

__all__ = [
    "COS_EDGES",
    "DEFAULT_MAX_PAIRS",
    "DIFF_EDGES",
    "EXACT_MAX_N",
    "base_distribution",
    "pairwise_cosine_blocks",
    "recall_at_k",
    "similarity_limit",
    "similarity_metrics",
    "trustworthiness",
]
