"""scikit-learn's own estimator checks, run on our reducers."""

from __future__ import annotations

from sklearn.utils.estimator_checks import parametrize_with_checks

from embreduce.reducers import (
    CosineSimilarityEncoder,
    PCAReducer,
    RandomProjection,
    TruncateReducer,
    UncentredSVD,
)

ESTIMATORS = [
    CosineSimilarityEncoder(n_components=2, max_epochs=3, batch_size=32, random_state=0),
    CosineSimilarityEncoder(
        n_components=2, hidden_layers=(8,), max_epochs=3, batch_size=32, random_state=0
    ),
    TruncateReducer(n_components=2),
    PCAReducer(n_components=2),
    UncentredSVD(n_components=2, random_state=0),
    RandomProjection(n_components=2, random_state=0),
]


def expected_failures(estimator) -> dict[str, str]:
    """Checks that cannot apply, and why."""
    if isinstance(estimator, CosineSimilarityEncoder):
        return {
            "check_estimators_dtypes": (
                "its integer data (3 * uniform, cast to int) holds an all-zero row; a zero "
                "vector has no cosine similarity, so the encoder refuses it with InputError"
            ),
            "check_sample_weight_equivalence_on_dense_data": (
                "weights are compared with repeated rows; for a mini-batch learner repeating "
                "rows changes the number of batches, the shuffled batch order and the "
                "validation split, so the two fits see different batches (test_encoder.py "
                "checks what weights do)"
            ),
        }
    return {}


# scikit-learn's array-API checks skip themselves (they need SCIPY_ARRAY_API and optional
# libraries such as array_api_strict or cupy): those skips are the suite's, not a feature of
# ours left untested. Our reducers take numpy input.
@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failures)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
