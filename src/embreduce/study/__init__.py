"""The decision procedure: every method at every dimension and codec, judged on cosines.

The seed study's manual steps, as one function (:func:`run_study`):

1. compute all pairwise similarities;
2. reduce with each method at each dimension, and encode with each codec;
3. compute the similarities again, of the decoded vectors;
4. take the differences;
5. keep their distributions (for the report's histograms);
6. recommend the fewest bytes a vector that keeps nearly all of the best candidate's
   quality (:func:`recommend`), a candidate ``compress`` and ``export`` can apply: its model
   folder is named in the recommendation.

One module a job: :mod:`~embreduce.study.settings` (what to vary, the split),
:mod:`~embreduce.study.candidates` (names, sizes, folders), :mod:`~embreduce.study.run`
(the grid and its measures), :mod:`~embreduce.study.ranking` (one order, the
recommendation), :mod:`~embreduce.study.results` (files), :mod:`~embreduce.study.pairs`,
:mod:`~embreduce.study.weights` and :mod:`~embreduce.study.models` (saving).
"""

from embreduce.study.candidates import (
    LIMIT,
    ORIGINAL,
    candidate_name,
    is_candidate,
    model_folder,
    row_bits,
    row_bytes,
    split_candidate,
)
from embreduce.study.pairs import (
    PAIRS_MIN_Z,
    PairVectors,
    check_pairs_reference,
    embed_pairs,
)
from embreduce.study.ranking import rank_rows, recommend
from embreduce.study.results import (
    RESULT_COLUMNS,
    load_study,
    recall_column,
    result_columns,
    write_results,
)
from embreduce.study.run import StudyResult, run_study
from embreduce.study.settings import (
    DEFAULT_BITS,
    DEFAULT_DIMS,
    DEFAULT_METHODS,
    MAX_SEED,
    RANK_BY,
    ROTATED_MAX_BITS,
    StudySettings,
    holdout_rows,
    split_holdout,
)
from embreduce.study.weights import check_weights_spec, study_weights

__all__ = [
    "DEFAULT_BITS",
    "DEFAULT_DIMS",
    "DEFAULT_METHODS",
    "LIMIT",
    "MAX_SEED",
    "ORIGINAL",
    "PAIRS_MIN_Z",
    "RANK_BY",
    "RESULT_COLUMNS",
    "ROTATED_MAX_BITS",
    "PairVectors",
    "StudyResult",
    "StudySettings",
    "candidate_name",
    "check_pairs_reference",
    "check_weights_spec",
    "embed_pairs",
    "holdout_rows",
    "is_candidate",
    "load_study",
    "model_folder",
    "rank_rows",
    "recall_column",
    "recommend",
    "result_columns",
    "row_bits",
    "row_bytes",
    "run_study",
    "split_candidate",
    "split_holdout",
    "study_weights",
    "write_results",
]
