"""embreduce.metrics against direct numpy/scipy/scikit-learn computations."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.stats import spearmanr
from sklearn.manifold import trustworthiness as sk_trustworthiness

import embreduce.metrics.distributions as distributions
from embreduce.exceptions import InputError
from embreduce.metrics import (
    COS_EDGES,
    DIFF_EDGES,
    base_distribution,
    pairwise_cosine_blocks,
    recall_at_k,
    similarity_limit,
    similarity_metrics,
    trustworthiness,
)

QS = {"q01": 0.01, "q05": 0.05, "q50": 0.5, "q95": 0.95, "q99": 0.99}


def cos_matrix(X: np.ndarray) -> np.ndarray:
    U = np.asarray(X, dtype=np.float64)
    U = U / np.linalg.norm(U, axis=1, keepdims=True)
    return U @ U.T


def pair_values(X: np.ndarray) -> np.ndarray:
    return cos_matrix(X)[np.triu_indices(len(X), 1)]


def direct_neighbours(X: np.ndarray, k: int) -> np.ndarray:
    S = cos_matrix(X)
    np.fill_diagonal(S, -np.inf)
    return np.argsort(-S, axis=1, kind="stable")[:, :k]


def far_from_edges(values: np.ndarray, edges: np.ndarray, tol: float = 1e-6) -> bool:
    return bool(np.abs(values[:, None] - edges[None, :]).min() > tol)


@pytest.fixture
def pair() -> tuple[np.ndarray, np.ndarray]:
    """40 x 8 and 40 x 3 vectors whose similarities and differences sit > 1e-6 from any bin
    edge, so float32 rounding (~1e-7, which may differ with the block shape) cannot move
    them to another bin and histograms can be compared exactly."""
    for seed in range(100):
        rng = np.random.default_rng(seed)
        X = rng.normal(size=(40, 8))
        Y = X @ rng.normal(size=(8, 3)) + 0.3 * rng.normal(size=(40, 3))
        a, b = pair_values(X), pair_values(Y)
        d = a - b
        if (
            far_from_edges(a, COS_EDGES)
            and far_from_edges(b, COS_EDGES)
            and far_from_edges(d[np.abs(d) < 1], DIFF_EDGES)
        ):
            return X, Y
    raise AssertionError("no seed gives values away from the bin edges")


def test_similarity_metrics_equal_direct_computation(pair):
    X, Y = pair
    a, b = pair_values(X), pair_values(Y)
    d = a - b
    r = similarity_metrics(X, Y, k=5)
    assert (r["n"], r["n_pairs"], r["sampled"]) == (40, 780, False)
    assert r["mean"] == pytest.approx(d.mean(), abs=1e-12)
    assert r["std"] == pytest.approx(d.std(), abs=1e-12)
    assert r["mse"] == pytest.approx(np.mean(d**2), abs=1e-12)
    assert r["mae"] == pytest.approx(np.mean(np.abs(d)), abs=1e-6)
    for name, q in QS.items():
        assert r[name] == pytest.approx(np.quantile(d, q), abs=1e-6)
    assert r["spearman"] == pytest.approx(spearmanr(a, b).statistic, abs=1e-6)  # float32 ranks
    assert (r["spearman_pairs"], r["spearman_sampled"]) == (780, False)
    common = [
        len(set(p) & set(q))
        for p, q in zip(direct_neighbours(X, 5), direct_neighbours(Y, 5), strict=True)
    ]
    assert r["recall_at_5"] == pytest.approx(np.mean(common) / 5, abs=1e-15)
    Yn = Y / np.linalg.norm(Y, axis=1, keepdims=True)
    sk = sk_trustworthiness(X, Yn, n_neighbors=5, metric="cosine")
    assert r["trustworthiness"] == pytest.approx(sk, abs=1e-12)
    assert r["hist_reduced"] == np.histogram(b, COS_EDGES)[0].tolist()
    assert r["hist_diff"] == np.histogram(np.clip(d, -1, 1), DIFF_EDGES)[0].tolist()
    assert r["hist_diff_clipped"] == int((np.abs(d) > 1).sum())
    assert r["quantile_error"] == r["mean_error"] == r["quantile_rank_error"] == 0.0


def test_base_distribution_equals_direct_computation(pair):
    X, _ = pair
    a = pair_values(X)
    r = base_distribution(X)
    assert (r["n"], r["n_pairs"], r["sampled"]) == (40, 780, False)
    assert r["mean"] == pytest.approx(a.mean(), abs=1e-12)
    assert r["std"] == pytest.approx(a.std(), abs=1e-12)
    for name, q in QS.items():
        assert r[name] == pytest.approx(np.quantile(a, q), abs=1e-6)
    assert r["hist"] == np.histogram(a, COS_EDGES)[0].tolist()


@pytest.mark.parametrize("block_size", [1, 3, 16, 39, 40, 1000])
def test_pairwise_cosine_blocks_cover_each_pair_once(pair, block_size):
    X, _ = pair
    seen = np.zeros((40, 40), dtype=int)
    values = np.full((40, 40), np.nan)
    for i0, j0, block in pairwise_cosine_blocks(X, block_size=block_size):
        h, w = block.shape
        assert block.dtype == np.float32 and h <= block_size
        rows, cols = np.meshgrid(np.arange(i0, i0 + h), np.arange(j0, j0 + w), indexing="ij")
        keep = cols > rows
        seen[rows[keep], cols[keep]] += 1
        values[rows[keep], cols[keep]] = block[keep]
    iu = np.triu_indices(40, 1)
    assert (seen[iu] == 1).all() and seen.sum() == 780
    np.testing.assert_allclose(values[iu], pair_values(X), atol=1e-6)


@pytest.mark.parametrize("block_size", [1, 2, 7, 25])
def test_blocked_equals_unblocked(pair, block_size):
    X, Y = pair
    whole = similarity_metrics(X, Y, k=5, block_size=1000)
    blocked = similarity_metrics(X, Y, k=5, block_size=block_size)
    assert blocked.keys() == whole.keys()
    for key, value in whole.items():
        if isinstance(value, float):
            # float32 BLAS may round a 1-row block differently in the last bit
            assert blocked[key] == pytest.approx(value, rel=1e-6, abs=1e-7), key
        else:
            assert blocked[key] == value, key
    base_whole, base_blocked = base_distribution(X), base_distribution(X, block_size=block_size)
    assert base_blocked["hist"] == base_whole["hist"]
    assert base_blocked["q50"] == pytest.approx(base_whole["q50"], abs=1e-7)


def test_histogram_quantiles_within_stated_error(pair, monkeypatch):
    monkeypatch.setattr(distributions, "EXACT_QUANTILE_PAIRS", 0)
    X, Y = pair
    d = pair_values(X) - pair_values(Y)
    r = similarity_metrics(X, Y, k=None)
    b = base_distribution(X)
    assert r["quantile_error"] == pytest.approx(5e-5) and b["quantile_error"] == pytest.approx(2e-5)
    for name, q in QS.items():
        assert abs(r[name] - np.quantile(d, q)) <= r["quantile_error"] + 1e-6
        assert abs(b[name] - np.quantile(pair_values(X), q)) <= b["quantile_error"] + 1e-6


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sampled_estimates_within_stated_error(seed):
    rng = np.random.default_rng(100 + seed)
    X = rng.normal(size=(300, 16)) + 0.5  # a shifted cloud: mostly positive similarities
    Y = X[:, :6]
    d = pair_values(X) - pair_values(Y)
    r = similarity_metrics(X, Y, k=5, max_pairs=20_000, seed=seed)
    assert (r["sampled"], r["n_pairs"]) == (True, 20_000)
    assert abs(r["mean"] - d.mean()) <= r["mean_error"]
    assert abs(r["mse"] - np.mean(d**2)) <= 4 * np.std(d**2) / np.sqrt(20_000)
    eps = r["quantile_rank_error"]
    for name, q in QS.items():
        lo, hi = np.quantile(d, [max(q - eps, 0), min(q + eps, 1)])
        assert lo - 1e-6 <= r[name] <= hi + 1e-6, name
    assert r["spearman_pairs"] == 20_000 and r["spearman_sampled"]
    assert abs(r["spearman"] - spearmanr(pair_values(X), pair_values(Y)).statistic) < 0.05
    assert r["recall_at_5"] == recall_at_k(X, Y, k=5) and r["knn_queries"] == 300
    again = similarity_metrics(X, Y, k=5, max_pairs=20_000, seed=seed)
    assert again == r
    assert sum(r["hist_diff"]) == sum(r["hist_reduced"]) == 20_000


def test_sampled_base_distribution_within_stated_error():
    X = np.random.default_rng(7).normal(size=(300, 16)) + 0.5
    a = pair_values(X)
    r = base_distribution(X, max_pairs=10_000, seed=3)
    assert (r["sampled"], r["n_pairs"], sum(r["hist"])) == (True, 10_000, 10_000)
    assert abs(r["mean"] - a.mean()) <= r["mean_error"]
    eps = r["quantile_rank_error"]
    lo, hi = np.quantile(a, [0.5 - eps, 0.5 + eps])
    assert lo <= r["q50"] <= hi


def test_large_inputs_are_sampled_automatically(monkeypatch):
    monkeypatch.setattr(distributions, "EXACT_MAX_N", 100)
    monkeypatch.setattr(distributions, "DEFAULT_MAX_PAIRS", 3000)
    monkeypatch.setattr(distributions, "DEFAULT_MAX_QUERIES", 50)
    rng = np.random.default_rng(1)
    X = rng.normal(size=(150, 8))
    r = similarity_metrics(X, X[:, :4], k=5)
    assert (r["sampled"], r["n_pairs"], r["knn_queries"], r["knn_sampled"]) == (
        True,
        3000,
        50,
        True,
    )
    # 50 sampled queries of 5 neighbours: within 5 standard errors of the exact values
    exact_recall = recall_at_k(X, X[:, :4], k=5)
    assert abs(r["recall_at_5"] - exact_recall) <= 5 * np.sqrt(0.25 / (50 * 5))
    assert abs(r["trustworthiness"] - trustworthiness(X, X[:, :4], k=5)) <= 0.05
    assert base_distribution(X)["sampled"]


def test_max_pairs_at_or_above_all_pairs_is_exact(pair):
    X, Y = pair
    assert similarity_metrics(X, Y, k=None, max_pairs=780) == similarity_metrics(X, Y, k=None)


def test_spearman_samples_beyond_its_limit(pair, monkeypatch):
    monkeypatch.setattr(distributions, "SPEARMAN_MAX_PAIRS", 500)
    X, Y = pair
    r = similarity_metrics(X, Y, k=None)
    assert (r["sampled"], r["spearman_pairs"], r["spearman_sampled"]) == (False, 500, True)
    exact = spearmanr(pair_values(X), pair_values(Y)).statistic
    assert abs(r["spearman"] - exact) < 0.1


@pytest.mark.parametrize("k", [1, 3, 10, 19])
def test_trustworthiness_equals_sklearn_cosine(k):
    rng = np.random.default_rng(k)
    X = rng.normal(size=(40, 10))
    Y = X @ rng.normal(size=(10, 2))
    Yn = Y / np.linalg.norm(Y, axis=1, keepdims=True)  # sklearn: Euclidean in reduced space
    expected = sk_trustworthiness(X, Yn, n_neighbors=k, metric="cosine")
    assert trustworthiness(X, Y, k=k, block_size=7) == pytest.approx(expected, abs=1e-12)
    assert trustworthiness(X, X, k=k) == 1.0


@pytest.mark.parametrize("k", [1, 5, 39])
def test_recall_equals_direct_sets(k):
    rng = np.random.default_rng(k)
    X, Y = rng.normal(size=(40, 6)), rng.normal(size=(40, 3))
    common = [
        len(set(p) & set(q))
        for p, q in zip(direct_neighbours(X, k), direct_neighbours(Y, k), strict=True)
    ]
    assert recall_at_k(X, Y, k=k, block_size=9) == pytest.approx(np.mean(common) / k)
    assert recall_at_k(X, X, k=k) == 1.0


def test_recall_breaks_ties_by_lower_index():
    # rows 1, 2 and 3 are the same vector: row 0's single nearest neighbour is the first
    X = np.array([[1.0, 0.1], [1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    Y = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.1], [1.0, 0.1], [1.0, -1.0]])
    # in X, row 0 -> row 1 (tie with 2, 3); in Y, row 0 -> row 2 (tie with 3)
    assert direct_neighbours(X, 1)[0, 0] == 1 and direct_neighbours(Y, 1)[0, 0] == 2
    common = [
        len(set(p) & set(q))
        for p, q in zip(direct_neighbours(X, 1), direct_neighbours(Y, 1), strict=True)
    ]
    assert recall_at_k(X, Y, k=1) == pytest.approx(np.mean(common))


@pytest.mark.parametrize(
    ("X", "message"),
    [
        ([[1.0, np.nan], [1.0, 2.0]], "NaN"),
        ([[1.0, np.inf], [1.0, 2.0]], "infinite"),
        ([[0.0, 0.0], [1.0, 2.0]], "all zeros"),
        ([[1.0, 2.0]], "at least 2"),
        ([1.0, 2.0], "2-D"),
    ],
)
def test_bad_vectors_raise_clear_errors(X, message):
    with pytest.raises(InputError, match=message):
        base_distribution(X)
    with pytest.raises(InputError, match=message):
        similarity_metrics(X, [[1.0, 0.0], [0.0, 1.0]], k=None)


def test_bad_arguments_raise_clear_errors(pair):
    X, Y = pair
    with pytest.raises(InputError, match="39 rows but reduced"):
        similarity_metrics(X[:39], Y)
    with pytest.raises(InputError, match="k=40 is too large"):
        recall_at_k(X, Y, k=40)
    with pytest.raises(InputError, match="k < n / 2"):
        trustworthiness(X, Y, k=20)
    with pytest.raises(InputError, match="k < n / 2"):
        similarity_metrics(X, Y, k=20)
    with pytest.raises(InputError, match="positive integer"):
        recall_at_k(X, Y, k=0)
    with pytest.raises(InputError, match="block_size"):
        base_distribution(X, block_size=0)
    with pytest.raises(InputError, match="max_pairs"):
        similarity_metrics(X, Y, max_pairs=0)
    with pytest.raises(InputError, match="n_components"):
        similarity_limit(X, 0)


finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    arrays(np.float64, st.tuples(st.integers(2, 9), st.integers(1, 4)), elements=finite),
    st.integers(1, 5),
)
def test_any_finite_matrix_gives_the_direct_answer_or_a_clear_error(X, block_size):
    try:
        r = base_distribution(X, block_size=block_size)
    except InputError as exc:
        assert "all zeros" in str(exc)
        assert (~X.any(axis=1)).any()
        return
    scaled = X / np.abs(X).max(axis=1, keepdims=True)  # the direct way, without overflow
    a = pair_values(scaled)
    assert r["n_pairs"] == len(a) and sum(r["hist"]) == len(a)
    assert r["mean"] == pytest.approx(a.mean(), abs=1e-9)
    assert r["std"] == pytest.approx(a.std(), abs=1e-6)
    assert r["q50"] == pytest.approx(np.quantile(a, 0.5), abs=1e-6)
    Y = scaled[:, ::-1] + scaled  # another finite matrix of the same rows, zero rows aside
    if (~Y.any(axis=1)).any():
        return
    s = similarity_metrics(scaled, Y, k=None, block_size=block_size)
    d = a - pair_values(Y)
    assert s["mse"] == pytest.approx(np.mean(d**2), abs=1e-9)
    assert s["mae"] == pytest.approx(np.mean(np.abs(d)), abs=1e-6)
    assert sum(s["hist_diff"]) == sum(s["hist_reduced"]) == len(a)


def test_similarity_limit_beats_eigen_truncation_and_truncation():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 24)) @ rng.normal(size=(24, 24))
    Z = similarity_limit(X, 4, max_iter=100)
    start = similarity_limit(X, 4, max_iter=0)
    assert Z.shape == (120, 4) and Z.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(Z, axis=1), 1, atol=1e-6)
    loss = similarity_metrics(X, Z, k=None)["mse"]
    assert loss < 0.98 * similarity_metrics(X, start, k=None)["mse"]
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    _, _, Bt = np.linalg.svd(U)
    assert similarity_metrics(X, U @ Bt[:4].T, k=None)["mse"] > loss
    np.testing.assert_array_equal(Z, similarity_limit(X, 4, max_iter=100))


def test_similarity_limit_reaches_zero_at_full_rank():
    X = np.random.default_rng(1).normal(size=(30, 5))
    Z = similarity_limit(X, 6)
    assert similarity_metrics(X, Z, k=None)["mse"] < 1e-10


def test_similarity_limit_samples_rows_above_max_n():
    X = np.random.default_rng(2).normal(size=(50, 6))
    Z, rows = similarity_limit(X, 3, max_n=20, seed=5, return_rows=True)
    assert Z.shape == (20, 3) and rows.shape == (20,) and (np.diff(rows) > 0).all()
    Z2, rows2 = similarity_limit(X, 3, max_n=20, seed=5, return_rows=True)
    np.testing.assert_array_equal(rows, rows2)
    np.testing.assert_array_equal(Z, Z2)
    assert (
        similarity_metrics(X[rows], Z, k=None)["mse"]
        < similarity_metrics(X[rows], X[rows, :3], k=None)["mse"]
    )


@pytest.mark.parametrize("numpy_up_to", [4096, 0])  # the NumPy path, and torch's
def test_top_k_breaks_ties_by_the_lower_index_as_a_stable_sort(numpy_up_to, monkeypatch):
    import embreduce.metrics.neighbours as neighbours
    from embreduce.metrics.neighbours import top_k

    monkeypatch.setattr(neighbours, "NUMPY_TOP_K_COLUMNS", numpy_up_to)
    rng = np.random.default_rng(3)
    S = np.sign(rng.normal(size=(200, 64))).astype(np.float32)  # +-1: ties everywhere
    S[:, ::7] = rng.normal(size=(200, 10)).astype(np.float32)  # and some rows without
    for k in (1, 5, 17):
        idx, kth = top_k(S, k)
        order = np.argsort(-S, axis=1, kind="stable")[:, :k]  # the plain computation
        assert [set(r) for r in idx] == [set(r) for r in order]
        np.testing.assert_array_equal(kth, np.take_along_axis(S, order, axis=1).min(axis=1))


def test_spearman_with_remembered_ranks_is_scipys():
    from scipy.stats import spearmanr

    from embreduce.metrics.distributions import _spearman

    rng = np.random.default_rng(4)
    a = rng.normal(size=5000).astype(np.float32)
    for b in (a + rng.normal(size=5000).astype(np.float32), np.round(a, 1), -a):
        for _ in range(2):  # the second time, a's ranks come from the cache
            assert _spearman(a, b) == spearmanr(a, b).statistic
    assert np.isnan(_spearman(a, np.ones_like(a))) and np.isnan(_spearman(np.ones(3), a[:3]))
