"""Retrieval quality: search queries against a corpus, nDCG@k and recall@k against qrels.

A search scores every corpus row against every query by the inner product of the rows it is
given (unit rows: the cosine), in blocks of queries (memory ``O(block x n)``), and keeps the
best ``k`` of each query, ties broken by the lower corpus row. :func:`rescore` re-ranks the
first pass's candidates with fuller vectors, as a search over codes re-scores its best
``k x oversample`` candidates with the float vectors.

The measures are those of ``trec_eval`` (``pytrec_eval``), as BEIR and MTEB report them:
nDCG@k with the judged grades as gains and a ``log2(rank + 1)`` discount, its ideal from the
query's judged documents; recall@k the share of a query's relevant documents (grade > 0)
found in its top ``k``. Each query's figure is returned, so that any subset of queries (a
selection half, a confirmation half) is a mean of its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from embreduce.exceptions import InputError

SEARCH_BLOCK = 256
"""Queries scored against the whole corpus at once."""
RESCORE_VALUES = 4_000_000
"""Candidate vector values gathered at once when re-scoring (16 MB of float32)."""


@dataclass(frozen=True)
class Judgements:
    """Qrels mapped onto corpus rows: what each judged query should find.

    Attributes
    ----------
    query_ids : list of str
        The judged queries, in the order of the query rows they belong to.
    query_rows : ndarray of int64
        Each judged query's row in the query vectors.
    relevant : list of (ndarray of int64, ndarray of float64)
        Per judged query, the corpus rows it judges and their grades.
    exclude : ndarray of int64
        Per judged query, the corpus row to drop from its hits (the document whose id is
        the query's own, BEIR's ``ignore_identical_ids``), or ``-1``.
    """

    query_ids: list[str]
    query_rows: NDArray[np.int64]
    relevant: list[tuple[NDArray[np.int64], NDArray[np.float64]]]
    exclude: NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.query_ids)

    def subset(self, rows: ArrayLike) -> Judgements:
        """The judgements of the judged queries at positions ``rows``."""
        rows = np.asarray(rows, dtype=np.int64)
        return Judgements(
            [self.query_ids[i] for i in rows],
            self.query_rows[rows],
            [self.relevant[i] for i in rows],
            self.exclude[rows],
        )


def judgements(
    qrels: Mapping[str, Mapping[str, float]],
    query_ids: Sequence[str],
    corpus_ids: Sequence[str],
    *,
    drop_self: bool = True,
) -> Judgements:
    """Map qrels (``query id -> {corpus id: grade}``) onto query and corpus rows.

    Queries whose judgements hold no relevant document (grade > 0) are left out, as
    ``trec_eval`` leaves them out. With ``drop_self`` a corpus document whose id is the
    query's own is never a hit (BEIR's and MTEB's rule for ArguAna and Quora).

    Raises
    ------
    InputError
        Qrels that name a query or a corpus id that is not there, or no relevant judgement.
    """
    query_row = {q: i for i, q in enumerate(query_ids)}
    corpus_row = {d: i for i, d in enumerate(corpus_ids)}
    unknown_q = [q for q in qrels if q not in query_row]
    if unknown_q:
        raise InputError(
            f"qrels name {len(unknown_q):,} query id(s) that the queries do not have "
            f"(first: {unknown_q[0]!r})"
        )
    unknown_d = sorted({d for docs in qrels.values() for d in docs if d not in corpus_row})
    if unknown_d:
        raise InputError(
            f"qrels name {len(unknown_d):,} corpus id(s) that the corpus does not have "
            f"(first: {unknown_d[0]!r}); drop those rows (a document that cannot be found "
            "cannot be judged)"
        )
    ids, rows, relevant, exclude = [], [], [], []
    for q in sorted(qrels, key=query_row.__getitem__):
        docs = qrels[q]
        grades = np.array([float(g) for g in docs.values()], dtype=np.float64)
        if not (grades > 0).any():
            continue
        ids.append(q)
        rows.append(query_row[q])
        relevant.append((np.array([corpus_row[d] for d in docs], dtype=np.int64), grades))
        exclude.append(corpus_row.get(q, -1) if drop_self else -1)
    if not ids:
        raise InputError("the qrels judge no document relevant (every score is 0 or less)")
    return Judgements(ids, np.array(rows, dtype=np.int64), relevant, np.array(exclude, np.int64))


def search(
    queries: ArrayLike,
    corpus: ArrayLike,
    k: int,
    *,
    exclude: ArrayLike | None = None,
    bias: ArrayLike | None = None,
    block: int = SEARCH_BLOCK,
) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """The ``k`` corpus rows of largest inner product with each query, best first.

    Parameters
    ----------
    queries : array-like of shape (n_queries, d)
    corpus : array-like of shape (n, d)
    k : int
        Hits a query; at most ``n`` (one fewer where a row is excluded).
    exclude : array-like of int, optional
        Per query, a corpus row that is never a hit, or ``-1``.
    bias : array-like of shape (n,), optional
        Added to every score of a corpus row: with ``(1 - |x|^2) / 2`` the score of a unit
        query is ``1 - |q - x|^2 / 2``, FAISS's L2 search (:func:`l2_bias`).
    block : int
        Queries scored at once.

    Returns
    -------
    (indices, scores) : ndarrays of shape (n_queries, k)
        Ties are broken by the lower corpus row.

    Examples
    --------
    >>> import numpy as np
    >>> corpus = np.array([[1, 0], [0, 1], [0.6, 0.8]], np.float32)
    >>> search(np.array([[1, 0]], np.float32), corpus, 2)[0]
    array([[0, 2]])
    """
    Q = np.ascontiguousarray(queries, dtype=np.float32)
    C = np.ascontiguousarray(corpus, dtype=np.float32)
    if Q.ndim != 2 or C.ndim != 2 or Q.shape[1] != C.shape[1]:
        raise InputError(f"queries {Q.shape} and corpus {C.shape} must be rows of one width")
    limit = len(C) - (exclude is not None and bool(np.any(np.asarray(exclude) >= 0)))
    if not 1 <= k <= limit:
        raise InputError(f"k={k} hits a query, but the corpus offers {limit}")
    from embreduce.metrics.neighbours import top_k

    drop = None if exclude is None else np.asarray(exclude, dtype=np.int64)
    shift = None if bias is None else np.asarray(bias, dtype=np.float32)
    if shift is not None and shift.shape != (len(C),):
        raise InputError(f"bias has shape {shift.shape}, the corpus {len(C)} rows")
    out_idx = np.empty((len(Q), k), dtype=np.int64)
    out_val = np.empty((len(Q), k), dtype=np.float32)
    for start in range(0, len(Q), block):
        S = Q[start : start + block] @ C.T
        if shift is not None:
            S += shift
        if drop is not None:
            rows = np.flatnonzero(drop[start : start + block] >= 0)
            S[rows, drop[start + rows]] = -np.inf
        idx, _ = top_k(S, k)
        out_idx[start : start + block], out_val[start : start + block] = _sorted(S, idx)
    return out_idx, out_val


def l2_bias(corpus: ArrayLike) -> NDArray[np.float32]:
    """``(1 - |x|^2) / 2`` a corpus row: the :func:`search` bias that scores a unit query
    ``q`` by ``1 - |q - x|^2 / 2``, as FAISS's L2 search of unit vectors ranks.

    Examples
    --------
    >>> import numpy as np
    >>> corpus = np.array([[0.8, 0.6], [1.2, 0.9]], np.float32)  # the second decodes long
    >>> query = np.array([[0.8, 0.6]], np.float32)
    >>> search(query, corpus, 2)[0], search(query, corpus, 2, bias=l2_bias(corpus))[0]
    (array([[1, 0]]), array([[0, 1]]))
    """
    C = np.asarray(corpus, dtype=np.float32)
    return ((1.0 - np.einsum("ij,ij->i", C, C)) / 2).astype(np.float32)


def _sorted(
    S: NDArray[np.float32], idx: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """Each row's hits ``idx`` ordered by score, best first, ties by the lower row."""
    return order_hits(idx, np.take_along_axis(S, idx, axis=1))


def order_hits(
    rows: NDArray[np.int64], scores: NDArray[np.float32]
) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """Each query's hits ordered by score, best first, ties by the lower corpus row: the
    one order of every search in embreduce (the study's and ``SearchIndex``'s)."""
    order = np.lexsort((rows, -scores), axis=1)
    return np.take_along_axis(rows, order, axis=1), np.take_along_axis(scores, order, axis=1)


def rescore(
    candidates: ArrayLike,
    queries: ArrayLike,
    corpus: ArrayLike,
    k: int,
    *,
    return_scores: bool = False,
) -> Any:
    """Re-rank each query's ``candidates`` (corpus rows, best first) by the inner product
    of fuller vectors and keep the best ``k``; ties keep the first pass's order.

    Only the candidates' rows of ``corpus`` are read (a memory-mapped float16 file stays on
    disk but for them). With ``return_scores``, ``(rows, scores)``.

    Examples
    --------
    >>> import numpy as np
    >>> corpus = np.array([[1, 0], [0, 1], [0.6, 0.8]], np.float32)
    >>> rescore(np.array([[1, 2]]), np.array([[1, 0]], np.float32), corpus, 1)
    array([[2]])
    """
    cand = np.asarray(candidates, dtype=np.int64)
    if not 1 <= k <= cand.shape[1]:
        raise InputError(f"k={k} must be between 1 and the {cand.shape[1]} candidates")
    Q = np.asarray(queries, dtype=np.float32)
    out = np.empty((len(cand), k), dtype=np.int64)
    out_scores = np.empty((len(cand), k), dtype=np.float32)
    step = max(1, RESCORE_VALUES // max(1, cand.shape[1] * Q.shape[1]))
    for s in range(0, len(cand), step):  # a block of queries' candidate vectors at a time
        block = cand[s : s + step]
        vectors = np.asarray(corpus[block.ravel()], np.float32).reshape(*block.shape, -1)
        scores = np.einsum("qd,qcd->qc", Q[s : s + step], vectors)
        order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        out[s : s + step] = np.take_along_axis(block, order, axis=1)
        out_scores[s : s + step] = np.take_along_axis(scores, order, axis=1)
    return (out, out_scores) if return_scores else out


def ndcg_at_k(ranked: ArrayLike, judged: Judgements, k: int = 10) -> NDArray[np.float64]:
    """Each judged query's nDCG@k of its ranked corpus rows (``trec_eval``'s ``ndcg_cut``).

    ``ranked[i]`` is judged query ``i``'s hits, best first (at least ``k`` of them).

    Examples
    --------
    >>> import numpy as np
    >>> j = judgements({"q": {"a": 1}}, ["q"], ["a", "b"])
    >>> ndcg_at_k(np.array([[1, 0]]), j, k=2).round(4)
    array([0.6309])
    """
    ranked = np.asarray(ranked, dtype=np.int64)[:, :k]
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    out = np.empty(len(judged), dtype=np.float64)
    for i, (docs, grades) in enumerate(judged.relevant):
        gain = dict(zip(docs.tolist(), grades.tolist(), strict=True))
        dcg = sum(
            max(gain.get(d, 0.0), 0.0) * w
            for d, w in zip(ranked[i].tolist(), discount, strict=False)
        )
        ideal = np.sort(np.clip(grades, 0, None))[::-1][:k]
        out[i] = dcg / float(ideal @ discount[: len(ideal)])
    return out


def recall_at_k(ranked: ArrayLike, judged: Judgements, k: int = 100) -> NDArray[np.float64]:
    """Each judged query's share of its relevant documents (grade > 0) in its top ``k``.

    Examples
    --------
    >>> import numpy as np
    >>> j = judgements({"q": {"a": 1, "c": 2}}, ["q"], ["a", "b", "c"])
    >>> recall_at_k(np.array([[1, 0, 2]]), j, k=2)
    array([0.5])
    """
    ranked = np.asarray(ranked, dtype=np.int64)[:, :k]
    out = np.empty(len(judged), dtype=np.float64)
    for i, (docs, grades) in enumerate(judged.relevant):
        relevant = docs[grades > 0]
        out[i] = np.isin(relevant, ranked[i]).sum() / len(relevant)
    return out
