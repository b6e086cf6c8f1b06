"""Running a study: every method x dim x codec, fitted on the training split, judged on both.

:func:`run_study` checks every setting and the output folder before any work, writes
``study.json`` (``complete: false``) before the first cell, runs the cells
(:mod:`~embreduce.study.cells`), side by side for a small study, and rewrites
``results.csv``, ``results.json`` and ``study.json`` at checkpoints and at the end, so an
interrupted run keeps what it finished (one killed outright, all but its last
:data:`CHECKPOINT_SECONDS`) and the report can show it.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from embreduce.exceptions import InputError, ParameterError
from embreduce.io import EmbeddingSet, save_vectors, write_json
from embreduce.outputs import check_output_folder
from embreduce.progress import progress_bar
from embreduce.study.candidates import LIMIT, ORIGINAL, model_folder
from embreduce.study.cells import _corpus, _limit_cell, _study_cell
from embreduce.study.models import _save_default_codec
from embreduce.study.pairs import PairVectors, _check_pairs
from embreduce.study.ranking import rank_rows, recommend
from embreduce.study.results import _versions, write_results
from embreduce.study.retrieval import QueryVectors, RetrievalTask
from embreduce.study.settings import StudySettings, split_holdout
from embreduce.study.threads import run_side_by_side, thread_limits
from embreduce.study.weights import _training_weights
from embreduce.validation import check_vectors


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
        What the recommendation ranked by: ``"pairs"``, ``"cosine"`` or ``"retrieval"``.
    retrieval : RetrievalTask or None
        The judged queries, their halves and float32 figures (a study given queries).
    """

    rows: list[dict[str, Any]]
    recommendation: dict[str, Any] | None
    notes: list[str] = field(default_factory=list)
    output_dir: Path | None = None
    settings: StudySettings = field(default_factory=StudySettings)
    base: dict[str, Any] = field(default_factory=dict)
    rank_by: str = "cosine"
    retrieval: RetrievalTask | None = None

    def ranked(self) -> list[dict[str, Any]]:
        """Held-out rows best first (see :func:`rank_rows`)."""
        return rank_rows(self.rows, self.rank_by)


CHECKPOINT_SECONDS = 30.0
"""How often a running study rewrites its results (and always at its end, or when it is
interrupted): a study killed outright loses at most this much of its work."""


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
    pair_halves: dict[str, np.ndarray] | None = None  # selection / confirmation pairs
    pair_half_reference: dict[str, float] = field(default_factory=dict)
    retrieval: RetrievalTask | None = None
    order: tuple[np.ndarray, np.ndarray] | None = None  # corpus rows of train, eval
    started: float = field(default_factory=time.perf_counter)
    saved_at: float = field(default_factory=time.perf_counter)

    def checkpoint(self) -> None:
        """:meth:`save` when :data:`CHECKPOINT_SECONDS` have passed since the last save."""
        if time.perf_counter() - self.saved_at >= CHECKPOINT_SECONDS:
            self.save()

    def save(self) -> None:
        """Rewrite the results and ``study.json`` with what is finished so far."""
        self.saved_at = time.perf_counter()
        s = self.settings
        extra = self.retrieval.columns() if self.retrieval is not None else ()
        write_results(self.output_dir, self.rows, s.k, extra_columns=extra)
        rec = recommend(
            self.rows,
            s.tolerance,
            s.k,
            rank_by=self.rank_by,
            budget=s.budget,
            input_dim=self.splits["train"].shape[1],
            oversample=s.oversample if self.retrieval is not None else (),
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
    queries: QueryVectors | None = None,
    sample_weight: ArrayLike | None = None,
    record: dict[str, Any] | None = None,
    save_input: bool = False,
    inputs: Iterable[str | Path | None] = (),
    overwrite: bool = False,
    show_progress: bool = True,
    threads: int | None = None,
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
    queries : QueryVectors, optional
        The user's queries (and qrels), embedded with the same model: every candidate is
        also judged by searching the whole corpus (``data``, with an id column for qrels)
        with them, and the recommendation ranks by that unless ``settings.rank_by`` says
        otherwise (see :mod:`embreduce.study.retrieval`).
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
    threads : int, optional
        Threads for BLAS, torch and FAISS; default every core. Up to :data:`SMALL_ROWS`
        training vectors, ``threads`` candidates (cells: one reducer at one dim with all its
        codecs) run at once, each with BLAS, torch and FAISS on one thread: for fits and
        similarity strips this small one thread is faster, and pools never fight each other
        for the cores (see BENCHMARKS.md). The results are the same for any ``threads``.

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
    _check_queries(run, data, queries)
    output_dir.mkdir(parents=True, exist_ok=True)
    if save_input:
        save_vectors(output_dir / "vectors.parquet", data, overwrite=True)
    _start_record(run, data, eval_data, record)
    if settings.quantizers:
        import faiss  # noqa: F401  (loaded now, so that its threads are set with the others)
    with thread_limits(len(run.splits["train"]), threads) as jobs:
        _run_cells(run, show_progress, jobs)
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
        run.retrieval,
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
        train_idx, eval_idx = np.arange(len(vectors)), None
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
    if settings.quantizers:
        from embreduce.codecs import faiss_grid

        widths = [*dims, input_dim]
        if not any(faiss_grid(d, settings.budgets, settings.quantizers) for d in widths):
            raise InputError(
                f"no FAISS codec of {', '.join(settings.quantizers)} fits the budgets "
                f"{', '.join(map(str, settings.budgets))} bytes at "
                f"{', '.join(map(str, widths))} dims (pq and opq need a budget that divides "
                "the dims; every codec needs one no larger than the dims)"
            )
    weights = _training_weights(data, settings, sample_weight)
    info = {k: data.info.get(k) for k in ("model", "source")}
    info["normalized"] = bool(data.info.get("normalized", False))
    run = _Run(
        settings,
        output_dir,
        splits,
        dims,
        info,
        None if weights is None else weights[train_idx],
        notes,
    )
    run.order = (train_idx, eval_idx)
    return run


def _check_queries(run: _Run, data: EmbeddingSet, queries: QueryVectors | None) -> None:
    """Build the retrieval task over the whole corpus; decide what the study ranks by."""
    from embreduce.io.retrieval import row_ids
    from embreduce.study.retrieval import retrieval_task

    s = run.settings
    if queries is None:
        if s.rank_by == "retrieval":
            raise ParameterError("rank_by='retrieval' needs queries (queries=, --queries FILE)")
        return
    ids = row_ids(data, "the corpus", required=queries.qrels is not None)
    run.retrieval = retrieval_task(
        _corpus(run, run.splits["train"], run.splits["eval"]),
        ids,
        queries,
        seed=s.seed,
        oversample=s.oversample,
        drop_self=s.drop_self,
    )
    run.rank_by = s.rank_by or "retrieval"


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
    if run.pair_halves is not None:
        record["pairs_halves"] = {
            half: {"pairs": len(rows), "spearman_original": run.pair_half_reference[half]}
            for half, rows in run.pair_halves.items()
        }
    record["retrieval"] = None if run.retrieval is None else run.retrieval.record()
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


def _run_cells(run: _Run, show_progress: bool, jobs: int = 1) -> None:
    """The original vectors at each precision, every method x dim x bits, the limit rows;
    ``jobs`` cells at once (:func:`run_side_by_side`).

    Each cell keeps its own notes; the rows and notes are kept in the cells' order, so a
    study's results do not depend on how many ran at once. The files are rewritten every
    :data:`CHECKPOINT_SECONDS` and at the end, also when the run is interrupted (Ctrl-C,
    SIGTERM, an error), with every cell finished by then.
    """
    s = run.settings
    cells = [(ORIGINAL, run.splits["train"].shape[1])]
    cells += [(m, d) for m in s.methods for d in run.dims]
    cells += [(LIMIT, d) for d in run.dims] if s.limit else []
    earlier_notes = list(run.notes)
    done: dict[int, tuple[list[dict[str, Any]], list[str]]] = {}

    def work(cell: tuple[str, int]) -> tuple[list[dict[str, Any]], list[str]]:
        method, dim = cell
        own = dataclasses.replace(run, notes=[])  # the same inputs; notes of its own
        rows = _limit_cell(own, dim) if method == LIMIT else _study_cell(own, method, dim)
        return rows, own.notes

    try:
        with progress_bar("Study", len(cells), enabled=show_progress) as bar:
            for index, result in run_side_by_side(work, cells, jobs):
                done[index] = result
                run.rows = [row for i in sorted(done) for row in done[i][0]]
                notes = earlier_notes + [n for i in sorted(done) for n in done[i][1]]
                run.notes = list(dict.fromkeys(notes))
                run.checkpoint()
                bar.advance(1)
        run.record["complete"] = True
    finally:
        run.save()
