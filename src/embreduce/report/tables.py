"""The report's HTML pieces that are not charts: the results table, the recommendation and
the run's metadata."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from embreduce.report.charts import (
    finite_number,
)
from embreduce.report.names import method_name
from embreduce.report.page import (
    escape_label,
)
from embreduce.study.ranking import rank_rows

if TYPE_CHECKING:
    from embreduce.report.study_report import Study


def table_columns(k: int = 10) -> tuple[tuple[str, str, str], ...]:
    """The results table's ``(field, heading, number format)`` columns, for recall@``k``."""
    return (
        ("method", "method", ""),
        ("dim", "dim", "d"),
        ("bits", "bits", "d"),
        ("bytes", "bytes", ",d"),
        ("split", "split", ""),
        ("mse", "MSE", ".3e"),
        ("mae", "MAE", ".4f"),
        ("mean", "mean diff", "+.4f"),
        ("std", "std diff", ".4f"),
        ("q01", "q01", "+.3f"),
        ("q99", "q99", "+.3f"),
        ("spearman", "Spearman", ".4f"),
        (f"recall_at_{k}", f"recall@{k}", ".3f"),
        ("trustworthiness", "trustworthiness", ".3f"),
        ("pairs_spearman", "pairs Spearman", ".2f"),
        ("pairs_retained", "pairs retained", ".2%"),
        ("n_pairs", "pairs", ",d"),
        ("fit_seconds", "fit s", ".2f"),
        ("transform_seconds", "transform s", ".3f"),
    )


RETRIEVAL_COLUMNS = (
    ("ndcg_at_10", "nDCG@10", ".4f"),
    ("recall_at_100", "recall@100", ".3f"),
    ("query_recall_at_10", "query recall@10", ".3f"),
    ("retrieval_retained", "search kept", ".2%"),
    ("retrieval_retained_symmetric", "kept, symmetric", ".2%"),
    ("retrieval_retained_x2", "kept, re-scored x2", ".2%"),
    ("retrieval_retained_x4", "kept, re-scored x4", ".2%"),
    ("select_retrieval_retained", "kept, selection half", ".2%"),
    ("compare", "compare", ""),
)
"""A retrieval study's columns (those its rows hold): the confirmation half's figures, and
the selection half's share that chose the recommendation."""


def _results_table(study: Study) -> str:
    columns = table_columns(study.k)
    present = {key for row in study.rows for key in row}
    extra = tuple(c for c in RETRIEVAL_COLUMNS if c[0] in present)
    columns = columns[:-2] + extra + columns[-2:]  # before the timings
    heads = "".join(
        f'<th scope="col"><button type="button">{escape_label(h)}</button></th>'
        for _, h, _ in columns
    )
    body = []
    # the order of the CLI's table and of the recommendation, split by split
    rows = [r for split in study.splits for r in rank_rows(study.rows, study.rank_by, split=split)]
    for row in rows:
        classes = []
        if study.is_recommended(row):
            classes.append("recommended")
        if row["method"] == "limit":
            classes.append("limit")
        cells = "".join(_cell(row.get(key), fmt) for key, _, fmt in columns)
        body.append(f'<tr class="{" ".join(classes)}">{cells}</tr>')
    return (
        f'<table class="results"><thead><tr>{heads}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _cell(value: Any, fmt: str) -> str:
    if not fmt:
        return f"<td>{escape_label(value)}</td>"
    number = finite_number(value)
    if number is None:
        return '<td data-value="">–</td>'
    shown = f"{int(number):{fmt}}" if fmt.endswith("d") else f"{number:{fmt}}"
    return f'<td data-value="{number!r}">{escape_label(shown)}</td>'


INCOMPLETE = (
    "This study did not finish (it was stopped or is still running): the recommendation is "
    "the best of the candidates measured so far, and may change when the rest are measured."
)


def _recommendation_html(study: Study) -> str:
    rec = study.recommendation
    unfinished = study.meta.get("complete", True) is False
    warning = f'<p class="warning incomplete">{escape_label(INCOMPLETE)}</p>' if unfinished else ""
    if rec is None:
        return (
            f'{warning}<p class="pick">No recommendation</p>'
            '<p class="reason">The study made no pick; compare the candidates below.</p>'
        )
    pick = f"{method_name(rec['method'])} at {int(rec['dim'])} dimensions"
    if rec.get("bits") is not None:
        pick += f", {int(rec['bits'])} bits each: {int(rec['bytes']):,} bytes a vector"
    pick = escape_label(pick)
    reason = escape_label(rec.get("reason") or "")
    label = "Interim recommendation (unfinished study)" if unfinished else "Recommended"
    model = ""
    if rec.get("model"):
        model = (
            '<p class="reason">Apply it: <code>embreduce compress VECTORS -m STUDY/'
            f"{escape_label(rec['model'])} -o OUT.parquet</code></p>"
        )
    return (
        f'{warning}<p class="muted">{label}</p><p class="pick">{pick}</p>'
        f'<p class="reason">{reason}</p>{model}'
    )


def metadata_items(study: Study) -> list[tuple[str, str]]:
    """(label, value) pairs describing the run, as raw text."""
    settings = study.meta.get("settings") or {}
    data = study.meta.get("data") or {}
    items: list[tuple[str, str]] = []

    def add(label: str, value: Any) -> None:
        if value not in (None, "", [], {}):
            items.append((label, str(value)))

    add("input", settings.get("input"))
    add("model", settings.get("model"))
    if data.get("n") is not None:
        add("N", f"{int(data['n']):,} vectors of {data.get('dim', '?')} dimensions")
    if data.get("n_train") is not None or data.get("n_eval") is not None:
        add(
            "split",
            f"{int(data.get('n_train') or 0):,} train / {int(data.get('n_eval') or 0):,} eval"
            + (f" (holdout {settings['holdout']})" if settings.get("holdout") is not None else ""),
        )
    for split in study.splits:
        dist = study.base.get(split) or {}
        if dist.get("n_pairs") is not None:
            sampled = " (sampled)" if dist.get("sampled") else ""
            add(f"pairs ({split})", f"{int(dist['n_pairs']):,}{sampled}")
    if settings.get("methods"):
        add("methods", ", ".join(map(str, settings["methods"])))
    if settings.get("dims"):
        add("dimensions", ", ".join(map(str, settings["dims"])))
    add("seed", settings.get("seed"))
    if settings.get("weights") or settings.get("sample_weight"):
        given = settings.get("weights") or "a weight per vector"
        add("training weights", f"{given} (the encoders; baselines take none)")
    add("k (recall, trustworthiness)", settings.get("k"))
    add("max pairs", settings.get("max_pairs"))
    if study.meta.get("elapsed_seconds") is not None:
        add("time taken", _duration(float(study.meta["elapsed_seconds"])))
    add("started", study.meta.get("started"))
    versions = study.meta.get("versions") or {}
    if versions:
        add("versions", ", ".join(f"{k} {v}" for k, v in versions.items()))
    return items


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"


def _metadata_html(study: Study) -> str:
    items = metadata_items(study)
    if not items:
        return '<p class="muted">This study folder has no study.json.</p>'
    rows = "".join(f"<dt>{escape_label(k)}</dt><dd>{escape_label(v)}</dd>" for k, v in items)
    return f'<dl class="meta">{rows}</dl>'
