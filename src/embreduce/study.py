"""The decision procedure: every method at every dimension, judged on pairwise cosines.

The seed study's manual steps, as one function:

1. compute all pairwise similarities;
2. reduce with each method at each dimension;
3. compute the similarities again;
4. take the differences;
5. keep their distributions (for the report's histograms);
6. pick the method whose difference distribution is centred nearest 0 with the least
   spread, at a practical size (:func:`recommend`).

:func:`run_study` writes ``results.csv``/``results.json`` after every finished cell, so an
interrupted run keeps what it finished.
"""

from __future__ import annotations

import csv
import inspect
import json
import math
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from embreduce.exceptions import EmbreduceError, InputError
from embreduce.io import EmbeddingSet, atomic_write, write_json
from embreduce.progress import progress_bar
from embreduce.validation import check_vectors

DEFAULT_METHODS = ("pca", "svd", "random", "truncate", "encoder")
DEFAULT_DIMS = (16, 32, 64, 128, 256, 512, 1024)

RESULT_COLUMNS = (
    "method",
    "dim",
    "split",
    "mean",
    "std",
    "mse",
    "mae",
    "q01",
    "q05",
    "q50",
    "q95",
    "q99",
    "spearman",
    "recall_at_10",
    "trustworthiness",
    "n_pairs",
    "fit_seconds",
    "transform_seconds",
)
"""The columns of ``results.csv``; ``results.json`` rows add the histogram counts."""

LIMIT = "limit"


@dataclass
class StudyResult:
    """What :func:`run_study` found.

    Attributes
    ----------
    rows : list of dict
        One per method, dim and split, with every metric (see :data:`RESULT_COLUMNS`).
    recommendation : dict or None
        ``{"method", "dim", "reason"}``.
    notes : list of str
        Cells that were skipped and why.
    output_dir : Path
    """

    rows: list[dict[str, Any]]
    recommendation: dict[str, Any] | None
    notes: list[str] = field(default_factory=list)
    output_dir: Path | None = None


def split_holdout(n: int, holdout: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded train / held-out row indices; both sides keep at least 2 rows."""
    if not 0 < holdout < 1:
        raise InputError(f"--holdout must be between 0 and 1 (exclusive), got {holdout}")
    n_eval = int(round(n * holdout))
    if n_eval < 2 or n - n_eval < 2:
        raise InputError(
            f"{n} vectors are too few to hold out {holdout:.0%}: each side needs at least 2 rows"
        )
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[n_eval:]), np.sort(order[:n_eval])


def recommend(rows: Sequence[dict[str, Any]], tolerance: float = 0.10) -> dict[str, Any] | None:
    """Pick the smallest practical candidate, by the seed study's rule.

    First the method: the held-out row (real methods only, not ``limit``) whose
    difference distribution is centred nearest 0 with the least spread, i.e. the lowest
    ``sqrt(mean**2 + std**2)``, names it. Then the size: the smallest dimension of that
    method whose held-out std is within ``tolerance`` of the method's best std and whose
    recall@10 is within ``tolerance`` of its best recall.

    Parameters
    ----------
    rows : sequence of dict
        Result rows with ``method, dim, split, mean, std, recall_at_10``.
    tolerance : float
        Relative slack, 0.10 = 10 %.

    Returns
    -------
    dict or None
        ``{"method", "dim", "reason", "tolerance"}``, None when there are no held-out rows.
    """
    evals = [r for r in rows if r["split"] == "eval" and r["method"] != LIMIT]
    if not evals:
        return None

    def spread(r: dict[str, Any]) -> float:
        return math.hypot(r["mean"], r["std"])

    best = min(evals, key=lambda r: (spread(r), r["dim"]))
    same = [r for r in evals if r["method"] == best["method"]]
    best_std = min(same, key=lambda r: r["std"])
    best_recall = max(same, key=lambda r: r["recall_at_10"])
    ok = [
        r
        for r in same
        if r["std"] <= best_std["std"] * (1 + tolerance)
        and r["recall_at_10"] >= best_recall["recall_at_10"] * (1 - tolerance)
    ]
    pick = min(ok, key=lambda r: (r["dim"], spread(r))) if ok else best
    method = pick["method"]
    reason = (
        f"{method}-{pick['dim']}: mean {pick['mean']:+.4f}, std {pick['std']:.4f} "
        f"(best {best_std['std']:.4f} at {best_std['dim']}), "
        f"recall@10 {pick['recall_at_10']:.3f} (best {best_recall['recall_at_10']:.3f} at "
        f"{best_recall['dim']}); {method} keeps the differences nearest 0 with the least "
        f"spread (sqrt(mean^2 + std^2) = {spread(best):.4f} at {best['dim']})"
    )
    largest = max(r["dim"] for r in same)
    if largest > pick["dim"]:
        reason += (
            f"; {pick['dim']} is the smallest size within {tolerance:.0%} of the best std and "
            f"recall, {largest / pick['dim']:g}x smaller than {largest}"
        )
    return {"method": method, "dim": int(pick["dim"]), "reason": reason, "tolerance": tolerance}


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


def write_results(output_dir: Path, rows: Sequence[dict[str, Any]]) -> None:
    """Write ``results.csv`` (metrics) and ``results.json`` (metrics + histograms)."""
    with atomic_write(output_dir / "results.csv") as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(RESULT_COLUMNS)
            for row in rows:
                writer.writerow([_csv_value(row.get(c, "")) for c in RESULT_COLUMNS])
    write_json(output_dir / "results.json", {"columns": list(RESULT_COLUMNS), "rows": list(rows)})


def _row(method: str, dim: int, split: str, metrics: dict[str, Any], **extra: Any) -> dict:
    row = {"method": method, "dim": int(dim), "split": split}
    row.update({k: v for k, v in metrics.items() if k not in ("sampled",)})
    row.update(extra)
    return row


def run_study(
    data: EmbeddingSet,
    output_dir: str | Path,
    *,
    methods: Sequence[str] = DEFAULT_METHODS,
    dims: Sequence[int] = DEFAULT_DIMS,
    holdout: float = 0.2,
    eval_data: EmbeddingSet | None = None,
    seed: int = 0,
    max_pairs: int | None = None,
    k: int = 10,
    limit: bool = True,
    tolerance: float = 0.10,
    save_models: bool = True,
    settings: dict[str, Any] | None = None,
    sample_weight: ArrayLike | None = None,
    show_progress: bool = True,
    on_row: Callable[[dict[str, Any]], None] | None = None,
) -> StudyResult:
    """Fit every method x dim on the training vectors and judge it on both splits.

    Parameters
    ----------
    data : EmbeddingSet
        The vectors. With ``eval_data`` they are all training vectors; otherwise a seeded
        ``holdout`` share is kept aside for evaluation.
    output_dir : path-like
        Gets ``results.csv``, ``results.json``, ``base_distribution.json``, ``study.json``
        and ``models/<method>-<dim>/``.
    methods : sequence of str
        Reducer names from :func:`embreduce.reducers.available_reducers`.
    dims : sequence of int
        Target dimensions; those above the input dimension are skipped with a note.
    holdout : float
        Share of rows held out when ``eval_data`` is not given.
    eval_data : EmbeddingSet, optional
        The user's own held-out vectors.
    seed : int
        Seeds the split, the reducers and the pair sampling.
    max_pairs : int, optional
        Use a seeded sample of this many pairs instead of all pairs.
    k : int
        Neighbours for recall@k and trustworthiness.
    limit : bool
        Add the ``limit`` reference rows (free unit vectors optimised on the eval set).
    tolerance : float
        Slack of the recommendation (see :func:`recommend`).
    save_models : bool
        Save each fitted reducer that can be saved.
    settings : dict, optional
        Extra settings recorded in ``study.json`` (input path, model...).
    sample_weight : array-like of shape (len(data),), optional
        A non-negative weight per row of ``data`` (see :func:`study_weights`). Reducers
        whose ``fit`` takes ``sample_weight`` (the encoders) train on the training rows'
        weights; the others ignore them, and a note says which did what. The evaluation
        stays over all pairs, unweighted.
    show_progress : bool
        Draw a progress bar over the grid.
    on_row : callable, optional
        Called with every finished row (the CLI prints them).

    Returns
    -------
    StudyResult
    """
    from embreduce.metrics import COS_EDGES, DIFF_EDGES, base_distribution, similarity_limit
    from embreduce.reducers import available_reducers

    started = time.perf_counter()
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    output_dir = Path(output_dir)
    unknown = [m for m in methods if m not in available_reducers()]
    if unknown:
        raise InputError(
            f"unknown method(s) {', '.join(unknown)}: choose from {', '.join(available_reducers())}"
        )
    if not methods or not dims:
        raise InputError("give at least one method and one dimension")
    vectors = check_vectors(data.vectors, name="vectors", allow_zero=False, min_rows=2)
    if eval_data is not None:
        train = vectors
        evaluation = check_vectors(eval_data.vectors, name="eval vectors", allow_zero=False)
        if evaluation.shape[1] != train.shape[1]:
            raise InputError(
                f"eval vectors have {evaluation.shape[1]} dims, training vectors {train.shape[1]}"
            )
        if len(evaluation) < 2:
            raise InputError("the eval set needs at least 2 vectors")
        train_idx = np.arange(len(vectors))
    else:
        train_idx, eval_idx = split_holdout(len(vectors), holdout, seed)
        train, evaluation = vectors[train_idx], vectors[eval_idx]
    splits = {"train": train, "eval": evaluation}
    weights = None
    if sample_weight is not None:
        weights = np.asarray(sample_weight, dtype=np.float64)
        if weights.shape != (len(vectors),):
            raise InputError(
                f"sample_weight has shape {weights.shape}; expected one weight per vector "
                f"({len(vectors)},)"
            )
        if not np.isfinite(weights).all() or (weights < 0).any():
            raise InputError("sample_weight must be finite and non-negative")
        weights = weights[train_idx]
    for split, X in splits.items():
        if len(X) <= 2 * k:
            raise InputError(
                f"the {split} split has {len(X)} vectors; k={k} neighbours need more than "
                f"{2 * k} (give more vectors, a larger --holdout, or a smaller --k)"
            )
    input_dim = train.shape[1]
    notes = [
        f"dim {d} skipped: above the input dimension {input_dim}" for d in dims if d > input_dim
    ]
    dims = sorted({int(d) for d in dims if d <= input_dim})
    if not dims:
        raise InputError(f"every dimension asked for is above the input dimension {input_dim}")

    output_dir.mkdir(parents=True, exist_ok=True)
    base = {"cos_edges": COS_EDGES, "diff_edges": DIFF_EDGES}
    for split, X in splits.items():
        base[split] = base_distribution(X, max_pairs=max_pairs, seed=seed)
    write_json(output_dir / "base_distribution.json", base)

    study = {
        "settings": {
            **(settings or {}),
            "methods": list(methods),
            "dims": dims,
            "holdout": None if eval_data is not None else holdout,
            "seed": seed,
            "max_pairs": max_pairs,
            "k": k,
            "tolerance": tolerance,
            "sample_weight": weights is not None,
        },
        "data": {
            "n": len(train) + (len(evaluation) if eval_data is None else 0),
            "dim": input_dim,
            "n_train": len(train),
            "n_eval": len(evaluation),
            "n_pairs_train": base["train"]["n_pairs"],
            "n_pairs_eval": base["eval"]["n_pairs"],
            "model": data.info.get("model"),
        },
        "versions": _versions(),
        "started": started_at,
        "recommendation": None,
        "notes": notes,
        "elapsed_seconds": None,
        "complete": False,
    }
    rows: list[dict[str, Any]] = []
    cells = [(m, d) for m in methods for d in dims] + ([(LIMIT, d) for d in dims] if limit else [])

    def finish(row: dict[str, Any]) -> None:
        rows.append(row)
        write_results(output_dir, rows)
        if on_row is not None:
            on_row(row)

    try:
        with progress_bar("Study", len(cells), enabled=show_progress) as bar:
            for method, dim in cells:
                if method == LIMIT:
                    # Above a few thousand rows the limit is optimised on a seeded
                    # sample of the eval set, and measured on that sample.
                    limit_vectors, rows_used = similarity_limit(
                        evaluation, dim, seed=seed, return_rows=True
                    )
                    metrics = _metrics(evaluation[rows_used], limit_vectors, max_pairs, seed, k)
                    finish(
                        _row(LIMIT, dim, "eval", metrics, fit_seconds=0.0, transform_seconds=0.0)
                    )
                else:
                    for row in _study_cell(
                        method,
                        dim,
                        splits,
                        output_dir,
                        data,
                        seed,
                        max_pairs,
                        k,
                        save_models,
                        notes,
                        weights,
                    ):
                        finish(row)
                bar.advance(1)
        study["complete"] = True
    finally:
        study["recommendation"] = recommend(rows, tolerance)
        study["elapsed_seconds"] = round(time.perf_counter() - started, 3)
        study["notes"] = notes
        write_json(output_dir / "study.json", study)
    return StudyResult(rows, study["recommendation"], notes, output_dir)


def _metrics(
    original: np.ndarray, reduced: np.ndarray, max_pairs: int | None, seed: int, k: int
) -> dict[str, Any]:
    from embreduce.metrics import similarity_metrics

    return similarity_metrics(original, reduced, k=k, max_pairs=max_pairs, seed=seed)


def _study_cell(
    method: str,
    dim: int,
    splits: dict[str, np.ndarray],
    output_dir: Path,
    data: EmbeddingSet,
    seed: int,
    max_pairs: int | None,
    k: int,
    save_models: bool,
    notes: list[str],
    weights: np.ndarray | None = None,
) -> list[dict[str, Any]]:
    """Fit one reducer and measure it on both splits; a failure becomes a note."""
    from embreduce.reducers import make_reducer, save_reducer, supports_transform

    if not supports_transform(method):
        notes.append(f"{method}-{dim} skipped: {method} cannot transform held-out vectors")
        return []
    try:
        reducer = make_reducer(method, dim, random_state=seed)
        start = time.perf_counter()
        weighted = weights is not None and _takes_sample_weight(reducer)
        if weighted:
            reducer.fit(splits["train"], sample_weight=weights)
            fit_seconds = time.perf_counter() - start
            reduced_train = reducer.transform(splits["train"])
        else:
            reduced_train = reducer.fit_transform(splits["train"])
            fit_seconds = time.perf_counter() - start
        if weights is not None:
            _note_weights(notes, method, weighted)
        start = time.perf_counter()
        reduced_eval = reducer.transform(splits["eval"])
        transform_seconds = time.perf_counter() - start
    except (EmbreduceError, ValueError) as exc:
        notes.append(f"{method}-{dim} skipped: {exc}")
        return []
    if save_models:
        try:
            save_reducer(
                reducer,
                output_dir / "models" / f"{method}-{dim}",
                method=method,
                overwrite=True,  # the study's own folder, checked before the run
                extra={
                    "model": data.info.get("model"),
                    "source": data.info.get("source"),
                    "normalized": bool(data.info.get("normalized", False)),
                },
            )
        except EmbreduceError as exc:
            notes.append(f"{method}-{dim} not saved: {exc}")
    rows = []
    for split, reduced in (("train", reduced_train), ("eval", reduced_eval)):
        try:
            metrics = _metrics(splits[split], np.asarray(reduced), max_pairs, seed, k)
        except InputError as exc:  # e.g. a reducer that maps a row to zero
            notes.append(f"{method}-{dim} ({split}) not measured: {exc}")
            continue
        rows.append(
            _row(
                method,
                dim,
                split,
                metrics,
                fit_seconds=round(fit_seconds, 4),
                transform_seconds=round(transform_seconds, 4),
            )
        )
    return rows


def _takes_sample_weight(reducer: Any) -> bool:
    return "sample_weight" in inspect.signature(reducer.fit).parameters


def _note_weights(notes: list[str], method: str, used: bool) -> None:
    note = f"sample weights {'used' if used else 'ignored'} by {method}" + (
        "" if used else " (its fit takes none)"
    )
    if note not in notes:
        notes.append(note)


def study_weights(data: EmbeddingSet, spec: str) -> np.ndarray:
    """One training weight per vector of ``data``, as ``spec`` says.

    Parameters
    ----------
    data : EmbeddingSet
        The study's vectors, with their texts and metadata.
    spec : str
        ``"frequency"``: each text's wordfreq frequency in English, so that frequent words
        count as often as they occur in running text (see
        :func:`embreduce.embedding.corpora.word_frequencies`). ``"column:NAME"``: the
        numeric metadata column ``NAME``.

    Returns
    -------
    ndarray of shape (len(data),)

    Raises
    ------
    InputError
        An unknown spec, ``frequency`` without texts, a missing or non-numeric column.

    Examples
    --------
    >>> import numpy as np
    >>> words = EmbeddingSet(np.eye(3, dtype=np.float32), texts=["the", "of", "zebra"])
    >>> w = study_weights(words, "frequency")
    >>> bool(w[0] > w[2])
    True
    """
    check_weights_spec(spec)
    if spec == "frequency":
        from embreduce.embedding.corpora import word_frequencies

        if data.texts is None:
            raise InputError(
                "--weights frequency needs the texts: use --words N, a text file, or vectors "
                "saved with their texts"
            )
        return word_frequencies(list(data.texts))
    import pandas as pd

    name = spec[len("column:") :]
    if data.metadata is None or name not in data.metadata.columns:
        have = [] if data.metadata is None else list(data.metadata.columns)
        raise InputError(
            f"--weights {spec}: no metadata column '{name}' "
            f"(columns: {', '.join(map(str, have)) or 'none'})"
        )
    values = data.metadata[name]
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        raise InputError(f"--weights {spec}: the column holds {values.dtype}, not numbers")
    return values.to_numpy(dtype=np.float64)


def check_weights_spec(spec: str) -> None:
    """Raise :class:`InputError` unless ``spec`` is one :func:`study_weights` knows."""
    if spec != "frequency" and not (spec.startswith("column:") and len(spec) > len("column:")):
        raise InputError(f"unknown --weights '{spec}': use frequency or column:NAME")


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
