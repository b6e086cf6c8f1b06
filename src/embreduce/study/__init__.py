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
(the grid: checks, the record, checkpoints), :mod:`~embreduce.study.cells` (one reducer at
one dim, judged with every codec), :mod:`~embreduce.study.threads` (threads, cells side by
side), :mod:`~embreduce.study.ranking` (one order, the recommendation),
:mod:`~embreduce.study.results` (files), :mod:`~embreduce.study.pairs`,
:mod:`~embreduce.study.weights` and :mod:`~embreduce.study.models` (saving).

The names below are imported on first use (PEP 562), so that importing one module of the
package (the report reads :mod:`~embreduce.study.ranking`) does not load the others.
"""

from __future__ import annotations

from embreduce.lazy import lazy_exports

_WHERE = {
    "DEFAULT_BITS": "embreduce.study.settings",
    "DEFAULT_DIMS": "embreduce.study.settings",
    "DEFAULT_METHODS": "embreduce.study.settings",
    "LIMIT": "embreduce.study.candidates",
    "MAX_SEED": "embreduce.study.settings",
    "ORIGINAL": "embreduce.study.candidates",
    "PAIRS_MIN_Z": "embreduce.study.pairs",
    "PairVectors": "embreduce.study.pairs",
    "RANK_BY": "embreduce.study.settings",
    "RESULT_COLUMNS": "embreduce.study.results",
    "ROTATED_MAX_BITS": "embreduce.study.settings",
    "StudyResult": "embreduce.study.run",
    "StudySettings": "embreduce.study.settings",
    "candidate_name": "embreduce.study.candidates",
    "check_pairs_reference": "embreduce.study.pairs",
    "check_weights_spec": "embreduce.study.weights",
    "embed_pairs": "embreduce.study.pairs",
    "holdout_rows": "embreduce.study.settings",
    "is_candidate": "embreduce.study.candidates",
    "load_study": "embreduce.study.results",
    "model_folder": "embreduce.study.candidates",
    "rank_rows": "embreduce.study.ranking",
    "recall_column": "embreduce.study.candidates",
    "recommend": "embreduce.study.ranking",
    "result_columns": "embreduce.study.results",
    "row_bits": "embreduce.study.candidates",
    "row_bytes": "embreduce.study.candidates",
    "run_study": "embreduce.study.run",
    "split_candidate": "embreduce.study.candidates",
    "split_holdout": "embreduce.study.settings",
    "study_weights": "embreduce.study.weights",
    "write_results": "embreduce.study.results",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _WHERE)
