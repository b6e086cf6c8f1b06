"""Labelled pairs: embedding them like the study's vectors, and checking they can rank."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from embreduce.exceptions import InputError, ParameterError
from embreduce.io import LabelledPairs
from embreduce.validation import check_vectors

if TYPE_CHECKING:
    from embreduce.embedding.options import EmbeddingOptions
    from embreduce.io import EmbeddingSet
    from embreduce.study.run import _Run


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
    from embreduce.metrics.pairs import row_cosines

    # equal texts give cosines 1 +- float noise, whose ranks are noise: no rank at all
    flat = np.ptp(row_cosines(first, second)) < 1e-6
    reference = math.nan if flat else _pairs_spearman(first, second, scores)
    check_pairs_reference(reference, len(scores))
    run.pairs = PairVectors(first, second, scores)
    run.rank_by = s.rank_by or "pairs"
    run.pairs_reference = reference
    if len(scores) < MIN_SPLIT_PAIRS:
        run.notes.append(
            f"{len(scores)} labelled pairs are too few to hold half of them out: the "
            f"recommendation is chosen and reported on the same pairs (give at least "
            f"{MIN_SPLIT_PAIRS} for a confirmation half)"
        )
        return
    from embreduce.study.retrieval import split_halves

    run.pair_halves = split_halves(len(scores), s.seed)
    run.pair_half_reference = {
        half: _pairs_spearman(first[rows], second[rows], scores[rows])
        for half, rows in run.pair_halves.items()
    }


MIN_SPLIT_PAIRS = 20
"""Labelled pairs needed to choose on one half and report on the other (10 a half)."""


def pair_columns(
    run: _Run, first: np.ndarray, second: np.ndarray, grid: int | None = None
) -> dict[str, float]:
    """A candidate's pair columns: ``pairs_spearman`` and ``pairs_retained`` on the
    confirmation half of the pairs (which the choice never sees), ``select_pairs_retained``
    on the selection half (what the recommendation ranks by). Too few pairs to split: all
    pairs for both."""
    scores = run.pairs.scores
    if run.pair_halves is None:
        spearman = _pairs_spearman(first, second, scores, grid=grid)
        retained = spearman / run.pairs_reference
        return {"pairs_spearman": spearman, "pairs_retained": retained,
                "select_pairs_retained": retained}  # fmt: skip
    out = {}
    for half, rows in run.pair_halves.items():
        spearman = _pairs_spearman(first[rows], second[rows], scores[rows], grid=grid)
        reference = run.pair_half_reference[half]
        retained = spearman / reference if reference > 0 else math.nan
        if half == "confirm":
            out["pairs_spearman"], out["pairs_retained"] = spearman, retained
        else:
            out["select_pairs_retained"] = retained
    return out


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


def _pairs_spearman(
    first: np.ndarray, second: np.ndarray, scores: np.ndarray, *, grid: int | None = None
) -> float:
    from embreduce.metrics.pairs import pairs_spearman

    return pairs_spearman(first, second, scores, grid=grid)


def embed_study_pairs(
    pairs: LabelledPairs,
    data: EmbeddingSet,
    options: EmbeddingOptions | None = None,
    *,
    show_progress: bool = False,
) -> tuple[PairVectors, str, list[str]]:
    """Embed labelled pairs like the study's vectors: their model, their normalisation.

    Parameters
    ----------
    pairs : LabelledPairs
        From :func:`embreduce.io.read_pairs`.
    data : EmbeddingSet
        The study's vectors; the model and normalisation they record are used unless
        ``options`` names a model or asks to normalise.
    options : EmbeddingOptions, optional
        How to embed (the CLI's embedding options).
    show_progress : bool

    Returns
    -------
    (PairVectors, str, list of str)
        The embedded pairs, the model used, and notes (vectors that record no model are
        paired with the default model, and the note says so).
    """
    from embreduce.embedding.options import EmbeddingOptions

    options = (options or EmbeddingOptions()).like(data)
    notes = []
    if options.model is None:  # vectors made elsewhere (.npy, say) record no model
        notes.append(
            f"the study's vectors do not record their model; the pairs are embedded with the "
            f"default {options.model_name}. If the vectors came from another model, pass it "
            "with --model (model= in Python)."
        )
    vectors = embed_pairs(
        pairs,
        options.embedder(),
        batch_size=options.batch_size,
        normalize=options.normalize,
        show_progress=show_progress,
    )
    return vectors, options.model_name, notes
