"""One cell of a study: a reducer fitted at one dim, then judged with every codec.

:func:`_study_cell` fits (or, for the ``original`` candidates, takes) the reducer, reduces
both splits (and the pairs and queries a study was given), saves the model, then calls
:func:`_codec_rows` for each codec of the registry's grid: calibrate on the training split,
decode, measure on both splits. :func:`_limit_cell` is the ``limit`` row. A cell reads the
study's inputs and writes only its model folder and its own notes, so cells can run side by
side (:func:`embreduce.study.threads.run_side_by_side`).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from embreduce.codecs import Codec, codec_id, study_grid
from embreduce.exceptions import EmbreduceError, InputError
from embreduce.study.candidates import LIMIT, ORIGINAL
from embreduce.study.models import _identity, _save_model
from embreduce.study.pairs import pair_columns
from embreduce.study.results import _row
from embreduce.study.retrieval import measure_retrieval
from embreduce.study.weights import _note_weights, _takes_sample_weight

if TYPE_CHECKING:
    from embreduce.study.run import _Run


def _corpus(run: _Run, train: np.ndarray, evaluation: np.ndarray) -> np.ndarray:
    """The corpus rows in their order from the splits' rows (the training vectors alone
    when the evaluation vectors were given apart)."""
    train_idx, eval_idx = run.order
    if eval_idx is None:
        return train
    out = np.empty((len(train) + len(evaluation), train.shape[1]), dtype=train.dtype)
    out[train_idx], out[eval_idx] = train, evaluation
    return out


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


_ONE_AT_A_TIME = threading.Lock()
"""Held by a cell of a reducer that is not thread-safe (:attr:`ReducerSpec.thread_safe`)."""


def _study_cell(run: _Run, method: str, dim: int) -> list[dict[str, Any]]:
    """Fit one reducer, then judge it at every precision on both splits; a reducer that is
    not thread-safe holds :data:`_ONE_AT_A_TIME` for the whole cell.

    An expected failure (a method that cannot run on this data) becomes a note.
    """
    from embreduce.reducers import get_spec

    if method != ORIGINAL and not get_spec(method).thread_safe:
        with _ONE_AT_A_TIME:
            return _judged_cell(run, method, dim)
    return _judged_cell(run, method, dim)


def _judged_cell(run: _Run, method: str, dim: int) -> list[dict[str, Any]]:
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
        reduced_queries = None
        if run.retrieval is not None:
            reduced_queries = reducer.transform(run.retrieval.queries)
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
    cell = _Cell(method, dim, reduced, reduced_pairs, seconds, model, reduced_queries)
    s = run.settings
    rotations = () if method == ORIGINAL else s.rotations
    # every registered codec family
    for codec in study_grid(s.bits, rotations, dim=dim, budgets=s.budgets, quantizers=s.quantizers):
        rows += _codec_rows(run, cell, codec)
    return rows


@dataclass(frozen=True)
class _Cell:
    """One fitted reducer of a study: what each of its precisions is judged on."""

    method: str
    dim: int
    reduced: dict[str, np.ndarray]
    reduced_pairs: tuple[np.ndarray, np.ndarray] | None
    seconds: dict[str, float]
    model: Path | None  # its saved folder, None when not saved
    reduced_queries: np.ndarray | None = None  # the judged queries, reduced


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


def _codec_rows(run: _Run, cell: _Cell, codec: Codec) -> list[dict[str, Any]]:
    """Both splits' rows of one candidate with ``codec``, judged on the decoded vectors.

    The codec is calibrated on the training split's reduced vectors, as compress will
    use it, and saved beside the reducer as ``codec-<folder_id>/`` (a lossless one, plain
    float32, is not saved). Its rows are named ``<method><candidate_suffix>`` (``pca+itq``
    for a rotated codec) and record ``codec_id`` in the ``codec`` column, from which the
    codec can be rebuilt. Codes whose cosines are exact multiples of ``1 / k`` (1 bit:
    ``1 - 2 * hamming / k``) are ranked on that grid, as a Hamming distance ranks them.
    """
    from embreduce.codecs import save_model_codec

    if "random_state" in codec.get_params():
        codec.set_params(random_state=run.settings.seed)
    codec.fit(cell.reduced["train"])
    if cell.model is not None and not getattr(codec, "lossless", False):
        save_model_codec(cell.model, codec)
    method, dim, grid = cell.method + codec.candidate_suffix, cell.dim, codec.cosine_grid
    size = codec.bytes_per_vector()
    bits = int(codec.bits) if hasattr(codec, "bits") else round(8 * size / dim, 4)
    extra: dict[str, Any] = {"bits": bits, "bytes": size, **cell.seconds}
    extra["codec"] = codec_id(codec)
    if cell.reduced_pairs is not None:
        decoded_pairs = [codec.quantize(v) for v in cell.reduced_pairs]
        extra.update(pair_columns(run, *decoded_pairs, grid=grid))
    rows, decoded = [], {}
    for split in ("train", "eval"):
        try:
            decoded[split] = codec.quantize(cell.reduced[split])
            metrics = _measure(run, run.splits[split], decoded[split], grid=grid)
        except InputError as exc:  # e.g. a reducer or a code that maps a row to zero
            run.notes.append(f"{method}-{dim} at {bits} bits ({split}) not measured: {exc}")
            continue
        _note_sampling(run.notes, split, metrics)
        rows.append(_row(method, dim, split, metrics, **extra))
    if run.retrieval is not None and len(decoded) == 2 and rows[-1]["split"] == "eval":
        rows[-1].update(
            measure_retrieval(
                run.retrieval,
                cell.reduced_queries,
                _corpus(run, decoded["train"], decoded["eval"]),
                codec.quantize(cell.reduced_queries),
                codec.compare,
                similarity=codec.similarity,
            )
        )
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
