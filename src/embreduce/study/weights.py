"""Training weights: one per vector, from word frequencies or a metadata column."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from embreduce.exceptions import InputError
from embreduce.io import EmbeddingSet

if TYPE_CHECKING:
    from embreduce.study.settings import StudySettings


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
