"""Sentence maps: reductions, colouring, and the offline page in headless Chromium."""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest
from study_fixture import HOSTILE, clustered_vectors

from embreduce.exceptions import InputError
from embreduce.maps import (
    NEIGHBOURS_CHECK_ROWS,
    NEIGHBOURS_EXACT_MAX,
    map_neighbours,
    map_params,
    nearest_neighbours,
)
from embreduce.metrics.neighbours import approximate_neighbours, neighbour_recall
from embreduce.report import write_map

if TYPE_CHECKING:
    from browser import Visit

pytest_plugins = ["browser"]  # the shared headless Chromium: one per session

SENTENCES = [
    "That is a happy person",
    "That is a happy dog",
    "That is a very happy person",
    HOSTILE,
]


def hover_text(visit: Visit, div_id: str, point: int, trace: int = 0) -> str:
    """Move the mouse onto one point of a 2-D map; return the hover label's lines."""
    page = visit.page
    x, y = page.evaluate(
        """([id, curve, point]) => {
            const gd = document.getElementById(id);
            gd.scrollIntoView();
            const fl = gd._fullLayout, t = gd._fullData[curve], box = gd.getBoundingClientRect();
            return [box.left + fl._size.l + fl.xaxis.l2p(t.x[point]),
                    box.top + fl._size.t + fl.yaxis.l2p(t.y[point])];
        }""",
        [div_id, trace, point],
    )
    page.mouse.move(x, y)
    lines = page.locator(f"#{div_id} .hoverlayer .hovertext tspan.line")
    lines.first.wait_for(timeout=5_000)
    return "\n".join(lines.all_text_contents())


@pytest.fixture(scope="module")
def tiny_map(tmp_path_factory: pytest.TempPathFactory) -> Path:
    X = clustered_vectors(4, 24, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # a note on the page, not a warning storm
        warnings.simplefilter("error", RuntimeWarning)
        return write_map(X, SENTENCES, output=tmp_path_factory.mktemp("map") / "map.html")


def test_four_sentences_map_with_every_method(open_page, tiny_map: Path) -> None:
    visit = open_page(tiny_map)
    visit.screenshot("map-4-sentences")
    visit.assert_clean()
    for method, axis in (("pca", "PCA"), ("tsne", "t-SNE"), ("umap", "UMAP")):
        plot = visit.plot(f"map-{method}")
        assert [(t["type"], t["n"], t["svg_points"]) for t in plot["traces"]] == [("scatter", 4, 4)]
        assert "trustworthiness" in plot["title"]
        assert (plot["xaxis"], plot["yaxis"]) == (f"{axis} 1", f"{axis} 2")
    notes = visit.page.locator("#notes").inner_text()
    assert "perplexity 1 instead of 30" in notes
    assert "n_neighbors 3 instead of 15" in notes
    heatmap = visit.plot("heatmap")
    assert heatmap["traces"][0]["type"] == "heatmap"
    ticks = visit.page.locator("#heatmap .ytick text").all_text_contents()
    assert ticks[0] == SENTENCES[0] and ticks[3].startswith("<img src=x")


def test_hover_lists_nearest_neighbours_in_the_original_space(
    open_page,
    tiny_map: Path,
) -> None:
    visit = open_page(tiny_map)
    text = hover_text(visit, "map-pca", 0)
    assert "nearest in the original space" in text
    X = clustered_vectors(4, 24, seed=3)
    idx, _ = nearest_neighbours(X)
    expected = [f"{r + 1}. {SENTENCES[j]}" for r, j in enumerate(idx[0])]
    lines = text.splitlines()
    for line in expected:
        assert any(row.startswith(line) for row in lines), (line, lines)
    visit.screenshot("map-4-sentences-hover", full_page=False)


def test_hostile_label_is_shown_as_text(open_page, tiny_map: Path) -> None:
    visit = open_page(tiny_map)
    page = visit.page
    hover_text(visit, "map-pca", 3)
    assert page.title() == "Map of 4 embeddings"
    assert page.locator("img").count() == 0
    labels = page.locator("#map-pca .textpoint text").all_text_contents()
    assert any(label.startswith("<img src=x onerror=") for label in labels), labels
    visit.screenshot("map-4-sentences-hostile-hover", full_page=False)
    visit.assert_clean()


def test_colour_by_metadata_column(open_page, tmp_path: Path) -> None:
    n = 150
    X = clustered_vectors(n, 32, seed=1)
    group = np.array(["news", "sport", "arts"])[np.arange(n) % 3]
    out = write_map(
        X,
        [f"sentence {i}" for i in range(n)],
        methods=["pca", "umap"],
        color_by="group",
        metadata=pd.DataFrame({"group": group}),
        output=tmp_path / "map.html",
    )
    visit = open_page(out)
    visit.screenshot("map-colour-by-group")
    visit.assert_clean()
    for div in ("map-pca", "map-umap"):
        traces = visit.plot(div)["traces"]
        assert [(t["name"], t["n"], t["svg_points"]) for t in traces] == [
            ("arts", 50, 50),
            ("news", 50, 50),
            ("sport", 50, 50),
        ]
    assert visit.page.locator("#heatmap").count() == 0, "no heatmap above 50 points"
    assert "sentence" in hover_text(visit, "map-pca", 0)


def test_three_d_clusters(open_page, tmp_path: Path) -> None:
    X = clustered_vectors(60, 32, seed=2)
    out = write_map(X, methods=["pca", "umap"], dims=3, clusters=4, output=tmp_path / "m.html")
    visit = open_page(out)
    visit.screenshot("map-3d-clusters")
    visit.assert_clean()
    for div in ("map-pca", "map-umap"):
        traces = visit.plot(div)["traces"]
        assert {t["type"] for t in traces} == {"scatter3d"}
        assert [t["name"] for t in traces] == [f"cluster {c}" for c in range(1, 5)]
        assert sum(t["n"] for t in traces) == 60
        assert visit.page.locator(f"#{div} canvas").count() > 0, "WebGL scene drawn"
    scene = visit.page.evaluate(
        "document.getElementById('map-pca')._fullLayout.scene.xaxis.title.text"
    )
    assert scene == "PCA 1"


def test_many_points_use_webgl_and_hover_only_labels(open_page, tmp_path: Path) -> None:
    n = NEIGHBOURS_EXACT_MAX + 500  # approximate neighbours, sampled trustworthiness
    X = clustered_vectors(n, 32, seed=4)
    out = write_map(X, [f"item {i}" for i in range(n)], methods=["pca"], output=tmp_path / "m.html")
    visit = open_page(out)
    visit.screenshot("map-many-points", full_page=False)
    visit.assert_clean()
    plot = visit.plot("map-pca")
    assert [(t["type"], t["n"]) for t in plot["traces"]] == [("scattergl", n)]
    assert re.search(r"≈0\.\d{3} ± 0\.\d{3}", plot["title"]), plot["title"]
    notes = visit.page.locator("#notes").inner_text()
    checked = f"{NEIGHBOURS_CHECK_ROWS:,}"
    found = rf"approximate above 20,000 points, recall@5 (0\.9\d\d|1\.000) on {checked} checked"
    assert re.search(found, notes), notes
    assert visit.page.evaluate("document.getElementById('map-pca').data[0].hovertext.length") == n
    assert visit.page.evaluate("document.getElementById('map-pca').data[0].mode") == "markers"
    text = hover_text(visit, "map-pca", 0)
    assert text.startswith("item ") and "nearest in the original space" in text
    visit.screenshot("map-many-points-hover", full_page=False)


@pytest.mark.parametrize(
    ("method", "n", "dims", "expected"),
    [
        ("tsne", 4, 2, {"perplexity": 1.0}),
        ("tsne", 40, 2, {"perplexity": 13.0}),
        ("tsne", 500, 2, {}),
        ("umap", 4, 2, {"n_neighbors": 3, "init": "random"}),
        ("umap", 12, 3, {"n_neighbors": 11}),
        ("umap", 500, 2, {}),
        ("pca", 4, 2, {}),
    ],
)
def test_map_params_fit_the_data(method: str, n: int, dims: int, expected: dict) -> None:
    params, notes = map_params(method, n, dims)
    assert params == expected
    assert len(notes) == len(expected)


def test_approximate_neighbours_agree_with_exact_ones() -> None:
    X = clustered_vectors(600, 16, seed=6)
    exact, exact_sims = nearest_neighbours(X, k=5)
    same, _, note = map_neighbours(X, 5)  # below the threshold: exact
    np.testing.assert_array_equal(same, exact)
    assert note is None
    found, sims, note = map_neighbours(X, 5, exact_max=100)
    recall, checked = neighbour_recall(X, found, sample=600)
    assert recall >= 0.95 and checked == 600
    assert f"recall@5 {neighbour_recall(X, found)[0]:.3f}" in note
    # searching every cell is an exact search
    full, full_sims = approximate_neighbours(X, 5, n_probe=10**6)
    np.testing.assert_array_equal(full, exact)
    np.testing.assert_allclose(full_sims, exact_sims, atol=1e-5)


def test_sampled_trustworthiness_is_within_its_margin(monkeypatch) -> None:
    import embreduce.maps as maps_module
    from embreduce.metrics import trustworthiness

    X = clustered_vectors(1500, 16, seed=7)
    coords = X[:, :2] + 0.1 * np.random.default_rng(0).normal(size=(1500, 2))
    monkeypatch.setattr(maps_module, "TRUST_MAX_ROWS", 500)
    monkeypatch.setattr(maps_module, "TRUST_SAMPLE_ROWS", 600)
    value, k, rows, margin = maps_module.map_trustworthiness(X, coords)
    exact = trustworthiness(X, coords, k=k)
    assert rows == 600 and 0 < margin < 0.05
    assert abs(value - exact) <= margin


def test_nearest_neighbours_match_brute_force() -> None:
    X = clustered_vectors(70, 16, seed=5)
    idx, sims = nearest_neighbours(X, k=5)
    S = X @ X.T
    np.fill_diagonal(S, -np.inf)
    np.testing.assert_array_equal(idx, np.argsort(-S, axis=1, kind="stable")[:, :5])
    np.testing.assert_allclose(sims, np.take_along_axis(S, idx, axis=1), atol=1e-5)


def test_bad_requests_are_clear_errors(tmp_path: Path) -> None:
    X = clustered_vectors(10, 8)
    out = tmp_path / "m.html"
    with pytest.raises(InputError, match="no metadata column 'group'"):
        write_map(X, methods=["pca"], color_by="group", output=out)
    with pytest.raises(InputError, match="--dims must be 2 or 3"):
        write_map(X, methods=["pca"], dims=4, output=out)
    with pytest.raises(InputError, match="unknown reducer"):
        write_map(X, methods=["nope"], output=out)
    with pytest.raises(InputError, match="3 texts for 10 vectors"):
        write_map(X, ["a", "b", "c"], methods=["pca"], output=out)
    with pytest.raises(InputError, match="at least 3"):
        write_map(X[:2], methods=["pca"], output=out)
    assert not out.exists()


def test_cli_map_from_vectors(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from embreduce.cli import app
    from embreduce.io import save_vectors

    vectors = save_vectors(
        tmp_path / "v.parquet",
        clustered_vectors(30, 16),
        texts=[f"text {i}" for i in range(30)],
        metadata=pd.DataFrame({"group": ["a", "b", "c"] * 10}),
    )
    out = tmp_path / "map.html"
    args = ["map", str(vectors), "--methods", "pca", "--color-by", "group", "-o", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"Wrote {out}" in result.output
    assert "text 29" in out.read_text("utf-8")
    result = CliRunner().invoke(app, ["map", str(vectors), "--dims", "4"])
    assert result.exit_code == 2
    result = CliRunner().invoke(app, [*args[:4], "--color-by", "topic"])
    assert result.exit_code == 1 and "no metadata column 'topic'" in result.output


def test_cli_map_from_texts(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from embreduce.cli import app

    texts = tmp_path / "sentences.txt"
    texts.write_text("\n".join(SENTENCES) + "\n", encoding="utf-8")
    out = tmp_path / "map.html"
    result = CliRunner().invoke(app, ["map", str(texts), "--methods", "pca", "-q", "-o", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text("utf-8")
    assert "That is a happy dog" in page and "vectors of 384 dimensions" in page
    assert HOSTILE not in page


def test_hover_neighbours_reuse_a_reducers_graph_when_it_is_good_enough() -> None:
    X = clustered_vectors(600, 16, seed=8)
    exact, _ = nearest_neighbours(X, k=15)
    graph = np.hstack([np.arange(600)[:, None], exact])  # as umap-learn: itself first
    graph[::7, -1] = -1  # and its padding for disconnected points
    idx, sims, note = map_neighbours(X, 5, exact_max=100, graph=graph)
    np.testing.assert_array_equal(idx, exact[:, :5])
    assert note.startswith("hover neighbours: UMAP's neighbour graph above 100 points")
    assert "recall@5 1.000" in note
    noise = np.random.default_rng(0).integers(0, 600, size=(600, 16))
    _, _, note = map_neighbours(X, 5, exact_max=100, graph=noise)
    assert note.startswith("hover neighbours: approximate above 100 points")


def test_umaps_compiled_functions_are_cached_on_disk() -> None:
    import umap.layouts
    import umap.umap_

    from embreduce.reducers.umap_reducer import enable_umap_cache

    enable_umap_cache()
    for function in (
        umap.umap_.smooth_knn_dist,
        umap.umap_.compute_membership_strengths,
        umap.layouts._nb_optimize_layout_euclidean_single_epoch,
    ):
        assert type(function._cache).__name__ != "NullCache", function


def test_several_maps_share_the_sampled_trustworthiness_pass(monkeypatch) -> None:
    import embreduce.maps as maps_module
    from embreduce.metrics import trustworthiness

    X = clustered_vectors(1500, 16, seed=9)
    maps = [X[:, :2], X[:, 5:8] + 0.05, np.random.default_rng(1).normal(size=(1500, 2))]
    monkeypatch.setattr(maps_module, "TRUST_MAX_ROWS", 500)
    monkeypatch.setattr(maps_module, "TRUST_SAMPLE_ROWS", 600)
    together = maps_module.maps_trustworthiness(X, maps, seed=4)
    for coords, (value, k, sampled, margin) in zip(maps, together, strict=True):
        # one shared pass gives each map what a pass of its own gives
        assert (value, k, sampled, margin) == maps_module.map_trustworthiness(X, coords, seed=4)
        # and an estimate of the exact value, within its margin (1.96 standard errors)
        assert sampled == 600 and 0 < margin < 0.05
        assert abs(value - trustworthiness(X, coords, k=k)) <= 1.5 * margin
    assert together[0][0] > together[2][0]  # a random map is less trustworthy
