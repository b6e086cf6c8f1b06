"""Small models built offline, for tests and for checks on other machines.

Nothing here downloads anything: the tokenizer is trained on a few lines of text and the
model's weights are random. The result loads like any Hugging Face model folder, so the
real loading code (``Embedder(folder, backend="hf")``) runs on it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

CORPUS = (
    "def add(a, b): return a + b",
    "the quick brown fox jumps over the lazy dog",
    "import numpy as np",
    "for i in range(10): print(i)",
    "a happy person on a sunny day",
    "class Vector: pass",
)
"""The lines the tiny tokenizer is trained on."""


def build_tiny_llama(
    folder: str | os.PathLike[str],
    *,
    hidden_size: int = 32,
    vocab_size: int = 300,
    corpus: Sequence[str] = CORPUS,
    seed: int = 0,
) -> Path:
    """Save a 2-layer random ``LlamaForCausalLM`` with a byte-level BPE tokenizer.

    Parameters
    ----------
    folder : path-like
        Where to save the model and the tokenizer (created if missing).
    hidden_size : int
        Width of the model; the MLP is twice as wide, with 4 attention heads.
    vocab_size : int
        Largest vocabulary the tokenizer may learn from ``corpus``.
    corpus : sequence of str
        Lines to train the tokenizer on.
    seed : int
        Seed of the random weights.

    Returns
    -------
    Path
        ``folder``, ready for ``Embedder(folder, backend="hf")``.

    Examples
    --------
    >>> import tempfile
    >>> from embreduce.embedding import Embedder
    >>> folder = build_tiny_llama(tempfile.mkdtemp())
    >>> Embedder(folder, backend="hf", device="cpu").encode(["def f(): pass"]).shape
    (1, 32)
    """
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<unk>", "<s>", "</s>"])
    tok.train_from_iterator(list(corpus) * 20, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="<unk>", bos_token="<s>", eos_token="</s>"
    )
    fast.save_pretrained(folder)
    config = LlamaConfig(
        vocab_size=fast.vocab_size,
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
    )
    with torch.random.fork_rng(devices=[]):  # seeded weights; the caller's torch RNG untouched
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    model.save_pretrained(folder)
    return folder
