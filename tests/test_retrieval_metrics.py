"""Search, re-scoring, nDCG@k and recall@k, checked against trec_eval (pytrec_eval)."""

from __future__ import annotations

import numpy as np
import pytest
import pytrec_eval  # an independent implementation (trec_eval's C code): a test dependency

from embreduce.exceptions import InputError
from embreduce.metrics.retrieval import (
    judgements,
    ndcg_at_k,
    recall_at_k,
    rescore,
    search,
)


def _random_task(seed: int = 0, n_docs: int = 300, n_queries: int = 40):
    rng = np.random.default_rng(seed)
    doc_ids = [f"d{i}" for i in range(n_docs)]
    query_ids = [f"q{i}" for i in range(n_queries)]
    qrels = {}
    for q in query_ids:
        chosen = rng.choice(n_docs, size=rng.integers(1, 6), replace=False)
        qrels[q] = {doc_ids[d]: float(rng.integers(0, 3)) for d in chosen}
        qrels[q][doc_ids[chosen[0]]] = 1.0 + rng.integers(0, 2)  # at least one relevant
    return doc_ids, query_ids, qrels, rng


def test_ndcg_and_recall_equal_trec_eval():
    doc_ids, query_ids, qrels, rng = _random_task()
    scores = rng.random((len(query_ids), len(doc_ids))).astype(np.float32)  # no ties
    judged = judgements(qrels, query_ids, doc_ids)
    ranked = np.argsort(-scores[judged.query_rows], axis=1)[:, :100]
    run = {
        q: {doc_ids[d]: float(scores[judged.query_rows[i], d]) for d in ranked[i]}
        for i, q in enumerate(judged.query_ids)
    }
    int_qrels = {q: {d: int(g) for d, g in docs.items()} for q, docs in qrels.items()}
    evaluator = pytrec_eval.RelevanceEvaluator(int_qrels, {"ndcg_cut.10", "recall.100"})
    expected = evaluator.evaluate(run)
    ndcg = ndcg_at_k(ranked, judged, 10)
    recall = recall_at_k(ranked, judged, 100)
    for i, q in enumerate(judged.query_ids):
        assert ndcg[i] == pytest.approx(expected[q]["ndcg_cut_10"], abs=1e-12)
        assert recall[i] == pytest.approx(expected[q]["recall_100"], abs=1e-12)


def test_ndcg_by_hand():
    # relevant: a (grade 2) and c (grade 1); ranked c, b, a
    j = judgements({"q": {"a": 2, "c": 1}}, ["q"], ["a", "b", "c"])
    dcg = 1 / np.log2(2) + 2 / np.log2(4)
    ideal = 2 / np.log2(2) + 1 / np.log2(3)
    assert ndcg_at_k(np.array([[2, 1, 0]]), j, 3)[0] == pytest.approx(dcg / ideal)
    assert recall_at_k(np.array([[2, 1, 0]]), j, 2)[0] == 0.5


def test_search_is_exact_and_breaks_ties_by_lower_row():
    rng = np.random.default_rng(1)
    C = rng.normal(size=(50, 8)).astype(np.float32)
    C /= np.linalg.norm(C, axis=1, keepdims=True)
    C[30] = C[7]  # a tie: row 7 must come first
    Q = np.vstack([C[7], rng.normal(size=(4, 8))]).astype(np.float32)
    idx, val = search(Q, C, 10, block=2)
    S = Q @ C.T
    for i in range(len(Q)):
        order = sorted(range(len(C)), key=lambda j: (-S[i, j], j))[:10]
        assert idx[i].tolist() == order
        np.testing.assert_allclose(val[i], S[i, order], rtol=1e-6)
    assert idx[0, :2].tolist() == [7, 30]


def test_search_drops_the_excluded_row():
    C = np.eye(5, dtype=np.float32)
    idx, _ = search(C[:2], C, 4, exclude=[0, -1])
    assert 0 not in idx[0] and idx[1, 0] == 1
    with pytest.raises(InputError, match="offers 4"):
        search(C[:2], C, 5, exclude=[0, -1])


def test_rescoring_at_oversample_one_keeps_the_first_pass_hits():
    rng = np.random.default_rng(2)
    C = rng.normal(size=(200, 16)).astype(np.float32)
    Q = rng.normal(size=(10, 16)).astype(np.float32)
    coarse = np.sign(C)  # a crude code
    first, _ = search(Q, coarse, 40)
    again = rescore(first[:, :10], Q, C, 10)
    for a, b in zip(again, first[:, :10], strict=True):
        assert set(a) == set(b)
    better = rescore(first, Q, C, 10)  # x4: closer to the exact top 10
    exact, _ = search(Q, C, 10)
    overlap = lambda A: np.mean([len(set(a) & set(e)) for a, e in zip(A, exact, strict=True)])  # noqa: E731
    assert overlap(better) >= overlap(first[:, :10])


def test_judgements_refuse_unknown_ids_and_drop_self():
    with pytest.raises(InputError, match="query id"):
        judgements({"x": {"a": 1}}, ["q"], ["a"])
    with pytest.raises(InputError, match="corpus id"):
        judgements({"q": {"zz": 1}}, ["q"], ["a"])
    with pytest.raises(InputError, match="no document relevant"):
        judgements({"q": {"a": 0}}, ["q"], ["a"])
    j = judgements({"q": {"a": 1}, "b": {"a": 1}}, ["q", "b"], ["a", "b"])
    assert j.exclude.tolist() == [-1, 1]  # query b's own document is never a hit
    assert judgements({"b": {"a": 1}}, ["b"], ["a", "b"], drop_self=False).exclude.tolist() == [-1]
