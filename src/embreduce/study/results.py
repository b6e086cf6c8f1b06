"""A study's results on disk: ``results.csv``/``results.json``, and reading a study back."""

from __future__ import annotations

import csv
import json
import math
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from embreduce.exceptions import InputError
from embreduce.io import write_json
from embreduce.outputs import atomic_write
from embreduce.study.candidates import recall_column


def result_columns(k: int = 10) -> tuple[str, ...]:
    """The columns of ``results.csv`` for a study with ``k`` neighbours.

    Examples
    --------
    >>> result_columns(5)[15]
    'recall_at_5'
    """
    return (
        *("method", "dim", "bits", "bytes", "split", "mean", "std", "mse", "mae"),
        *("q01", "q05", "q50", "q95", "q99", "spearman", recall_column(k)),
        *("trustworthiness", "pairs_spearman", "pairs_retained", "select_pairs_retained"),
        "n_pairs",
        *("fit_seconds", "transform_seconds", "codec"),
    )


RESULT_COLUMNS = result_columns(10)
"""The columns of ``results.csv`` at the default ``k=10``; rows in ``results.json`` add the
histogram counts."""


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("embreduce", "numpy", "scipy", "scikit-learn", "torch", "umap-learn"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out


def _csv_value(value: Any) -> Any:
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return value


def write_results(
    output_dir: Path,
    rows: Sequence[dict[str, Any]],
    k: int = 10,
    *,
    extra_columns: Sequence[str] = (),
) -> None:
    """Write ``results.csv`` (metrics) and ``results.json`` (metrics + histograms).

    ``extra_columns`` follow the standard ones (a retrieval study's, see
    :meth:`~embreduce.study.retrieval.RetrievalTask.columns`).
    """
    columns = (*result_columns(k), *extra_columns)
    with atomic_write(output_dir / "results.csv", overwrite=True) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(columns)
            for row in rows:
                writer.writerow([_csv_value(row.get(c, "")) for c in columns])
    # compact: the histograms make it large, and indenting it takes Python's slow encoder
    results = {"columns": list(columns), "rows": list(rows)}
    write_json(output_dir / "results.json", results, indent=None)


def _row(method: str, dim: int, split: str, metrics: dict[str, Any], **extra: Any) -> dict:
    row = {"method": method, "dim": int(dim), "split": split}
    row.update({k: v for k, v in metrics.items() if k not in ("sampled",)})
    row.update(extra)
    return row


def load_study(study_dir: str | Path) -> dict[str, Any]:
    """Read a study folder back: ``study.json``, ``results.json`` and the base distribution."""
    study_dir = Path(study_dir)
    needed = ("study.json", "results.json", "base_distribution.json")
    missing = [n for n in needed if not (study_dir / n).is_file()]
    if missing:
        raise InputError(
            f"{study_dir}: not a study folder (missing {', '.join(missing)}); "
            "run `embreduce study` first"
        )
    out = {}
    for name in needed:
        try:
            out[name.removesuffix(".json")] = json.loads((study_dir / name).read_text("utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError(f"{study_dir / name}: not valid JSON ({exc})") from None
    return out
