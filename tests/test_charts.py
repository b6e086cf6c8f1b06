"""The report's figure builders, checked as figures (no browser): what each trace holds."""

from __future__ import annotations

import numpy as np
import pytest

from embreduce.metrics import COS_EDGES, DIFF_EDGES
from embreduce.report.charts import (
    bytes_figure,
    distribution_figure,
    histogram_density,
    metric_curves_figure,
    pareto_front,
    populated_range,
)
from embreduce.report.map_charts import scatter_map_figure, similarity_heatmap_figure


def counts(edges, centre, width, n=10_000, seed=0):
    values = np.random.default_rng(seed).normal(centre, width, size=n)
    return np.histogram(np.clip(values, edges[0], edges[-1]), bins=edges)[0]


def test_histogram_density_integrates_to_one():
    edges = np.array([0.0, 0.5, 1.0, 3.0])
    centres, density = histogram_density([1, 1, 2], edges)
    np.testing.assert_allclose(centres, [0.25, 0.75, 2.0])
    assert float((density * np.diff(edges)).sum()) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="need 4 edges"):
        histogram_density([1, 2, 3], [0, 1, 2])


def test_populated_range_leaves_out_the_empty_tails():
    edges = np.linspace(-1, 1, 201)
    low, high = populated_range([(counts(edges, 0.3, 0.05), edges)])
    assert -0.1 < low < 0.3 < high < 0.6
    assert populated_range([(np.zeros(200), edges)]) == (-1.0, 1.0)


@pytest.mark.parametrize(("kind", "n_traces"), [("base", 2), ("diff", 1), ("both", 3)])
def test_distribution_figure_has_a_trace_per_distribution(kind, n_traces):
    cos, diff = np.asarray(COS_EDGES), np.asarray(DIFF_EDGES)
    fig = distribution_figure(
        kind,
        cos_edges=cos,
        diff_edges=diff,
        original_hist=counts(cos, 0.2, 0.1),
        reduced_hist=counts(cos, 0.25, 0.12, seed=1),
        diff_hist=counts(diff, -0.05, 0.03, seed=2),
        original_label="original 384-d",
        reduced_label="PCA 64-d",
        subtitle="held-out",
    )
    assert len(fig.data) == n_traces
    names = [t.name for t in fig.data]
    assert ("original 384-d" in names) == (kind != "diff")
    assert any("difference" in n for n in names) == (kind != "base")
    low, high = fig.layout.xaxis.range
    assert low < (-0.05 if kind == "diff" else 0.2) < high
    with pytest.raises(ValueError, match="kind must be one of"):
        empty = {"original_hist": [], "reduced_hist": [], "diff_hist": []}
        distribution_figure("nope", cos_edges=cos, diff_edges=diff, original_label="",
                            reduced_label="", **empty)  # fmt: skip


def rows():
    out = []
    for method, offset in (("pca", 0.0), ("encoder", 0.05)):
        for dim in (8, 16, 32):
            quality = 0.8 + offset + dim / 200
            out.append({"method": method, "dim": dim, "bits": 32, "bytes": 4 * dim,
                        "split": "eval", "mse": 1 - quality, "std": (1 - quality) / 2,
                        "recall_at_10": quality, "spearman": quality})  # fmt: skip
    out.append({"method": "limit", "dim": 8, "bits": 32, "bytes": 32, "split": "eval",
                "mse": 0.01, "std": 0.005, "recall_at_10": 0.99, "spearman": 0.99})  # fmt: skip
    return out


def test_metric_curves_have_a_line_per_method_and_a_dashed_limit():
    labels = {"pca": "PCA", "encoder": "cosine encoder", "limit": "limit"}
    methods = ["pca", "encoder", "limit"]
    fig = metric_curves_figure(rows(), methods=methods, labels=labels, recommended=("encoder", 16))
    lines = [t for t in fig.data if t.mode and "lines" in t.mode]
    assert {t.name for t in lines} >= {"PCA", "cosine encoder"}
    pca = next(t for t in fig.data if t.name == "PCA")
    assert list(pca.x) == [8, 16, 32]
    dashed = [t for t in fig.data if t.line and t.line.dash == "dash"]
    assert len(dashed) == 3 and all(t.name == "limit" and list(t.x) == [8] for t in dashed)


def test_pareto_front_keeps_only_what_nothing_smaller_beats():
    assert pareto_front([(8, 0.5), (16, 0.4), (32, 0.9), (4, 0.1)]) == [3, 0, 2]
    assert pareto_front([(8, 0.5), (16, 0.4)], higher_is_better=False) == [0, 1]
    assert pareto_front([(8, 0.4), (16, 0.5)], higher_is_better=False) == [0]


def test_bytes_figure_joins_the_front_and_stars_the_pick():
    data = rows()[:-1]
    pick = data[1]
    labels = {"pca": "PCA", "encoder": "cosine encoder"}
    metrics = [("spearman", "Spearman"), ("std", "std")]
    fig = bytes_figure(data, metrics=metrics, labels=labels, recommended=pick)
    fronts = [t for t in fig.data if t.name == "best at each size"]
    assert len(fronts) == 2
    # higher is better for Spearman: the encoder beats PCA at every size
    assert list(fronts[0].y) == sorted(r["spearman"] for r in data if r["method"] == "encoder")
    stars = [t for t in fig.data if t.name == "recommended"]
    assert [(s.x[0], s.y[0]) for s in stars] == [(pick["bytes"], pick["spearman"]),
                                                  (pick["bytes"], pick["std"])]  # fmt: skip
    assert fig.layout.xaxis.type == "log"


def test_scatter_map_has_a_trace_per_group_in_two_and_three_dims():
    coords = np.random.default_rng(0).normal(size=(30, 3))
    groups = [("a", np.arange(0, 10)), ("b", np.arange(10, 30))]
    flat = scatter_map_figure(coords[:, :2], groups, title="t", axis_name="PCA")
    assert [t.name for t in flat.data] == ["a", "b"] and len(flat.data[1].x) == 20
    assert flat.layout.xaxis.title.text == "PCA 1"
    deep = scatter_map_figure(coords, groups, title="t", axis_name="UMAP", webgl=True)
    assert deep.data[0].type == "scatter3d" and len(deep.data[0].z) == 10


def test_similarity_heatmap_holds_the_matrix_and_its_labels():
    S = np.array([[1.0, 0.2, -0.1], [0.2, 1.0, 0.5], [-0.1, 0.5, 1.0]])
    fig = similarity_heatmap_figure(S, ["one", "two", "three"], short_labels=["1", "2", "3"])
    heat = fig.data[0]
    np.testing.assert_allclose(np.asarray(heat.z, dtype=float), S)
    assert heat.hovertext[0][1] == "one<br>two<br>cosine 0.200"
    assert list(fig.layout.xaxis.ticktext) == ["1", "2", "3"]
