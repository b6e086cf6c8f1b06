"""The study report: a self-contained page, checked in headless Chromium."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from study_fixture import HOSTILE, write_study_dir

from embreduce.exceptions import InputError
from embreduce.report import read_study, write_report
from embreduce.report.names import method_name
from embreduce.report.page import plotly_js
from embreduce.report.static import write_images
from embreduce.report.study_report import curves_figure

if TYPE_CHECKING:
    from browser import Visit

pytest_plugins = ["browser"]  # the shared headless Chromium: one per session

REASON = f"lowest MSE {HOSTILE} </script><script>document.title='pwned'</script>"


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_study_dir(tmp_path_factory.mktemp("study") / "run", n=240, reason=REASON)


@pytest.fixture(scope="module")
def report(study_dir: Path) -> Path:
    return write_report(study_dir)


def test_report_is_one_self_contained_file(report: Path, study_dir: Path) -> None:
    assert report == study_dir / "report.html"
    text = report.read_text("utf-8")
    assert text.count(plotly_js()[:200]) == 1, "plotly.js must be embedded exactly once"
    ours = text.replace(plotly_js(), "")  # plotly.js itself holds links it never fetches
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", ours)
    assert "cdn.plot.ly" not in ours
    assert HOSTILE not in text, "labels must be escaped"
    assert not list(study_dir.glob(".report*")), "no temporary file left behind"


def test_report_loads_offline_with_every_chart(open_page, report: Path) -> None:
    visit: Visit = open_page(report)
    visit.screenshot("report")
    visit.assert_clean()

    base, diff, both = (visit.plot(f"chart-{k}") for k in ("base", "diff", "both"))
    study = read_study(report.parent)
    n_cos, n_diff = len(study.base["cos_edges"]) - 1, len(study.base["diff_edges"]) - 1
    # The recommended candidate is shown first.
    rec = study.recommendation
    shown = f"{method_name(rec['method'])} {rec['dim']}-d" + (
        "" if rec["bits"] == 32 else f" at {rec['bits']} bits"
    )
    assert [t["name"] for t in base["traces"]] == ["original 48-d", shown]
    assert [t["n"] for t in base["traces"]] == [n_cos, n_cos]
    assert [t["n"] for t in diff["traces"]] == [n_diff]
    assert [t["n"] for t in both["traces"]] == [n_cos, n_cos, n_diff]
    for chart in (base, diff, both):
        assert chart["xaxis"] and chart["yaxis"] == "density"
        assert all(t["svg_paths"] == 1 for t in chart["traces"]), chart

    curves = visit.plot("chart-curves")
    lines = [t for t in curves["traces"] if t["name"] != "recommended"]
    assert {t["name"] for t in lines} == {"PCA", "random projection", "limit"}
    assert all(t["n"] == 4 and t["svg_points"] == 4 for t in lines)  # 4 dims each
    rows = visit.page.locator("table.results tbody tr")
    assert rows.count() == len(study.rows)


def test_control_switches_the_charts(open_page, report: Path) -> None:
    visit = open_page(report)
    page = visit.page
    study = read_study(report.parent)
    rec = study.recommendation
    names = [method_name(m) for m in dict.fromkeys(r["method"] for r in study.candidates("eval"))]
    assert set(names) == {"original", "PCA", "random projection"}
    first = method_name(rec["method"])  # the recommended method comes first
    assert page.locator("#method-select option").all_text_contents() == [
        first,
        *(n for n in names if n != first),
    ]
    assert page.input_value("#dim-select") == f"{rec['dim']}|{rec['bits']}"

    page.select_option("#method-select", "random")
    page.select_option("#dim-select", "4|32")
    page.wait_for_function("document.body.dataset.candidate === 'random|4|32|eval'")
    names = [t["name"] for t in visit.plot("chart-both")["traces"]]
    assert names == [
        "original 48-d",
        "random projection 4-d",
        "difference: original − random projection 4-d",
    ]

    page.select_option("#split-select", "train")
    page.wait_for_function("document.body.dataset.candidate === 'random|4|32|train'")
    subtitle = page.evaluate(
        "document.getElementById('chart-base')._fullLayout.title.subtitle.text"
    )
    assert subtitle.startswith("train split")
    visit.screenshot("report-random-4-train", full_page=False)
    visit.assert_clean()


def test_quality_against_bytes_chart(open_page, report: Path) -> None:
    visit = open_page(report)
    study = read_study(report.parent)
    chart = visit.plot("chart-bytes")
    names = [t["name"] for t in chart["traces"]]
    assert {"original", "PCA", "random projection", "best at each size", "recommended"} <= set(
        names
    )
    page = visit.page
    xaxis_type = page.evaluate("document.getElementById('chart-bytes')._fullLayout.xaxis.type")
    assert xaxis_type == "log"
    # every held-out candidate is one point of the first panel
    points = page.evaluate(
        "document.getElementById('chart-bytes').data"
        ".filter(t => t.xaxis === 'x' || t.xaxis === undefined)"
        ".filter(t => t.mode === 'markers' && t.name !== 'recommended')"
        ".reduce((n, t) => n + t.x.length, 0)"
    )
    assert points == len(study.candidates("eval"))  # the uncompressed original included
    star = page.evaluate(
        "document.getElementById('chart-bytes').data.find(t => t.name === 'recommended').x[0]"
    )
    assert star == study.recommendation["bytes"]
    page.locator("#bytes").screenshot(path=str(visit.screenshot_path("report-bytes")))
    visit.assert_clean()


def test_hostile_labels_show_as_text(open_page, report: Path) -> None:
    visit = open_page(report)
    assert visit.page.title().startswith("embreduce study")
    reason = visit.page.locator("#recommendation .reason").inner_text()
    assert HOSTILE in reason and "</script>" in reason
    assert visit.page.locator("#recommendation img").count() == 0
    visit.page.locator("#recommendation").screenshot(
        path=str(visit.screenshot_path("report-hostile"))
    )
    visit.assert_clean()


def test_results_table_sorts(open_page, report: Path) -> None:
    visit = open_page(report)
    page = visit.page
    heads = page.locator("table.results th").all_text_contents()
    assert heads[:4] == ["method", "dim", "bits", "bytes"]
    cells = f"table.results tbody tr td:nth-child({heads.index('MSE') + 1})"
    numbers = "cells => cells.map(c => Number(c.dataset.value))"
    page.locator("table.results th button", has_text="MSE").click()
    values = page.eval_on_selector_all(cells, numbers)
    assert values == sorted(values) and values != sorted(values, reverse=True)
    page.locator("table.results th button", has_text="MSE").click()
    assert page.eval_on_selector_all(cells, numbers) == sorted(values, reverse=True)
    page.locator("#results").screenshot(path=str(visit.screenshot_path("report-table-sorted")))


@pytest.mark.slow
def test_static_png_images(tmp_path: Path) -> None:
    study_dir = write_study_dir(tmp_path / "run", n=120, dims=(4,), bits=(32,))
    output = write_report(study_dir, static="png")
    files = sorted((output.parent / "figures").iterdir())
    names = {f.name for f in files}
    assert {"metrics-eval.png", "bytes-eval.png"} <= names
    assert {f"pca-4-eval-{k}.png" for k in ("base", "diff", "both")} <= names
    assert len(files) == 2 + 3 * 3  # curves, bytes, 3 charts for pca, random and original
    assert all(f.read_bytes()[:4] == b"\x89PNG" for f in files)


def test_static_svg_image(tmp_path: Path, study_dir: Path) -> None:
    study = read_study(study_dir)
    figure = curves_figure(study, "eval")
    (path,) = write_images({"curves": figure}, tmp_path / "figures", "svg")
    assert path == tmp_path / "figures" / "curves.svg"
    text = path.read_text("utf-8")
    assert text.startswith("<svg") and "recall@10" in text
    assert [p.name for p in path.parent.iterdir()] == ["curves.svg"], "no temporary files left"


def test_missing_or_broken_study(tmp_path: Path, study_dir: Path) -> None:
    with pytest.raises(InputError, match="no such study folder"):
        write_report(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="not a study folder"):
        write_report(tmp_path / "empty")
    broken = write_study_dir(tmp_path / "broken", n=120, dims=(4,))
    results = json.loads((broken / "results.json").read_text())
    results["rows"][0]["hist_diff"] = results["rows"][0]["hist_diff"][:-1]
    (broken / "results.json").write_text(json.dumps(results))
    with pytest.raises(InputError, match="bins in hist_diff"):
        write_report(broken)
    assert not (broken / "report.html").exists()


def test_cli_report(study_dir: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from embreduce.cli import app

    out = tmp_path / "r.html"
    result = CliRunner().invoke(app, ["report", str(study_dir), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert f"Wrote {out}" in result.output and out.is_file()
    result = CliRunner().invoke(app, ["report", str(tmp_path / "nowhere")])
    assert result.exit_code == 1 and "no such study folder" in result.output
    result = CliRunner().invoke(app, ["report", str(study_dir), "--static", "gif"])
    assert result.exit_code == 2


def test_each_candidates_patches_are_what_its_whole_charts_give(report: Path) -> None:
    """The patches computed from the data equal those read off each candidate's charts."""
    from embreduce.report.page import figure_json
    from embreduce.report.study_report import (
        _ordered_candidates,
        candidate_figures,
        candidate_patches,
        figure_patch,
    )

    study = read_study(report.parent)
    checked = 0
    for split in study.splits:
        rows = _ordered_candidates(study, split)
        frame = {k: figure_json(f) for k, f in candidate_figures(study, rows[0]).items()}
        for row in rows:
            whole = {k: figure_json(f) for k, f in candidate_figures(study, row).items()}
            expected = {k: figure_patch(frame[k], fig) for k, fig in whole.items()}
            assert candidate_patches(study, row, rows[0]) == expected
            checked += 1
    assert checked > 2
