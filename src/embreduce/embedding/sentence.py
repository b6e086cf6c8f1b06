"""The sentence-transformers backend."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from embreduce.embedding.models import (
    load_failure_message,
    quiet_transformers,
    resolve_model,
)
from embreduce.exceptions import ModelNotFoundError
from embreduce.progress import progress_bar


def load_sentence_model(name: str | None, *, device: str, dtype: Any = None) -> Any:
    """Load a SentenceTransformer from the packaged default, a folder or the hub."""
    from sentence_transformers import SentenceTransformer

    target, display = resolve_model(name)
    quiet_transformers()
    kwargs: dict[str, Any] = {"device": device}
    if dtype is not None:
        kwargs["model_kwargs"] = {"torch_dtype": dtype}
    try:
        return SentenceTransformer(target, **kwargs)
    except Exception as exc:  # hub, cache and config errors come in many types
        raise ModelNotFoundError(load_failure_message(target, display, exc)) from None


def encode_sentences(
    model: Any,
    texts: list[str],
    *,
    batch_size: int,
    normalize: bool,
    show_progress: bool,
) -> NDArray[np.float32]:
    """Encode with ``model.encode`` in length-sorted chunks, so a progress bar can run.

    sentence-transformers sorts each call's texts by length; sorting the whole input once
    and cutting it into chunks of whole batches gives the same batches, so the speed and
    the vectors are those of one big ``encode`` call.
    """
    order = np.argsort([-len(t) for t in texts], kind="stable")
    chunk = batch_size * 16
    out: NDArray[np.float32] | None = None
    with progress_bar("Embedding", len(texts), enabled=show_progress) as bar:
        for start in range(0, len(texts), chunk):
            idx = order[start : start + chunk]
            vecs = model.encode(
                [texts[i] for i in idx],
                batch_size=batch_size,
                show_progress_bar=False,
                convert_to_numpy=True,
                normalize_embeddings=normalize,
            )
            if out is None:
                out = np.empty((len(texts), vecs.shape[1]), dtype=np.float32)
            out[idx] = vecs
            bar.advance(len(idx))
    assert out is not None
    return out
