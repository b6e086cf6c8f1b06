"""Vectors from the hidden states of Hugging Face transformer LMs (e.g. causal code LMs)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from embreduce.embedding.models import (
    load_failure_message,
    quiet_transformers,
    resolve_model,
)
from embreduce.exceptions import InputError, ModelNotFoundError
from embreduce.progress import progress_bar

POOLINGS = ("mean", "last")


def load_hf_model(name: str | None, *, device: str, dtype: Any = None) -> tuple[Any, Any]:
    """Load a tokenizer and a base model (no LM head) from a folder or the hub."""
    from transformers import AutoModel, AutoTokenizer

    target, display = resolve_model(name)
    quiet_transformers()
    try:
        tokenizer = AutoTokenizer.from_pretrained(target)
        kwargs = {"dtype": dtype} if dtype is not None else {}
        model = AutoModel.from_pretrained(target, **kwargs)
    except Exception as exc:  # hub, cache and config errors come in many types
        raise ModelNotFoundError(load_failure_message(target, display, exc)) from None
    if tokenizer.pad_token_id is None:
        # Pads are masked out and sit after the text, so any known id will do.
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token_id = 0
    # Right padding keeps every real token at the position it has when the text is
    # alone, so a text's vector does not depend on its batch (causal attention never
    # looks ahead at the pads).
    tokenizer.padding_side = "right"
    model.eval().to(device)
    return tokenizer, model


def encode_hidden_states(
    tokenizer: Any,
    model: Any,
    texts: list[str],
    *,
    batch_size: int,
    pooling: str = "mean",
    layer: int = -1,
    max_length: int | None = 512,
    normalize: bool = False,
    show_progress: bool = False,
) -> NDArray[np.float32]:
    """Pool one hidden-state layer over each text's tokens.

    Parameters
    ----------
    tokenizer, model
        As returned by :func:`load_hf_model`.
    texts : list of str
        The texts; they are batched by token length.
    batch_size : int
        Texts per forward pass.
    pooling : {"mean", "last"}
        Mean over the attention mask, or the last real token.
    layer : int
        Which hidden state: ``-1`` is the last layer, ``0`` the input embeddings.
    max_length : int or None
        Longer texts are truncated.
    normalize : bool
        Scale each vector to unit length.
    show_progress : bool
        Draw a progress bar.
    """
    import torch

    if pooling not in POOLINGS:
        raise InputError(f"unknown pooling '{pooling}': use one of {', '.join(POOLINGS)}")
    n_layers = getattr(model.config, "num_hidden_layers", None)
    if n_layers is not None and not -(n_layers + 1) <= layer <= n_layers:
        raise InputError(
            f"layer={layer} is out of range: the model has hidden states 0..{n_layers} "
            f"(or -1..-{n_layers + 1} from the end)"
        )
    lengths = [
        len(ids) for ids in tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]
    ]
    order = np.argsort([-n for n in lengths], kind="stable")
    device = next(model.parameters()).device
    out: NDArray[np.float32] | None = None
    with progress_bar("Embedding", len(texts), enabled=show_progress) as bar:
        for start in range(0, len(texts), batch_size):
            idx = order[start : start + batch_size]
            enc = tokenizer(
                [texts[i] for i in idx],
                padding=True,
                truncation=True,
                max_length=max_length,
                return_tensors="pt",
            ).to(device)
            with torch.inference_mode():
                hidden = model(**enc, output_hidden_states=True).hidden_states[layer]
            pooled = pool(hidden.float(), enc["attention_mask"], pooling)
            if normalize:
                pooled = torch.nn.functional.normalize(pooled, dim=1)
            if out is None:
                out = np.empty((len(texts), pooled.shape[1]), dtype=np.float32)
            out[idx] = pooled.cpu().numpy()
            bar.advance(len(idx))
    assert out is not None
    return out


def pool(hidden: Any, mask: Any, pooling: str) -> Any:
    """Mean over the masked tokens, or the last unmasked token, of ``hidden`` (b, t, d)."""
    import torch

    if pooling == "mean":
        m = mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * m).sum(dim=1) / m.sum(dim=1).clamp(min=1)
    last = mask.sum(dim=1) - 1
    return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]
