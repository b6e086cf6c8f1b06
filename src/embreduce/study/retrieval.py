"""Judging candidates the way people search: the user's queries against the coded corpus.

A candidate's corpus is stored as codes; a float query (reduced by the candidate's model) is
scored against the decoded codes (**asymmetric**, as FAISS, Qdrant and Weaviate search), and
against the decoded codes of the query itself (**symmetric**; for 1-bit codes that order is
Hamming's). The best ``c x oversample`` hits of the first pass are then **re-scored** with
the float32 vectors. A query is a unit vector, scored against a code as the codec says
(:attr:`~embreduce.codecs.Codec.similarity`): FAISS's codecs by ``1 - |q - x|^2 / 2``, exactly
what a FAISS L2 index of those codes computes (RaBitQ by the inner product); our scalar codes
by the cosine of their decoded vectors, their documented similarity (the norm of a decoded
vector is known from its code).

**Honest selection.** The judged queries are split, seeded, into a selection half and a
confirmation half. The recommendation is chosen on the selection half's figures
(``select_...`` columns); the table, the report and the recommendation quote the
confirmation half's, which took no part in the choice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from embreduce.choices import DEFAULT_OVERSAMPLE
from embreduce.exceptions import InputError, ParameterError
from embreduce.metrics.retrieval import (
    Judgements,
    judgements,
    l2_bias,
    ndcg_at_k,
    recall_at_k,
    rescore,
    search,
)
from embreduce.validation import check_int, check_vectors
from embreduce.validation import unit_float32 as _unit

HALVES = ("select", "confirm")


@dataclass(frozen=True)
class QueryVectors:
    """The user's queries, embedded with the corpus's model, and what they should find.

    Parameters
    ----------
    vectors : ndarray of shape (n_queries, dim)
    ids : list of str
        One id a query (the qrels' ``query-id``).
    qrels : dict, optional
        ``{query id: {corpus id: grade}}``. Without it each query's exact float32 top 10
        is what it should find (``query_recall_at_10``).
    """

    vectors: np.ndarray
    ids: list[str]
    qrels: dict[str, dict[str, float]] | None = None


@dataclass
class RetrievalTask:
    """The judged queries of a study, split in halves, with their float32 figures."""

    judged: Judgements
    queries: NDArray[np.float32]  # the judged queries' original vectors
    corpus: NDArray[np.float32]  # the corpus's original vectors, unit rows
    halves: dict[str, NDArray[np.int64]]
    metrics: tuple[tuple[str, str, int], ...]  # (column, measure, cutoff)
    oversample: tuple[int, ...]
    reference: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def primary(self) -> str:
        """The column the retained share is of: ``ndcg_at_10`` or ``query_recall_at_10``."""
        return self.metrics[0][0]

    def columns(self) -> list[str]:
        """The results columns this task adds to each held-out row."""
        out = ["compare", "n_queries"]
        for name, _, _ in self.metrics:
            out += [name, *(f"{name}_x{o}" for o in self.oversample if o > 1)]
        out.append(f"{self.primary}_symmetric")
        for prefix in ("", "select_"):
            out.append(f"{prefix}retrieval_retained")
            out += [f"{prefix}retrieval_retained_x{o}" for o in self.oversample if o > 1]
        out.append("retrieval_retained_symmetric")
        return out

    def record(self) -> dict[str, Any]:
        """What ``study.json`` keeps about the task."""
        return {
            "queries": len(self.judged),
            "select_queries": len(self.halves["select"]),
            "confirm_queries": len(self.halves["confirm"]),
            "truth": "qrels" if self.primary == "ndcg_at_10" else "exact float32 top 10",
            "oversample": list(self.oversample),
            "float32": self.reference,
        }


def check_oversample(values: Sequence[int]) -> tuple[int, ...]:
    """Sorted distinct re-scoring factors, each a positive integer; 1 is always in."""
    if isinstance(values, str):
        raise ParameterError(f"oversample must be a list of integers, got {values!r}")
    out = {check_int(v, "oversample", low=1) for v in values}
    return tuple(sorted(out | {1}))


def split_halves(n: int, seed: int) -> dict[str, NDArray[np.int64]]:
    """Seeded, disjoint selection and confirmation halves of ``n`` judged queries.

    Examples
    --------
    >>> h = split_halves(5, 0)
    >>> sorted(np.concatenate([h["select"], h["confirm"]]).tolist())
    [0, 1, 2, 3, 4]
    """
    if n < 2:
        raise InputError(
            f"{n} judged query is too few: the study chooses on one half of the queries "
            "and reports on the other (give at least 2)"
        )
    order = np.random.default_rng(seed).permutation(n)
    cut = n // 2
    return {"select": np.sort(order[:cut]), "confirm": np.sort(order[cut:])}


def retrieval_task(
    corpus: np.ndarray,
    corpus_ids: Sequence[str] | None,
    queries: QueryVectors,
    *,
    seed: int = 0,
    oversample: Sequence[int] = DEFAULT_OVERSAMPLE,
    drop_self: bool = True,
) -> RetrievalTask:
    """Check the queries against the corpus, split them, and measure the float32 search.

    Raises
    ------
    InputError
        Queries of another width, qrels naming unknown ids, no corpus ids with qrels, a
        corpus too small for the search depth.
    """
    Q = check_vectors(queries.vectors, name="query vectors", allow_zero=False)
    if Q.shape[1] != corpus.shape[1]:
        raise InputError(
            f"the queries have {Q.shape[1]} dims and the corpus {corpus.shape[1]}: embed both "
            "with the same model"
        )
    if len(queries.ids) != len(Q):
        raise InputError(f"{len(queries.ids)} query ids for {len(Q)} query vectors")
    C = _unit(corpus)
    if queries.qrels is not None:
        if corpus_ids is None:
            raise InputError(
                "qrels name corpus ids, but the corpus has none: give a corpus with an id "
                "column (_id, id...)"
            )
        judged = judgements(queries.qrels, queries.ids, list(corpus_ids), drop_self=drop_self)
        metrics = (("ndcg_at_10", "ndcg", 10), ("recall_at_100", "recall", 100))
    else:
        judged = _exact_judgements(Q, C, queries.ids)
        metrics = (("query_recall_at_10", "recall", 10),)
    deepest = max(c for _, _, c in metrics)
    if len(C) <= deepest:
        raise InputError(
            f"the corpus has {len(C)} documents; measuring at depth {deepest} needs more"
        )
    task = RetrievalTask(
        judged,
        Q[judged.query_rows],
        C,
        split_halves(len(judged), seed),
        metrics,
        check_oversample(oversample),
    )
    hits = search(_unit(task.queries), C, deepest, exclude=judged.exclude)[0]
    figures = _measures(task, hits)
    task.reference = {h: {n: float(v[i].mean()) for n, v in figures.items()} for h, i in _h(task)}
    return task


def _h(task: RetrievalTask) -> list[tuple[str, NDArray[np.int64]]]:
    return [(h, task.halves[h]) for h in HALVES]


def _exact_judgements(Q: np.ndarray, C: np.ndarray, ids: Sequence[str]) -> Judgements:
    """Each query's exact float32 top 10 as its relevant documents."""
    if len(C) <= 10:
        raise InputError(f"the corpus has {len(C)} documents; recall@10 needs more")
    hits = search(_unit(Q), C, 10)[0]
    qrels = {q: {str(d): 1.0 for d in row} for q, row in zip(ids, hits, strict=True)}
    return judgements(qrels, list(ids), [str(i) for i in range(len(C))], drop_self=False)


def _measures(task: RetrievalTask, hits: np.ndarray) -> dict[str, NDArray[np.float64]]:
    """Each metric of every judged query, from its ranked hits."""
    out = {}
    for name, measure, cutoff in task.metrics:
        fn = ndcg_at_k if measure == "ndcg" else recall_at_k
        out[name] = fn(hits, task.judged, cutoff)
    return out


def measure_retrieval(
    task: RetrievalTask,
    reduced_queries: np.ndarray,
    decoded_corpus: np.ndarray,
    decoded_queries: np.ndarray,
    compare: str = "cosine",
    similarity: str = "cosine",
) -> dict[str, Any]:
    """One candidate's retrieval columns (see :meth:`RetrievalTask.columns`).

    Parameters
    ----------
    reduced_queries : ndarray
        The judged queries through the candidate's reducer (floats).
    decoded_corpus : ndarray
        The corpus through the reducer and the codec, decoded.
    decoded_queries : ndarray
        The judged queries through the reducer and the codec, decoded (symmetric search).
    compare : str
        How the codec compares two codes (``"cosine"`` or ``"hamming"``): the symmetric
        search's name in the ``compare`` column when the similarity is the cosine.
    similarity : {"cosine", "l2", "inner product"}
        How a query is scored against a decoded code (the codec's
        :attr:`~embreduce.codecs.Codec.similarity`).
    """
    judged = task.judged
    from embreduce.codecs import SIMILARITIES

    if similarity not in SIMILARITIES:
        raise ParameterError(
            f"similarity must be one of {', '.join(SIMILARITIES)}, not {similarity!r}"
        )
    C = _unit(decoded_corpus) if similarity == "cosine" else np.asarray(decoded_corpus, np.float32)
    bias = l2_bias(C) if similarity == "l2" else None
    sym_queries = _unit(decoded_queries) if similarity == "cosine" else decoded_queries
    depth = max(c for _, _, c in task.metrics)
    wanted = depth * max(task.oversample)
    limit = len(C) - int(bool(np.any(judged.exclude >= 0)))
    first = search(
        _unit(reduced_queries), C, min(wanted, limit), exclude=judged.exclude, bias=bias
    )[0]
    passes = {"": _measures(task, first)}
    queries = _unit(task.queries)  # the float32 queries that re-score
    for o in task.oversample:
        if o == 1:
            continue
        ranked = {}
        for name, measure, cutoff in task.metrics:
            kept = first[:, : min(cutoff * o, first.shape[1])]
            top = rescore(kept, queries, task.corpus, cutoff)
            fn = ndcg_at_k if measure == "ndcg" else recall_at_k
            ranked[name] = fn(top, judged, cutoff)
        passes[f"_x{o}"] = ranked
    sym = search(sym_queries, C, depth, exclude=judged.exclude, bias=bias)[0]
    passes["_symmetric"] = _measures(task, sym)
    confirm, select = task.halves["confirm"], task.halves["select"]
    row: dict[str, Any] = {
        "compare": f"asymmetric {similarity}; symmetric "
        + (compare if similarity == "cosine" else similarity),
        "n_queries": len(confirm),
    }
    primary = task.primary
    for suffix, figures in passes.items():
        for name, values in figures.items():
            if suffix != "_symmetric" or name == primary:
                row[name + suffix] = float(values[confirm].mean())
        row[f"retrieval_retained{suffix}"] = _share(
            figures[primary][confirm].mean(), task.reference["confirm"][primary]
        )
        if suffix != "_symmetric":
            row[f"select_retrieval_retained{suffix}"] = _share(
                figures[primary][select].mean(), task.reference["select"][primary]
            )
    return row


def _share(value: float, reference: float) -> float:
    return float(value / reference) if reference > 0 else float("nan")


def smallest_oversample(row: dict[str, Any], oversample: Sequence[int], floor: float) -> int | None:
    """The smallest factor whose selection-half retained share reaches ``floor``."""
    for o in oversample:
        key = "select_retrieval_retained" + ("" if o == 1 else f"_x{o}")
        value = row.get(key)
        if value not in (None, "") and float(value) >= floor:
            return int(o)
    return None


def load_study_queries(
    queries_path: Any,
    data: Any,
    options: Any = None,
    *,
    qrels_path: Any = None,
    show_progress: bool = False,
) -> tuple[QueryVectors, list[str]]:
    """The user's queries as :class:`QueryVectors`, embedded like the corpus.

    ``queries_path`` is vectors with an id column (``.npz`` with ``ids``, Parquet) or texts
    with ids (BEIR's ``queries.jsonl``: ``_id``, ``text``; CSV/TSV/Parquet with the same
    columns), embedded with the model the corpus vectors record (as labelled pairs are).
    ``qrels_path`` is read with :func:`embreduce.io.retrieval.read_qrels`. Returns the
    queries and notes for the user.
    """
    from embreduce.embedding.options import EmbeddingOptions
    from embreduce.io.retrieval import read_qrels, read_queries

    qrels = read_qrels(qrels_path) if qrels_path is not None else None
    notes: list[str] = []
    ids, texts = read_queries(queries_path)
    if not isinstance(texts, list):  # vectors
        model, theirs = data.info.get("model"), texts.info.get("model")
        if model and theirs and model != theirs:
            raise InputError(
                f"the queries were embedded with {theirs} and the corpus with {model}: "
                "embed both with one model"
            )
        return QueryVectors(texts.vectors, ids, qrels), notes
    options = (options or EmbeddingOptions()).like(data)
    if options.model is None:
        notes.append(
            f"the corpus vectors do not record their model; the queries are embedded with the "
            f"default {options.model_name} (pass --model if the corpus came from another)"
        )
    from embreduce.embedding import embed_items

    embedded = embed_items(
        texts,
        options.embedder(),
        batch_size=options.batch_size,
        normalize=options.normalize,
        show_progress=show_progress,
    )
    return QueryVectors(embedded.vectors, ids, qrels), notes
