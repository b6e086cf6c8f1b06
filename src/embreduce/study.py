"""The decision procedure: every method at every dimension, judged on pairwise cosines.

The seed study's manual steps, as one function:

1. compute all pairwise similarities;
2. reduce with each method at each dimension;
3. compute the similarities again;
4. take the differences;
5. keep their distributions (for the report's histograms);
6. recommend the fewest bytes a vector that keeps nearly all of the best candidate's
   quality (:func:`recommend`), a candidate ``compress`` and ``export`` can apply: its model
   folder is named in the recommendation.

:func:`run_study` checks every setting and the output folder before any work, writes
``study.json`` (``complete: false``) before the first cell, and rewrites ``results.csv``,
``results.json`` and ``study.json`` after every finished cell, so an interrupted run (even
one killed outright) keeps what it finished and the report can show it.
"""

from __future__ import annotations

import csv
import dataclasses
import inspect
import json
import math
import platform
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from embreduce.codec_store import ROTATED_MAX_BITS
from embreduce.exceptions import EmbreduceError, InputError, ParameterError
from embreduce.io import EmbeddingSet, LabelledPairs, save_vectors, write_json
from embreduce.outputs import atomic_write, check_output_folder
from embreduce.progress import progress_bar
from embreduce.validation import check_float, check_int, check_vectors

DEFAULT_METHODS = ("pca", "svd", "random", "truncate", "encoder")
DEFAULT_DIMS = (16, 32, 64, 128, 256, 512, 1024)
MAX_SEED = 2**32 - 1
"""The largest seed: scikit-learn and numpy's legacy generators take 32-bit seeds."""


def recall_column(k: int = 10) -> str:
    """The results column of recall@k: ``recall_at_10`` for the default ``k=10``."""
    return f"recall_at_{k}"


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
        *("trustworthiness", "pairs_spearman", "pairs_retained", "n_pairs"),
        *("fit_seconds", "transform_seconds"),
    )


RESULT_COLUMNS = result_columns(10)
"""The columns of ``results.csv`` at the default ``k=10``; rows in ``results.json`` add the
histogram counts."""

LIMIT = "limit"
ORIGINAL = "original"
"""The reference rows of the input vectors, quantized but not reduced."""
DEFAULT_BITS = (32, 8, 4, 1)
RANK_BY = ("pairs", "cosine")


@dataclass(frozen=True)
class PairVectors:
    """Labelled pairs to judge every candidate on the user's own task.

    Parameters
    ----------
    first, second : ndarray of shape (n_pairs, dim)
        The two texts of each pair, embedded with the study's model.
    scores : ndarray of shape (n_pairs,)
        The human (or task) score of each pair; only its order matters.
    """

    first: np.ndarray
    second: np.ndarray
    scores: np.ndarray


def embed_pairs(
    pairs: LabelledPairs,
    embedder: Any,
    *,
    batch_size: int = 64,
    normalize: bool = False,
    show_progress: bool = False,
) -> PairVectors:
    """Embed both texts of every labelled pair (each distinct text once).

    Parameters
    ----------
    pairs : LabelledPairs
        From :func:`embreduce.io.read_pairs`.
    embedder : Embedder
        The model the study's vectors came from.
    batch_size, normalize, show_progress
        As for :meth:`embreduce.embedding.Embedder.encode`.

    Returns
    -------
    PairVectors
    """
    from embreduce.embedding import embed_items

    unique = list(dict.fromkeys(pairs.first + pairs.second))
    row = {text: i for i, text in enumerate(unique)}
    vectors = embed_items(
        unique,
        embedder,
        batch_size=batch_size,
        normalize=normalize,
        show_progress=show_progress,
    ).vectors
    first = vectors[[row[t] for t in pairs.first]]
    second = vectors[[row[t] for t in pairs.second]]
    return PairVectors(first, second, np.asarray(pairs.scores, dtype=np.float64))


@dataclass(frozen=True)
class StudySettings:
    """What a study varies and how it judges, checked once when built.

    Parameters
    ----------
    methods : sequence of str
        Reducer names from :func:`embreduce.reducers.available_reducers` that can transform
        held-out vectors; repeats are dropped.
    dims : sequence of int
        Target dimensions, sorted, repeats dropped; those above the input dimension are
        skipped with a note when the study runs.
    holdout : float
        Share of rows held out when no evaluation set is given, in (0, 1).
    seed : int
        Seeds the split, the reducers and the pair sampling; 0 to 2**32 - 1.
    max_pairs : int, optional
        Use a seeded sample of this many pairs instead of all pairs.
    k : int
        Neighbours for recall@k and trustworthiness; the results column is ``recall_at_{k}``.
    limit : bool
        Add the ``limit`` reference rows (free unit vectors optimised on the eval set).
    tolerance : float
        The share of quality the recommendation may give up for a smaller size (see
        :func:`recommend`), in [0, 1); 0.01 = one point of the retained share.
    save_models : bool
        Save each fitted reducer that can be saved under ``models/<method>-<dim>/``.
    weights : str, optional
        Training weights: ``"frequency"`` or ``"column:NAME"`` (see :func:`study_weights`).
    bits : sequence of int
        Precisions crossed with every dim, from 32, 16, 8, 4, 2, 1 bits a dimension
        (see :mod:`embreduce.codecs`); each reduced vector is judged as its codes decode.
    rotations : sequence of str
        Codec rotations (``"random"``, ``"itq"``) also tried at 4 bits and fewer: each
        is a candidate of its own, named ``<method>+<rotation>`` (e.g. ``pca+itq``), with
        its codec saved as ``codec-<bits>bit-<rotation>/`` beside the method's model.
        Default none.
    budget : int, optional
        Bytes a vector: recommend the best candidate of at most this size.
    rank_by : {"pairs", "cosine"}, optional
        What the recommendation ranks by: the labelled pairs' Spearman (the default when
        pairs are given) or the rank agreement of the pair cosines with the originals.

    Raises
    ------
    ParameterError
        One line naming the first bad parameter.

    Examples
    --------
    >>> StudySettings(methods=["pca", "pca"], dims=[8, 4]).methods, StudySettings(dims=[8, 4]).dims
    (('pca',), (4, 8))
    """

    methods: Sequence[str] = DEFAULT_METHODS
    dims: Sequence[int] = DEFAULT_DIMS
    holdout: float = 0.2
    seed: int = 0
    max_pairs: int | None = None
    k: int = 10
    limit: bool = True
    tolerance: float = 0.01
    save_models: bool = True
    weights: str | None = None
    bits: Sequence[int] = DEFAULT_BITS
    rotations: Sequence[str] = ()
    budget: int | None = None
    rank_by: str | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "methods", _check_methods(self.methods))
        dims = [check_int(d, "dims", low=1) for d in _as_list(self.dims, "dims")]
        set_(self, "dims", tuple(sorted(set(dims))))
        holdout = check_float(self.holdout, "holdout", low=0, high=1, open_low=True, open_high=True)
        set_(self, "holdout", holdout)
        set_(self, "seed", check_int(self.seed, "seed", low=0, high=MAX_SEED))
        if self.max_pairs is not None:
            set_(self, "max_pairs", check_int(self.max_pairs, "max_pairs", low=1))
        set_(self, "k", check_int(self.k, "k", low=1))
        tolerance = check_float(self.tolerance, "tolerance", low=0, high=1, open_high=True)
        set_(self, "tolerance", tolerance)
        if self.weights is not None:
            check_weights_spec(self.weights)
        from embreduce.codecs import check_bits

        bits = [check_bits(b) for b in _as_list(self.bits, "bits")]
        set_(self, "bits", tuple(sorted(set(bits), reverse=True)))
        set_(self, "rotations", _check_rotations(self.rotations))
        if self.rotations and min(self.bits) > ROTATED_MAX_BITS:
            raise ParameterError(
                f"rotations apply at {ROTATED_MAX_BITS} bits and fewer, and bits has none "
                f"({', '.join(map(str, self.bits))}); add e.g. 4 or 1 to bits"
            )
        if self.budget is not None:
            set_(self, "budget", check_int(self.budget, "budget", low=1))
            self._check_budget()
        if self.rank_by is not None and self.rank_by not in RANK_BY:
            raise ParameterError(
                f"rank_by must be one of {', '.join(RANK_BY)}, got {self.rank_by!r}"
            )

    def _check_budget(self) -> None:
        """A budget smaller than every candidate could be is refused before any work.

        The smallest candidate is the smallest dim at the fewest bits (the original
        vectors are larger unless every dim is above the input dimension, a study that
        stops before any work anyway).
        """
        from embreduce.codecs import bytes_per_vector

        smallest = bytes_per_vector(min(self.dims), min(self.bits))
        if self.budget < smallest:
            raise ParameterError(
                f"budget={self.budget} bytes is smaller than every candidate (the smallest is "
                f"{smallest} bytes: {min(self.dims)} dims at {min(self.bits)} bits)"
            )

    def check_rows(self, split: str, n: int) -> None:
        """Raise :class:`InputError` unless a split of ``n`` vectors is enough for ``k``.

        Callers can check this on a count of texts, before embedding them.
        """
        if n <= 2 * self.k:
            raise InputError(
                f"the {split} split has {n} vectors; k={self.k} neighbours need more than "
                f"{2 * self.k} (give more vectors, a larger holdout, or a smaller k)"
            )

    def check_split(self, n: int) -> None:
        """Check that ``n`` vectors split by ``holdout`` give two large enough splits."""
        n_eval = holdout_rows(n, self.holdout)
        self.check_rows("train", n - n_eval)
        self.check_rows("eval", n_eval)

    def record(self) -> dict[str, Any]:
        """The settings as ``study.json`` records them."""
        out = dataclasses.asdict(self)
        out["methods"], out["dims"] = list(self.methods), list(self.dims)
        return out


def _as_list(values: Any, name: str) -> list[Any]:
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise ParameterError(f"{name} must be a list, got {values!r}")
    out = list(values)
    if not out:
        raise ParameterError(f"{name} is empty: give at least one")
    return out


def candidate_name(method: str, rotation: str | None = None) -> str:
    """A candidate's name in the results: the method, ``+<rotation>`` for a rotated codec."""
    return f"{method}+{rotation}" if rotation else method


def split_candidate(name: str) -> tuple[str, str | None]:
    """``(method, rotation or None)`` of a candidate's name (see :func:`candidate_name`)."""
    method, _, rotation = name.partition("+")
    return method, rotation or None


def _check_rotations(rotations: Sequence[str]) -> tuple[str, ...]:
    from embreduce.codecs import ROTATIONS

    if isinstance(rotations, str):
        raise ParameterError(f"rotations must be a list, got {rotations!r}")
    names = tuple(dict.fromkeys(str(r) for r in rotations))
    unknown = [r for r in names if r not in ROTATIONS]
    if unknown:
        raise ParameterError(
            f"rotations: unknown {', '.join(unknown)}; choose from {', '.join(ROTATIONS)}"
        )
    return names


def _check_methods(methods: Sequence[str]) -> tuple[str, ...]:
    from embreduce.reducers import available_reducers, supports_transform

    names = list(dict.fromkeys(str(m) for m in _as_list(methods, "methods")))
    unknown = [m for m in names if m not in available_reducers()]
    if unknown:
        raise ParameterError(
            f"methods: unknown {', '.join(unknown)}; choose from {', '.join(available_reducers())}"
        )
    static = [m for m in names if not supports_transform(m)]
    if static:
        raise ParameterError(
            f"methods: {', '.join(static)} cannot transform held-out vectors, which the study "
            "needs (use it in `embreduce map`)"
        )
    return tuple(names)


@dataclass
class StudyResult:
    """What :func:`run_study` found.

    Attributes
    ----------
    rows : list of dict
        One per method, dim and split, with every metric (see :func:`result_columns`).
    recommendation : dict or None
        ``{"method", "dim", "reason", "tolerance"}``.
    notes : list of str
        Cells that were skipped and why.
    output_dir : Path
    settings : StudySettings
    base : dict
        The pairwise-cosine distribution of each split's input vectors
        (``base_distribution.json``).
    rank_by : str
        What the recommendation ranked by: ``"pairs"`` or ``"cosine"``.
    """

    rows: list[dict[str, Any]]
    recommendation: dict[str, Any] | None
    notes: list[str] = field(default_factory=list)
    output_dir: Path | None = None
    settings: StudySettings = field(default_factory=StudySettings)
    base: dict[str, Any] = field(default_factory=dict)
    rank_by: str = "cosine"

    def ranked(self) -> list[dict[str, Any]]:
        """Held-out rows best first (see :func:`rank_rows`)."""
        return rank_rows(self.rows, self.rank_by)


def holdout_rows(n: int, holdout: float) -> int:
    """How many of ``n`` rows :func:`split_holdout` holds out; both sides keep 2 or more."""
    check_float(holdout, "holdout", low=0, high=1, open_low=True, open_high=True)
    n_eval = int(round(n * holdout))
    if n_eval < 2 or n - n_eval < 2:
        raise InputError(
            f"{n} vectors are too few to hold out {holdout:.0%}: each side needs at least 2 rows"
        )
    return n_eval


def split_holdout(n: int, holdout: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded train / held-out row indices; both sides keep at least 2 rows."""
    n_eval = holdout_rows(n, holdout)
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[n_eval:]), np.sort(order[:n_eval])


def spread(row: dict[str, Any]) -> float:
    """``sqrt(mean**2 + std**2)`` of a row's differences: how far from 0 and how wide."""
    return math.hypot(row["mean"], row["std"])


def row_bits(row: dict[str, Any]) -> int:
    """A row's bits a dimension (32 for rows of studies before precisions)."""
    bits = row.get("bits")
    return 32 if bits in (None, "") else int(bits)


def row_bytes(row: dict[str, Any]) -> int:
    """A row's bytes a vector: ``ceil(dim * bits / 8)``."""
    size = row.get("bytes")
    return -(-int(row["dim"]) * row_bits(row) // 8) if size in (None, "") else int(size)


def _score(row: dict[str, Any], rank_by: str) -> float:
    """A row's quality: the retained share of the pairs' Spearman, or the cosine Spearman."""
    value = row.get("pairs_retained" if rank_by == "pairs" else "spearman")
    value = float("nan") if value in (None, "") else float(value)
    return -math.inf if math.isnan(value) else value


def is_candidate(row: dict[str, Any]) -> bool:
    """A held-out row one could pick: not the ``limit``, not the uncompressed input."""
    return (
        row["split"] == "eval"
        and row["method"] != LIMIT
        and not (row["method"] == ORIGINAL and row_bits(row) == 32)
    )


def rank_rows(rows: Sequence[dict[str, Any]], rank_by: str = "cosine") -> list[dict[str, Any]]:
    """Held-out rows best first, the references (``original`` 32-bit, ``limit``) last.

    ``rank_by="cosine"`` orders by the rank agreement of the pair cosines with the
    originals (``spearman``), ``"pairs"`` by the share of the original vectors' Spearman
    on the labelled pairs a candidate keeps (``pairs_retained``); ties go to the smaller
    size. The CLI's table, the report's table and :func:`recommend` all use this order.
    """
    evals = [r for r in rows if r["split"] == "eval"]
    return sorted(evals, key=lambda r: (not is_candidate(r), -_score(r, rank_by), row_bytes(r)))


def recommend(
    rows: Sequence[dict[str, Any]],
    tolerance: float = 0.01,
    k: int = 10,
    *,
    rank_by: str = "cosine",
    budget: int | None = None,
    input_dim: int | None = None,
) -> dict[str, Any] | None:
    """Pick the smallest candidate that keeps nearly all of the best candidate's quality.

    Quality is ``spearman`` (how well the candidate keeps the order of the pair cosines,
    1 = perfectly) with ``rank_by="cosine"``, or ``pairs_retained`` (the share of the
    uncompressed vectors' Spearman on the labelled pairs it keeps) with
    ``rank_by="pairs"``. Without ``budget``: the fewest bytes a vector whose quality is
    within ``tolerance`` of the best candidate's. With ``budget``: the best candidate of
    at most ``budget`` bytes.

    Parameters
    ----------
    rows : sequence of dict
        Result rows (see :func:`result_columns`).
    tolerance : float
        Share of quality that may be given up for size; 0.01 = one point.
    k : int
        The study's neighbours: which recall column the reason quotes.
    rank_by : {"cosine", "pairs"}
    budget : int, optional
        Bytes a vector.
    input_dim : int, optional
        The input dimension, for the "Nx smaller than float32" factor.

    Returns
    -------
    dict or None
        ``{"method", "dim", "bits", "bytes", "reason", ...}``; None without candidates.
    """
    candidates = [r for r in rows if is_candidate(r) and _score(r, rank_by) > -math.inf]
    if budget is not None:
        candidates = [r for r in candidates if row_bytes(r) <= budget]
    if not candidates:
        return None
    best = max(candidates, key=lambda r: (_score(r, rank_by), -row_bytes(r)))
    if budget is None:
        floor = _score(best, rank_by) - tolerance
        ok = [r for r in candidates if _score(r, rank_by) >= floor]
        pick = min(ok, key=lambda r: (row_bytes(r), -_score(r, rank_by)))
    else:
        pick = best
    return _recommendation(pick, best, rank_by, tolerance, k, budget, input_dim)


def model_folder(method: str, dim: int) -> str:
    """Where a study saves a candidate's model, relative to its folder: ``models/pca-64``.

    A rotated candidate (``pca+itq``) shares its method's model; the ``original``
    candidates have one too (the identity, saved as a truncation to every dimension).
    """
    return f"models/{split_candidate(method)[0]}-{int(dim)}"


def _recommendation(
    pick: dict[str, Any],
    best: dict[str, Any],
    rank_by: str,
    tolerance: float,
    k: int,
    budget: int | None,
    input_dim: int | None,
) -> dict[str, Any]:
    bits, size = row_bits(pick), row_bytes(pick)
    name = f"{pick['method']}-{pick['dim']} at {bits} bits"
    reason = f"{name}: {size:,} bytes a vector"
    if input_dim:
        reason += f", {4 * input_dim / size:.3g}x smaller than float32 {input_dim}-d"
    kept = _score(pick, rank_by)
    if rank_by == "pairs":
        reason += (
            f", keeps {kept:.1%} of the original vectors' Spearman on your pairs "
            f"({pick['pairs_spearman']:.1f})"
        )
    else:
        reason += f", keeps the order of the pair cosines at Spearman {pick['spearman']:.4f}"
    recall = pick.get(recall_column(k))
    if recall not in (None, ""):
        reason += f", recall@{k} {float(recall):.3f}"
    reason += f"; mean diff {pick['mean']:+.4f}, std {pick['std']:.4f}"
    if budget is not None:
        reason += f"; the best candidate within the budget of {budget:,} bytes"
    elif best is not pick:
        reason += (
            f"; the smallest within {tolerance:.0%} of the best, {best['method']}-"
            f"{best['dim']} at {row_bits(best)} bits ({row_bytes(best):,} bytes)"
        )
    return {
        "method": pick["method"],
        "dim": int(pick["dim"]),
        "bits": bits,
        "bytes": size,
        "retained": kept,
        "rank_by": rank_by,
        "budget": budget,
        "tolerance": tolerance,
        "reason": reason,
    }


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


def write_results(output_dir: Path, rows: Sequence[dict[str, Any]], k: int = 10) -> None:
    """Write ``results.csv`` (metrics) and ``results.json`` (metrics + histograms)."""
    columns = result_columns(k)
    with atomic_write(output_dir / "results.csv", overwrite=True) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(columns)
            for row in rows:
                writer.writerow([_csv_value(row.get(c, "")) for c in columns])
    write_json(output_dir / "results.json", {"columns": list(columns), "rows": list(rows)})


def _row(method: str, dim: int, split: str, metrics: dict[str, Any], **extra: Any) -> dict:
    row = {"method": method, "dim": int(dim), "split": split}
    row.update({k: v for k, v in metrics.items() if k not in ("sampled",)})
    row.update(extra)
    return row


@dataclass
class _Run:
    """One study's checked inputs and running state, passed to each step."""

    settings: StudySettings
    output_dir: Path
    splits: dict[str, np.ndarray]
    dims: list[int]
    info: dict[str, Any]
    weights: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    record: dict[str, Any] = field(default_factory=dict)
    base: dict[str, Any] = field(default_factory=dict)
    pairs: PairVectors | None = None
    rank_by: str = "cosine"
    pairs_reference: float | None = None
    started: float = field(default_factory=time.perf_counter)

    def save(self) -> None:
        """Rewrite the results and ``study.json`` with what is finished so far."""
        s = self.settings
        write_results(self.output_dir, self.rows, s.k)
        rec = recommend(
            self.rows,
            s.tolerance,
            s.k,
            rank_by=self.rank_by,
            budget=s.budget,
            input_dim=self.splits["train"].shape[1],
        )
        if rec is not None:
            folder = model_folder(rec["method"], rec["dim"])
            saved = s.save_models and (self.output_dir / folder / "config.json").is_file()
            rec["model"] = folder if saved else None
        self.record["recommendation"] = rec
        self.record["elapsed_seconds"] = round(time.perf_counter() - self.started, 3)
        self.record["notes"] = self.notes
        write_json(self.output_dir / "study.json", self.record)


def run_study(
    data: EmbeddingSet,
    output_dir: str | Path,
    settings: StudySettings | None = None,
    *,
    eval_data: EmbeddingSet | None = None,
    pairs: PairVectors | None = None,
    sample_weight: ArrayLike | None = None,
    record: dict[str, Any] | None = None,
    save_input: bool = False,
    inputs: Iterable[str | Path | None] = (),
    overwrite: bool = False,
    show_progress: bool = True,
    **params: Any,
) -> StudyResult:
    """Fit every method x dim on the training vectors and judge it on both splits.

    Parameters
    ----------
    data : EmbeddingSet
        The vectors. With ``eval_data`` they are all training vectors; otherwise a seeded
        ``settings.holdout`` share is kept aside for evaluation.
    output_dir : path-like
        Gets ``results.csv``, ``results.json``, ``base_distribution.json``, ``study.json``
        and ``models/<method>-<dim>/``. It must be new or empty unless ``overwrite``.
    settings : StudySettings, optional
        What to vary and how to judge; or pass its fields as keywords (``methods=``,
        ``dims=``, ``k=``...).
    eval_data : EmbeddingSet, optional
        The user's own held-out vectors.
    pairs : PairVectors, optional
        Labelled pairs embedded with the same model: every candidate also gets
        ``pairs_spearman`` and ``pairs_retained``, and the recommendation ranks by them
        unless ``settings.rank_by`` says ``"cosine"``.
    sample_weight : array-like of shape (len(data),), optional
        A non-negative weight per row of ``data``; by default the weights that
        ``settings.weights`` names (see :func:`study_weights`). Reducers whose ``fit``
        takes ``sample_weight`` (the encoders) train on the training rows' weights; the
        others ignore them, and a note says which did what. The evaluation stays over all
        pairs, unweighted.
    record : dict, optional
        Extra facts recorded in ``study.json``'s settings (input path, model...).
    save_input : bool
        Also write ``data`` as ``vectors.parquet`` (for vectors embedded from texts).
    inputs : iterable of path-like
        The run's input files: the output folder may not be, hold or lie in one.
    overwrite : bool
        Write into an existing non-empty folder; only the files the study writes are
        replaced, others are kept.
    show_progress : bool
        Draw a progress bar over the grid.

    Returns
    -------
    StudyResult

    Raises
    ------
    ParameterError
        A bad setting, before any work.
    OutputError
        A bad output folder, before any work.
    InputError
        Bad vectors, too few rows for the split or ``k``, or no candidate measured.
    """
    if settings is None:
        settings = StudySettings(**params)
    elif params:
        settings = dataclasses.replace(settings, **params)
    output_dir = check_output_folder(output_dir, inputs=inputs, overwrite=overwrite)
    run = _prepare(data, eval_data, settings, sample_weight, output_dir)
    _check_pairs(run, pairs)
    output_dir.mkdir(parents=True, exist_ok=True)
    if save_input:
        save_vectors(output_dir / "vectors.parquet", data, overwrite=True)
    _start_record(run, data, eval_data, record)
    _run_cells(run, show_progress)
    _save_default_codec(run)
    if not any(r["method"] not in (LIMIT, ORIGINAL) for r in run.rows):
        raise InputError(
            f"no candidate could be measured ({'; '.join(run.notes) or 'see study.json'})"
        )
    return StudyResult(
        run.rows,
        run.record["recommendation"],
        run.notes,
        output_dir,
        settings,
        run.base,
        run.rank_by,
    )


def _prepare(
    data: EmbeddingSet,
    eval_data: EmbeddingSet | None,
    settings: StudySettings,
    sample_weight: ArrayLike | None,
    output_dir: Path,
) -> _Run:
    """Check the vectors, split them, and decide the dims and weights."""
    vectors = check_vectors(data.vectors, name="vectors", allow_zero=False, min_rows=2)
    if eval_data is not None:
        train = vectors
        evaluation = check_vectors(eval_data.vectors, name="eval vectors", allow_zero=False)
        if evaluation.shape[1] != train.shape[1]:
            raise InputError(
                f"eval vectors have {evaluation.shape[1]} dims, training vectors {train.shape[1]}"
            )
        train_idx = np.arange(len(vectors))
    else:
        train_idx, eval_idx = split_holdout(len(vectors), settings.holdout, settings.seed)
        train, evaluation = vectors[train_idx], vectors[eval_idx]
    splits = {"train": train, "eval": evaluation}
    for split, X in splits.items():
        settings.check_rows(split, len(X))
    input_dim, n_train = train.shape[1], len(train)
    notes = [
        f"dim {d} skipped: above the input dimension {input_dim}"
        if d > input_dim
        else f"dim {d} skipped: not fewer than the {n_train} training vectors"
        for d in settings.dims
        if d > input_dim or d >= n_train
    ]
    dims = [d for d in settings.dims if d <= input_dim and d < n_train]
    if not dims:
        raise InputError(
            f"every dimension asked for is above the input dimension {input_dim} or not "
            f"fewer than the {n_train} training vectors"
        )
    weights = _training_weights(data, settings, sample_weight)
    info = {k: data.info.get(k) for k in ("model", "source")}
    info["normalized"] = bool(data.info.get("normalized", False))
    return _Run(
        settings,
        output_dir,
        splits,
        dims,
        info,
        None if weights is None else weights[train_idx],
        notes,
    )


def _training_weights(
    data: EmbeddingSet, settings: StudySettings, sample_weight: ArrayLike | None
) -> np.ndarray | None:
    if sample_weight is None and settings.weights is None:
        return None
    if sample_weight is None:
        sample_weight = study_weights(data, settings.weights)
    weights = np.asarray(sample_weight, dtype=np.float64)
    if weights.shape != (len(data),):
        raise InputError(
            f"sample_weight has shape {weights.shape}; expected one weight per vector "
            f"({len(data)},)"
        )
    if not np.isfinite(weights).all() or (weights < 0).any():
        raise InputError("sample_weight must be finite and non-negative")
    return weights


def _start_record(
    run: _Run,
    data: EmbeddingSet,
    eval_data: EmbeddingSet | None,
    extra: dict[str, Any] | None,
) -> None:
    """Write ``base_distribution.json`` and a first ``study.json`` (``complete: false``)."""
    from embreduce.metrics import COS_EDGES, DIFF_EDGES, base_distribution

    s = run.settings
    base: dict[str, Any] = {"cos_edges": COS_EDGES, "diff_edges": DIFF_EDGES}
    for split, X in run.splits.items():
        base[split] = base_distribution(X, max_pairs=s.max_pairs, seed=s.seed)
    write_json(run.output_dir / "base_distribution.json", base)
    train, evaluation = run.splits["train"], run.splits["eval"]
    record = {**(extra or {}), **s.record(), "dims": run.dims}
    record["holdout"] = None if eval_data is not None else s.holdout
    record["sample_weight"] = run.weights is not None
    record["rank_by"] = run.rank_by
    record["pairs"] = None if run.pairs is None else len(run.pairs.scores)
    record["pairs_spearman_original"] = run.pairs_reference
    run.record = {
        "settings": record,
        "data": {
            "n": len(train) + (len(evaluation) if eval_data is None else 0),
            "dim": train.shape[1],
            "n_train": len(train),
            "n_eval": len(evaluation),
            "n_pairs_train": base["train"]["n_pairs"],
            "n_pairs_eval": base["eval"]["n_pairs"],
            "model": data.info.get("model"),
        },
        "versions": _versions(),
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "recommendation": None,
        "notes": run.notes,
        "elapsed_seconds": 0.0,
        "complete": False,
    }
    run.base = base
    run.save()


def _check_pairs(run: _Run, pairs: PairVectors | None) -> None:
    """Check the labelled pairs against the vectors; decide what the study ranks by."""
    s = run.settings
    if pairs is None:
        if s.rank_by == "pairs":
            raise ParameterError("rank_by='pairs' needs labelled pairs (pairs=, --pairs FILE)")
        return
    dim = run.splits["train"].shape[1]
    first = check_vectors(pairs.first, name="pair vectors", allow_zero=False)
    second = check_vectors(pairs.second, name="pair vectors", allow_zero=False)
    scores = np.asarray(pairs.scores, dtype=np.float64)
    if first.shape != second.shape or first.shape[1] != dim or scores.shape != (len(first),):
        raise InputError(
            f"pairs: {first.shape} and {second.shape} vectors with {scores.shape} scores do not "
            f"match the study's {dim}-d vectors"
        )
    if len(scores) < 3 or not np.isfinite(scores).all() or np.ptp(scores) == 0:
        raise InputError("pairs: need at least 3 pairs with finite scores that are not all equal")
    from embreduce.metrics.pairs import pair_cosines

    # equal texts give cosines 1 +- float noise, whose ranks are noise: no rank at all
    flat = np.ptp(pair_cosines(first, second)) < 1e-6
    reference = math.nan if flat else _pairs_spearman(first, second, scores)
    check_pairs_reference(reference, len(scores))
    run.pairs = PairVectors(first, second, scores)
    run.rank_by = s.rank_by or "pairs"
    run.pairs_reference = reference


PAIRS_MIN_Z = 1.645
"""How clearly positive the original vectors' pairs Spearman must be: ``r * sqrt(n - 1)``
(its z-score when there is no relation) at least this, a one-sided 5 % level."""


def check_pairs_reference(spearman: float, n_pairs: int) -> None:
    """Refuse labelled pairs on which the original vectors do not clearly score positive.

    Every candidate is judged by the share of this Spearman it keeps. When it is not
    clearly positive, the scores run backwards (a distance, where higher means less
    similar) or do not measure similarity, and ranking by it would pick the candidate that
    loses most; so the study stops, before any fitting, and says what to check.

    Parameters
    ----------
    spearman : float
        The float32 input vectors' Spearman x100 on the pairs (NaN when every pair has the
        same cosine, e.g. two equal texts in each).
    n_pairs : int

    Raises
    ------
    InputError
        ``spearman * sqrt(n_pairs - 1) / 100 < PAIRS_MIN_Z``, or NaN.

    Examples
    --------
    >>> check_pairs_reference(82.0, 1500)
    >>> check_pairs_reference(-93.6, 1500)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    embreduce.exceptions.InputError: pairs: the original vectors' Spearman on your pairs is -93.6...
    """
    if math.isnan(spearman):
        raise InputError(
            "pairs: the original vectors give every pair the same cosine (are the two texts "
            "of each pair the same?), so no candidate can be judged on them; check "
            "--pair-columns"
        )
    if spearman / 100 * math.sqrt(max(n_pairs - 1, 1)) < PAIRS_MIN_Z:
        backwards = " (higher seems to mean less similar: a distance?)" if spearman < 0 else ""
        raise InputError(
            f"pairs: the original vectors' Spearman on your pairs is {spearman:.1f}, not "
            f"clearly positive over {n_pairs:,} pairs{backwards}; the candidates cannot be "
            "ranked by it. Check --pair-columns, and that a higher score means more similar "
            "(negate a distance)"
        )


def _save_default_codec(run: _Run) -> None:
    """Give the recommended model its recommended precision (what compress uses by default)."""
    from embreduce.codec_store import load_model_codec, save_model_codec

    rec = run.record.get("recommendation")
    if not rec or rec.get("model") is None or rec["bits"] == 32:
        return
    model = run.output_dir / rec["model"]
    codec = load_model_codec(model, rec["bits"], split_candidate(rec["method"])[1])
    if codec is not None:
        save_model_codec(model, codec, default=True)


def _pairs_spearman(
    first: np.ndarray, second: np.ndarray, scores: np.ndarray, *, grid: int | None = None
) -> float:
    from embreduce.metrics.pairs import pairs_spearman

    return pairs_spearman(first, second, scores, grid=grid)


def _run_cells(run: _Run, show_progress: bool) -> None:
    """The original vectors at each precision, every method x dim x bits, the limit rows.

    The files are rewritten after each cell.
    """
    s = run.settings
    cells = [(ORIGINAL, run.splits["train"].shape[1])]
    cells += [(m, d) for m in s.methods for d in run.dims]
    cells += [(LIMIT, d) for d in run.dims] if s.limit else []
    try:
        with progress_bar("Study", len(cells), enabled=show_progress) as bar:
            for method, dim in cells:
                if method == LIMIT:
                    cell = _limit_cell(run, dim)
                else:
                    cell = _study_cell(run, method, dim)
                run.rows.extend(cell)
                run.save()
                bar.advance(1)
        run.record["complete"] = True
    finally:
        run.save()


def _measure(
    run: _Run, original: np.ndarray, reduced: np.ndarray, *, grid: int | None = None
) -> dict[str, Any]:
    from embreduce.metrics import similarity_metrics

    s = run.settings
    return similarity_metrics(
        original, reduced, k=s.k, max_pairs=s.max_pairs, seed=s.seed, reduced_grid=grid
    )


def _limit_cell(run: _Run, dim: int) -> list[dict[str, Any]]:
    """The ``limit`` row: free unit vectors optimised to keep the eval set's cosines.

    Above a few thousand rows the limit is optimised on a seeded sample of the eval set,
    and measured on that sample.
    """
    from embreduce.metrics import similarity_limit

    evaluation = run.splits["eval"]
    vectors, rows_used = similarity_limit(evaluation, dim, seed=run.settings.seed, return_rows=True)
    metrics = _measure(run, evaluation[rows_used], vectors)
    extra = {"bits": 32, "bytes": 4 * dim, "fit_seconds": 0.0, "transform_seconds": 0.0}
    return [_row(LIMIT, dim, "eval", metrics, **extra)]


def _study_cell(run: _Run, method: str, dim: int) -> list[dict[str, Any]]:
    """Fit one reducer, then judge it at every precision on both splits.

    An expected failure (a method that cannot run on this data) becomes a note.
    """
    train = run.splits["train"]
    try:
        if method == ORIGINAL:  # the identity: a truncation to every dimension
            reducer, fit_seconds = _identity(train), 0.0
            reduced_train = train
        else:
            reducer, fit_seconds, reduced_train = _fit_reducer(run, method, dim)
        start = time.perf_counter()
        reduced = {"train": reduced_train, "eval": reducer.transform(run.splits["eval"])}
        transform_seconds = time.perf_counter() - start
        reduced_pairs = None
        if run.pairs is not None:
            reduced_pairs = (
                reducer.transform(run.pairs.first),
                reducer.transform(run.pairs.second),
            )
    except EmbreduceError as exc:
        run.notes.append(f"{method}-{dim} skipped: {exc}")
        return []
    model = _save_model(run, reducer, method, dim) if run.settings.save_models else None
    seconds = {
        "fit_seconds": round(fit_seconds, 4),
        "transform_seconds": round(transform_seconds, 4),
    }
    rows = []
    cell = _Cell(method, dim, reduced, reduced_pairs, seconds, model)
    for bits in run.settings.bits:
        rows += _precision_rows(run, cell, bits)
        if method == ORIGINAL or bits > ROTATED_MAX_BITS:
            continue
        for rotation in run.settings.rotations:
            rows += _precision_rows(run, cell, bits, rotation=rotation)
    return rows


def _identity(train: np.ndarray) -> Any:
    from embreduce.reducers import make_reducer

    return make_reducer("truncate", train.shape[1]).fit(train)


@dataclass(frozen=True)
class _Cell:
    """One fitted reducer of a study: what each of its precisions is judged on."""

    method: str
    dim: int
    reduced: dict[str, np.ndarray]
    reduced_pairs: tuple[np.ndarray, np.ndarray] | None
    seconds: dict[str, float]
    model: Path | None  # its saved folder, None when not saved


def _fit_reducer(run: _Run, method: str, dim: int) -> tuple[Any, float, np.ndarray]:
    """Fit ``method`` at ``dim`` on the training split (weighted where it can be)."""
    from embreduce.reducers import make_reducer

    train = run.splits["train"]
    reducer = make_reducer(method, dim, random_state=run.settings.seed)
    start = time.perf_counter()
    weighted = run.weights is not None and _takes_sample_weight(reducer)
    if weighted:
        reducer.fit(train, sample_weight=run.weights)
        fit_seconds = time.perf_counter() - start
        reduced_train = reducer.transform(train)
    else:
        reduced_train = reducer.fit_transform(train)
        fit_seconds = time.perf_counter() - start
    if run.weights is not None:
        _note_weights(run.notes, method, weighted)
    return reducer, fit_seconds, np.asarray(reduced_train)


def _save_model(run: _Run, reducer: Any, method: str, dim: int) -> Path | None:
    """Save a fitted reducer under ``models/<method>-<dim>/``; drop the codecs of any fit
    saved there before (they were calibrated on another model's output)."""
    from embreduce.codec_store import remove_model_codecs
    from embreduce.reducers import save_reducer

    folder = run.output_dir / model_folder(method, dim)
    try:
        save_reducer(
            reducer,
            folder,
            overwrite=True,  # the study's own folder, checked before the run
            extra={**run.info, "candidate": method},
        )
    except EmbreduceError as exc:
        run.notes.append(f"{method}-{dim} not saved: {exc}")
        return None
    remove_model_codecs(folder)
    return folder


def _precision_rows(
    run: _Run, cell: _Cell, bits: int, *, rotation: str | None = None
) -> list[dict[str, Any]]:
    """Both splits' rows of one candidate at ``bits``, judged on the decoded vectors.

    The codec is calibrated on the training split's reduced vectors, as compress will
    use it, and saved beside the reducer as ``codec-<bits>bit/`` (``-<rotation>`` added
    for a rotated codec, whose rows are named ``<method>+<rotation>``). Codes whose
    cosines are exact multiples of ``1 / k`` (1 bit: ``1 - 2 * hamming / k``) are ranked
    on that grid, as a Hamming distance ranks them.
    """
    from embreduce.codec_store import save_model_codec
    from embreduce.codecs import QuantizationCodec, bytes_per_vector

    codec = QuantizationCodec(bits=bits, rotation=rotation, random_state=run.settings.seed)
    codec.fit(cell.reduced["train"])
    if cell.model is not None and bits < 32:
        save_model_codec(cell.model, codec)
    method, dim, grid = candidate_name(cell.method, rotation), cell.dim, codec.cosine_grid
    extra: dict[str, Any] = {"bits": bits, "bytes": bytes_per_vector(dim, bits), **cell.seconds}
    if cell.reduced_pairs is not None:
        decoded_pairs = (codec.quantize(v) for v in cell.reduced_pairs)
        spearman = _pairs_spearman(*decoded_pairs, run.pairs.scores, grid=grid)
        extra["pairs_spearman"] = spearman
        extra["pairs_retained"] = spearman / run.pairs_reference
    rows = []
    for split in ("train", "eval"):
        try:
            decoded = codec.quantize(cell.reduced[split])
            metrics = _measure(run, run.splits[split], decoded, grid=grid)
        except InputError as exc:  # e.g. a reducer or a code that maps a row to zero
            run.notes.append(f"{method}-{dim} at {bits} bits ({split}) not measured: {exc}")
            continue
        _note_sampling(run.notes, split, metrics)
        rows.append(_row(method, dim, split, metrics, **extra))
    return rows


def _note_sampling(notes: list[str], split: str, metrics: dict[str, Any]) -> None:
    """Say once per split when the pair statistics or the neighbour metrics were sampled."""
    said = []
    if metrics.get("sampled"):
        said.append(f"pair statistics from {metrics['n_pairs']:,} seeded pairs")
    if metrics.get("knn_sampled"):
        said.append(
            f"recall@k and trustworthiness from {metrics['knn_queries']:,} seeded query rows"
        )
    note = f"{split} split: " + " and ".join(said) if said else ""
    if note and note not in notes:
        notes.append(note)


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
