"""The study report: one offline ``report.html`` built from a study folder.

The study writes ``results.json``, ``base_distribution.json`` and ``study.json``; this
module reads them and nothing else, so a report can be rebuilt at any time with
``embreduce report STUDY_DIR``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from embreduce.exceptions import InputError, ParameterError
from embreduce.outputs import check_output_file, is_embreduce_page
from embreduce.report.charts import (
    CHART_KINDS,
    bytes_figure,
    density_patch,
    distribution_figure,
    distribution_traces,
    finite_number,
    house_template,
    metric_curves_figure,
    populated_range,
)
from embreduce.report.names import (
    method_name,
)
from embreduce.report.page import (
    escape_label,
    figure_json,
    notes_section,
    render_page,
    write_page,
)
from embreduce.report.tables import (
    _metadata_html,
    _recommendation_html,
    _results_table,
    table_columns,
)
from embreduce.study.candidates import row_bits, row_bytes

SPLIT_ORDER = ("eval", "train")


TABLE_COLUMNS = table_columns(10)


@dataclass
class Study:
    """What a study folder holds, as read by :func:`read_study`.

    Attributes
    ----------
    folder : pathlib.Path
    rows : list of dict
        ``results.json`` rows: one per (method, dim, split), with histograms.
    base : dict
        ``base_distribution.json``: histogram edges and the original vectors' histograms.
    meta : dict
        ``study.json``: settings, data sizes, versions, recommendation, timing.
    """

    folder: Path
    rows: list[dict[str, Any]]
    base: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def recommendation(self) -> dict[str, Any] | None:
        """``{"method", "dim", "bits", "reason"}`` or None when the study made no pick."""
        rec = self.meta.get("recommendation")
        return rec if isinstance(rec, dict) and rec.get("method") else None

    @property
    def rank_by(self) -> str:
        """What the study ranked by: ``"pairs"`` or ``"cosine"``."""
        rank_by = (self.meta.get("settings") or {}).get("rank_by")
        return rank_by if rank_by in ("pairs", "cosine") else "cosine"

    def is_recommended(self, row: dict[str, Any]) -> bool:
        """Whether ``row`` is the recommended method, dim and precision."""
        rec = self.recommendation
        return bool(rec) and (row["method"], int(row["dim"]), row_bits(row)) == (
            rec["method"],
            int(rec["dim"]),
            int(rec.get("bits") or 32),
        )

    @property
    def has_pairs(self) -> bool:
        """Whether the candidates were judged on labelled pairs."""
        return any(finite_number(r.get("pairs_retained")) is not None for r in self.rows)

    @property
    def k(self) -> int:
        """The study's neighbours for recall@k (10 for studies that do not say)."""
        k = (self.meta.get("settings") or {}).get("k")
        return k if isinstance(k, int) and not isinstance(k, bool) and k > 0 else 10

    @property
    def splits(self) -> list[str]:
        """Splits that have rows, the held-out one first."""
        present = {r["split"] for r in self.rows}
        return [s for s in SPLIT_ORDER if s in present] + sorted(present - set(SPLIT_ORDER))

    def candidates(self, split: str) -> list[dict[str, Any]]:
        """The rows of ``split`` that a user could pick (not the ``limit`` reference)."""
        return [
            r for r in self.rows if r["split"] == split and r["method"] != "limit" and _has_hists(r)
        ]


def _has_hists(row: dict[str, Any]) -> bool:
    return bool(row.get("hist_reduced")) and bool(row.get("hist_diff"))


def read_study(study_dir: str | os.PathLike[str]) -> Study:
    """Read a study folder written by ``embreduce study`` (see :func:`embreduce.study.load_study`).

    Parameters
    ----------
    study_dir : path-like
        The folder holding ``study.json``, ``results.json`` and ``base_distribution.json``.

    Returns
    -------
    Study

    Raises
    ------
    InputError
        A missing folder or file, invalid JSON, or histograms that do not match their edges.
    """
    from embreduce.study import load_study

    folder = Path(study_dir)
    if not folder.is_dir():
        raise InputError(f"{folder}: no such study folder")
    raw = load_study(folder)
    rows = (raw["results"] or {}).get("rows") if isinstance(raw["results"], dict) else None
    if not rows:
        raise InputError(f"{folder / 'results.json'}: no result rows")
    study = Study(folder, rows, raw["base_distribution"], raw["study"] or {})
    _check_shapes(study)
    return study


def _check_shapes(study: Study) -> None:
    for key in ("cos_edges", "diff_edges"):
        if len(study.base.get(key) or []) < 2:
            raise InputError(f"{study.folder / 'base_distribution.json'}: no '{key}'")
    n_cos, n_diff = len(study.base["cos_edges"]) - 1, len(study.base["diff_edges"]) - 1
    for split in study.splits:
        hist = (study.base.get(split) or {}).get("hist")
        if hist is not None and len(hist) != n_cos:
            raise InputError(
                f"base_distribution.json: the {split} histogram has {len(hist)} bins, "
                f"the edges give {n_cos}"
            )
    for row in study.rows:
        for key, n in (("hist_reduced", n_cos), ("hist_diff", n_diff)):
            if row.get(key) and len(row[key]) != n:
                raise InputError(
                    f"results.json: {row['method']}-{row['dim']} ({row['split']}) has "
                    f"{len(row[key])} bins in {key}, the edges give {n}"
                )


# ----------------------------------------------------------------------------- figures


def candidate_key(method: str, dim: int, split: str, bits: int = 32) -> str:
    """The id of one (method, dim, bits, split) in the page's data and the controls."""
    return f"{method}|{int(dim)}|{int(bits)}|{split}"


def _original_label(study: Study) -> str:
    dim = (study.meta.get("data") or {}).get("dim")
    return f"original {dim}-d" if dim else "original"


def _candidate_label(row: dict[str, Any]) -> str:
    label = f"{method_name(row['method'])} {int(row['dim'])}-d"
    bits = row_bits(row)
    return label if bits == 32 else f"{label} at {bits} bits"


def _subtitle(row: dict[str, Any]) -> str:
    parts = [f"{row['split']} split"]
    if finite_number(row.get("n_pairs")) is not None:
        parts.append(f"{int(row['n_pairs']):,} pairs")
    for key, label, fmt in (("mean", "mean diff", "+.4f"), ("std", "std", ".4f")):
        value = finite_number(row.get(key))
        if value is not None:
            parts.append(f"{label} {value:{fmt}}")
    if finite_number(row.get("mse")) is not None:
        parts.append(f"MSE {row['mse']:.2e}")
    return escape_label(" · ".join(parts))


def candidate_figures(study: Study, row: dict[str, Any]) -> dict[str, Any]:
    """The three distribution charts (``base``, ``diff``, ``both``) for one result row."""
    common = _chart_inputs(study, row)
    return {kind: distribution_figure(kind, **common) for kind in CHART_KINDS}


def candidate_patches(
    study: Study, row: dict[str, Any], frame_row: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """:func:`figure_patch` of each of a row's charts against ``frame_row``'s, computed from
    the data without building the charts (what the page needs of each candidate)."""
    mine, frame = _chart_inputs(study, row), _chart_inputs(study, frame_row)
    subtitle = mine.pop("subtitle")
    frame.pop("subtitle")
    patches = {}
    for kind in CHART_KINDS:
        specs = distribution_traces(kind, **mine)
        theirs = distribution_traces(kind, **frame)
        patches[kind] = {
            "traces": [
                None if spec.same(other) else density_patch(spec)
                for spec, other in zip(specs, theirs, strict=True)
            ],
            "subtitle": subtitle,
            "range": list(populated_range([(s.counts, s.edges) for s in specs])),
        }
    return patches


def _chart_inputs(study: Study, row: dict[str, Any]) -> dict[str, Any]:
    base_hist = (study.base.get(row["split"]) or {}).get("hist")
    if base_hist is None:
        raise InputError(f"base_distribution.json has no '{row['split']}' histogram")
    return {
        "cos_edges": study.base["cos_edges"],
        "diff_edges": study.base["diff_edges"],
        "original_hist": base_hist,
        "reduced_hist": row["hist_reduced"],
        "diff_hist": row["hist_diff"],
        "original_label": escape_label(_original_label(study)),
        "reduced_label": escape_label(_candidate_label(row)),
        "subtitle": _subtitle(row),
    }


def _ordered_candidates(study: Study, split: str) -> list[dict[str, Any]]:
    """Candidates of one split: the recommended method first, then by method and dim."""
    rows = study.candidates(split)
    rec = study.recommendation
    methods = list(dict.fromkeys(r["method"] for r in rows))
    if rec and rec["method"] in methods:
        methods.remove(rec["method"])
        methods.insert(0, rec["method"])

    def order(r: dict[str, Any]) -> tuple[int, int, int, int]:
        return (
            methods.index(r["method"]),
            0 if study.is_recommended(r) else 1,
            int(r["dim"]),
            -row_bits(r),
        )

    return sorted(rows, key=order)


def figure_patch(frame: dict[str, Any], figure: dict[str, Any]) -> dict[str, Any]:
    """What ``figure`` changes in ``frame``, a chart of the same kind and split.

    The page holds one full chart per kind and split (the frame) and, per candidate, only
    its traces' counts and names, its subtitle and its x range: a tenth of the size of
    whole charts. A trace equal to the frame's is ``None``; a trace whose ``x`` differs is
    kept whole. The page's script rebuilds each chart from these.
    """
    traces: list[dict[str, Any] | None] = []
    for mine, theirs in zip(figure["data"], frame["data"], strict=True):
        if mine == theirs:
            traces.append(None)
        elif mine.get("x") == theirs.get("x"):
            patch = {k: mine[k] for k in ("y", "name", "hovertemplate") if k in mine}
            patch["y"] = _single_precision(patch.get("y"))
            traces.append(patch)
        else:
            traces.append(mine)
    layout = figure["layout"]
    return {
        "traces": traces,
        "subtitle": layout.get("title", {}).get("subtitle", {}).get("text", ""),
        "range": layout.get("xaxis", {}).get("range"),
    }


def _single_precision(values: Any) -> Any:
    """Plotly's typed-array JSON of float64 as float32: half the bytes, ample for a chart."""
    if not (isinstance(values, dict) and values.get("dtype") == "f8" and "bdata" in values):
        return values
    import base64

    import numpy as np

    array = np.frombuffer(base64.b64decode(values["bdata"]), "<f8").astype("<f4")
    return {**values, "dtype": "f4", "bdata": base64.b64encode(array.tobytes()).decode("ascii")}


def curves_figure(study: Study, split: str) -> Any:
    """Metric-versus-dimension curves of one split, at the study's highest precision."""
    top = max((row_bits(r) for r in study.rows), default=32)
    rows = [
        r
        for r in study.rows
        if r["split"] == split and row_bits(r) == top and r["method"] != "original"
    ]
    methods = list(dict.fromkeys(r["method"] for r in rows if r["method"] != "limit"))
    if any(r["method"] == "limit" for r in rows):
        methods.append("limit")
    rec = study.recommendation
    return metric_curves_figure(
        rows,
        methods=methods,
        labels={m: escape_label(method_name(m)) for m in methods},
        recommended=(rec["method"], int(rec["dim"])) if rec else None,
        subtitle=escape_label(f"{split} split"),
        k=study.k,
    )


# ----------------------------------------------------------------------------- page parts


# ----------------------------------------------------------------------------- the report


def report_data(study: Study) -> dict[str, Any]:
    """Everything the page script needs: candidates, their charts, the curves."""
    template = house_template().to_plotly_json()
    candidates, figures, frames, frame_rows = [], {}, {}, {}
    for split in study.splits:
        for row in _ordered_candidates(study, split):
            key = candidate_key(row["method"], row["dim"], split, row_bits(row))
            candidates.append(
                {
                    "key": key,
                    "method": row["method"],
                    "method_label": method_name(row["method"]),
                    "dim": int(row["dim"]),
                    "bits": row_bits(row),
                    "bytes": row_bytes(row),
                    "split": split,
                    "recommended": study.is_recommended(row),
                }
            )
            if split not in frames:  # one whole chart per kind and split; patches for the rest
                charts = candidate_figures(study, row).items()
                frames[split] = {kind: figure_json(fig) for kind, fig in charts}
                frame_rows[split] = row
            patches = candidate_patches(study, row, frame_rows[split])
            del patches["both"]["traces"]  # the page takes them from "base" and "diff"
            figures[key] = patches
    if not candidates:
        raise InputError(f"{study.folder}: no candidate has histograms to draw")
    default = next((c["key"] for c in candidates if c["recommended"]), candidates[0]["key"])
    return {
        "template": template,
        "candidates": candidates,
        "splits": [s for s in study.splits if any(c["split"] == s for c in candidates)],
        "default": default,
        "frames": frames,
        "figures": figures,
        "curves": {s: figure_json(curves_figure(study, s)) for s in study.splits},
        "bytes": figure_json(bytes_chart(study)),
    }


def render_report(study: Study) -> str:
    """The report page of ``study`` as an HTML string."""
    settings = study.meta.get("settings") or {}
    subtitle = " · ".join(
        str(x)
        for x in (
            settings.get("input"),
            settings.get("model"),
            study.meta.get("started"),
        )
        if x
    )
    return render_page(
        "report.html",
        title=escape_label(f"embreduce study: {study.folder.resolve().name}"),
        subtitle=escape_label(subtitle or str(study.folder)),
        data=report_data(study),
        script="report.js",
        slots={
            "recommendation": _recommendation_html(study),
            "notes": notes_section(study.meta.get("notes") or []),
            "table": _results_table(study),
            "metadata": _metadata_html(study),
        },
    )


def write_report(
    study_dir: str | os.PathLike[str],
    *,
    output: str | os.PathLike[str] | None = None,
    static: Literal["png", "svg"] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write the study's ``report.html``, and optionally each chart as an image.

    Parameters
    ----------
    study_dir : path-like
        A folder written by ``embreduce study``.
    output : path-like, optional
        Where to write the page; default ``STUDY_DIR/report.html``.
    static : {"png", "svg"}, optional
        Also write the charts as images into ``figures/`` beside the page: the three
        distribution charts of every candidate of the held-out split, and the metric
        curves. See :func:`embreduce.report.static.write_images`.
    overwrite : bool
        Replace an existing file at ``output``. Without it, only the study's own
        ``report.html`` (in ``study_dir``, written by embreduce) is regenerated; any other
        existing file, a page embreduce wrote included, is refused. Checked before any work.

    Returns
    -------
    pathlib.Path
        The page written. It is self-contained: it opens offline and fetches nothing.

    Examples
    --------
    >>> from embreduce.report import write_report
    >>> write_report("runs/minilm")  # doctest: +SKIP
    PosixPath('runs/minilm/report.html')
    """
    if static not in (None, "png", "svg"):
        raise ParameterError(f"static must be png or svg, got {static!r}")
    own = Path(study_dir) / "report.html"
    output = Path(output) if output is not None else own
    # the one page replaced without asking: the study's own report, regenerated in place
    regenerate = output.absolute() == own.absolute() and is_embreduce_page(output)
    replace = overwrite or regenerate
    check_output_file(output, suffixes=(".html",), overwrite=replace)
    study = read_study(study_dir)
    path = write_page(output, render_report(study), overwrite=replace)
    if static is not None:
        write_static_figures(study, output.parent / "figures", static)
    return path


def bytes_chart(study: Study) -> Any:
    """Quality against bytes a vector of the held-out candidates (see :func:`bytes_figure`)."""
    split = study.splits[0]
    rows = [
        {**r, "bits": float(r.get("bits") or row_bits(r)), "bytes": row_bytes(r)}
        for r in study.rows
        if r["split"] == split and r["method"] != "limit"
    ]
    if any(finite_number(r.get("retrieval_retained")) is not None for r in rows):
        factors = {int(k.rsplit("_x", 1)[1]) for r in rows for k in r if "retained_x" in k}
        shown = 4 if 4 in factors else max(factors, default=None)  # the "<= 4x"
        metrics = (
            ("retrieval_retained", "search kept, held-out queries: float query vs codes"),
            ("retrieval_retained_symmetric", "symmetric: the query encoded too"),
            *(
                [(f"retrieval_retained_x{shown}", f"re-scored x{shown} with float32")]
                if shown
                else []
            ),
        )
    elif study.has_pairs:
        metrics = (("pairs_retained", "share of the original Spearman on held-out pairs"),)
    else:
        metrics = (
            (f"recall_at_{study.k}", f"recall@{study.k} (higher is better)"),
            ("std", "std of the difference (lower is better)"),
        )
    labels = {m: escape_label(method_name(m)) for m in dict.fromkeys(r["method"] for r in rows)}
    return bytes_figure(
        rows,
        metrics=metrics,
        labels=labels,
        recommended=next((r for r in rows if study.is_recommended(r)), None),
        subtitle=escape_label(f"{split} split · every method x dim x bits"),
    )


def static_figures(study: Study) -> dict[str, Any]:
    """The report's charts as ``{file stem: figure}`` for image export."""
    split = study.splits[0]
    figures: dict[str, Any] = {f"metrics-{split}": curves_figure(study, split)}
    figures[f"bytes-{split}"] = bytes_chart(study)
    for row in _ordered_candidates(study, split):
        bits = row_bits(row)
        stem = f"{row['method']}-{int(row['dim'])}" + ("" if bits == 32 else f"-{bits}bit")
        for kind, fig in candidate_figures(study, row).items():
            figures[f"{stem}-{split}-{kind}"] = fig
    return figures


def write_static_figures(
    study: Study, folder: str | os.PathLike[str], fmt: Literal["png", "svg"]
) -> list[Path]:
    """Write :func:`static_figures` as ``fmt`` images into ``folder``."""
    from embreduce.report.static import write_images

    figures = static_figures(study)
    wide = ("metrics-", "bytes-")
    sizes = {stem: (1500, 480) if stem.startswith(wide) else (900, 520) for stem in figures}
    return write_images(figures, folder, fmt, sizes=sizes)
