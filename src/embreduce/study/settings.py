"""What a study varies and how it judges (:class:`StudySettings`), and its seeded split."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from embreduce.choices import (
    DEFAULT_BITS,
    DEFAULT_BUDGETS,
    DEFAULT_DIMS,
    DEFAULT_HOLDOUT,
    DEFAULT_K,
    DEFAULT_METHODS,
    DEFAULT_OVERSAMPLE,
    DEFAULT_SEED,
    DEFAULT_TOLERANCE,
    FAISS_QUANTIZERS,
    RANK_BY,
    ROTATED_MAX_BITS,
)
from embreduce.exceptions import InputError, ParameterError
from embreduce.study.weights import check_weights_spec
from embreduce.validation import check_float, check_int

MAX_SEED = 2**32 - 1
"""The largest seed: scikit-learn and numpy's legacy generators take 32-bit seeds."""


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
    rank_by : {"pairs", "cosine", "retrieval"}, optional
        What the recommendation ranks by: the labelled pairs' Spearman (the default when
        pairs are given), the rank agreement of the pair cosines with the originals, or
        the search of the user's queries (the default when queries are given).
    quantizers : sequence of str
        FAISS quantizers (``pq``, ``opq``, ``rq``, ``lsq``, ``sq8``, ``sq4``, ``rabitq``) to
        try after every method x dim, sized by ``budgets``; default none.
    budgets : sequence of int
        Bytes a vector the sized FAISS quantizers are built for (each where it fits the dim).
    oversample : sequence of int
        Re-scoring factors of a retrieval study: the first pass keeps ``c x oversample``
        hits, re-scored with the float32 vectors; 1 (always in) is the first pass alone.
    drop_self : bool
        In a retrieval study, a document whose id is the query's own is never a hit
        (BEIR's and MTEB's rule).

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
    holdout: float = DEFAULT_HOLDOUT
    seed: int = DEFAULT_SEED
    max_pairs: int | None = None
    k: int = DEFAULT_K
    limit: bool = True
    tolerance: float = DEFAULT_TOLERANCE
    save_models: bool = True
    weights: str | None = None
    bits: Sequence[int] = DEFAULT_BITS
    rotations: Sequence[str] = ()
    budget: int | None = None
    rank_by: str | None = None
    quantizers: Sequence[str] = ()
    budgets: Sequence[int] = DEFAULT_BUDGETS
    oversample: Sequence[int] = DEFAULT_OVERSAMPLE
    drop_self: bool = True

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
        set_(self, "quantizers", _check_quantizers(self.quantizers))
        budgets = [check_int(b, "budgets", low=1) for b in _as_list(self.budgets, "budgets")]
        set_(self, "budgets", tuple(sorted(set(budgets))))
        from embreduce.study.retrieval import check_oversample

        set_(self, "oversample", check_oversample(_as_list(self.oversample, "oversample")))
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
        what = f"{min(self.dims)} dims at {min(self.bits)} bits"
        if self.quantizers and min(self.budgets) < smallest:
            smallest, what = min(self.budgets), "the smallest FAISS budget"
        if self.budget < smallest:
            raise ParameterError(
                f"budget={self.budget} bytes is smaller than every candidate (the smallest is "
                f"{smallest} bytes: {what})"
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
        for name in ("bits", "rotations", "quantizers", "budgets", "oversample"):
            out[name] = list(out[name])
        return out


def _as_list(values: Any, name: str) -> list[Any]:
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise ParameterError(f"{name} must be a list, got {values!r}")
    out = list(values)
    if not out:
        raise ParameterError(f"{name} is empty: give at least one")
    return out


def _check_rotations(rotations: Sequence[str]) -> tuple[str, ...]:
    from embreduce.codecs import ROTATIONS

    return _check_names(rotations, "rotations", ROTATIONS)


def _check_quantizers(quantizers: Sequence[str]) -> tuple[str, ...]:
    return _check_names(quantizers, "quantizers", FAISS_QUANTIZERS)


def _check_names(values: Sequence[str], name: str, allowed: Sequence[str]) -> tuple[str, ...]:
    """Distinct names, each one of ``allowed`` (an empty list is fine), or one line."""
    if isinstance(values, str):
        raise ParameterError(f"{name} must be a list, got {values!r}")
    names = tuple(dict.fromkeys(str(v) for v in values))
    unknown = [v for v in names if v not in allowed]
    if unknown:
        raise ParameterError(
            f"{name}: unknown {', '.join(unknown)}; choose from {', '.join(allowed)}"
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
