"""A BEIR folder's precomputed vectors and test judgements, as the benchmarks read them.

The shared ArguAna folder holds ``corpus-minilm.npz`` and ``queries-test-minilm.npz``
(``vectors`` and ``ids``) beside ``qrels/``; users do not have it, and no test reads it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def load_judged(folder: Path, qrels: str = "qrels/test.tsv"):
    """``(X, Q, judged)``: the corpus vectors, the judged queries' vectors (float32, in
    the order of ``judged``'s rows) and the judgements
    (:func:`embreduce.metrics.retrieval.judgements`)."""
    from embreduce.io.retrieval import read_qrels
    from embreduce.metrics.retrieval import judgements

    corpus = np.load(folder / "corpus-minilm.npz")
    queries = np.load(folder / "queries-test-minilm.npz")
    judged = judgements(read_qrels(folder / qrels), list(queries["ids"]), list(corpus["ids"]))
    X = np.ascontiguousarray(corpus["vectors"], np.float32)
    Q = np.ascontiguousarray(queries["vectors"][judged.query_rows], np.float32)
    return X, Q, judged
