"""Embedding texts: the packaged sentence model and the hidden states of a causal LM."""

from __future__ import annotations

import numpy as np
import pytest

import embreduce
from embreduce.embedding import Embedder, embed_items, top_words
from embreduce.embedding.models import packaged_model_path, resolve_model
from embreduce.exceptions import InputError, ModelNotFoundError
from embreduce.io import TextItems

SENTENCES = [
    "That is a happy person",
    "That is a happy dog",
    "That is a very happy person",
    "Today is a sunny day",
]


def _row_cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def test_default_model_is_the_packaged_minilm():
    target, name = resolve_model(None)
    assert target == str(packaged_model_path("all-MiniLM-L6-v2"))
    assert name == "sentence-transformers/all-MiniLM-L6-v2"


def test_packaged_model_matches_plain_sentence_transformers(minilm):
    from sentence_transformers import SentenceTransformer

    texts = SENTENCES + top_words(60)
    plain = SentenceTransformer(str(packaged_model_path("all-MiniLM-L6-v2")), device="cpu")
    expected = plain.encode(texts, batch_size=16)
    ours = minilm.encode(texts, batch_size=16)
    assert ours.shape == (len(texts), 384)
    assert ours.dtype == np.float32
    assert _row_cosines(ours, expected).min() >= 0.9999


def test_vectors_do_not_depend_on_batch_size(minilm):
    texts = top_words(50)
    a = minilm.encode(texts, batch_size=4)
    b = minilm.encode(texts, batch_size=50)
    assert _row_cosines(a, b).min() >= 0.9999


def test_embed_function_is_the_library_entry(minilm):
    vectors = embreduce.embed(SENTENCES[:2], device="cpu")
    assert vectors.shape == (2, 384)
    assert np.allclose(vectors, minilm.encode(SENTENCES[:2]), atol=1e-5)


def test_normalize_gives_unit_vectors(tiny_llama):
    embedder = Embedder(tiny_llama, backend="hf", device="cpu")  # a Path is a local folder
    vectors = embedder.encode(SENTENCES, normalize=True)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("pooling", ["mean", "last"])
def test_hf_pooling_ignores_padding(tiny_llama, pooling):
    embedder = Embedder(str(tiny_llama), backend="hf", device="cpu", pooling=pooling)
    texts = ["def f(x): return x", "a", "the quick brown fox jumps over the lazy dog again"]
    batched = embedder.encode(texts, batch_size=3)
    for i, text in enumerate(texts):
        alone = embedder.encode([text], batch_size=1)[0]
        np.testing.assert_allclose(batched[i], alone, rtol=1e-4, atol=1e-5)


def test_hf_mean_and_last_pooling_differ(tiny_llama):
    mean = Embedder(str(tiny_llama), backend="hf", device="cpu").encode(SENTENCES)
    last = Embedder(str(tiny_llama), backend="hf", device="cpu", pooling="last").encode(SENTENCES)
    assert mean.shape == last.shape == (4, 32)
    assert not np.allclose(mean, last)


def test_hf_layer_option_picks_a_hidden_state(tiny_llama):
    first = Embedder(str(tiny_llama), backend="hf", device="cpu", layer=1).encode(SENTENCES)
    final = Embedder(str(tiny_llama), backend="hf", device="cpu", layer=-1).encode(SENTENCES)
    assert not np.allclose(first, final)
    with pytest.raises(InputError, match="out of range"):
        Embedder(str(tiny_llama), backend="hf", device="cpu", layer=7).encode(SENTENCES)


def test_embed_items_keeps_texts_and_metadata(minilm):
    import pandas as pd

    items = TextItems(SENTENCES, pd.DataFrame({"group": ["p", "d", "p", "w"]}))
    data = embed_items(items, minilm)
    assert data.texts == SENTENCES
    assert list(data.metadata["group"]) == ["p", "d", "p", "w"]
    assert data.info["model"] == "sentence-transformers/all-MiniLM-L6-v2"


def test_unknown_model_error_is_one_line():
    with pytest.raises(ModelNotFoundError) as err:
        Embedder("no-such-org/no-such-model", device="cpu")
    message = str(err.value)
    assert "no-such-org/no-such-model" in message
    assert "\n" not in message


def test_missing_local_folder_is_reported():
    with pytest.raises(ModelNotFoundError, match="no such folder"):
        Embedder("./not/a/folder", device="cpu")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"backend": "onnx"}, "unknown backend"),
        ({"dtype": "int8"}, "unknown dtype"),
        ({"device": "tpu"}, "unknown device"),
    ],
)
def test_bad_options_are_named(kwargs, message):
    with pytest.raises(InputError, match=message):
        Embedder(**kwargs)


def test_bad_texts_are_rejected(minilm):
    with pytest.raises(InputError, match="no texts"):
        minilm.encode([])
    with pytest.raises(InputError, match="single string"):
        minilm.encode("hello")
    with pytest.raises(InputError, match="not a string"):
        minilm.encode(["ok", 3])


def test_top_words_are_the_reference_workload():
    words = top_words(512)
    assert len(words) == len(set(words)) == 512
    assert words[:3] == ["the", "to", "and"]


def test_text_items_from_words_or_a_file(tmp_path):
    from embreduce.embedding import text_items

    words = text_items(words=3)
    assert words.texts == ["the", "to", "and"]
    assert words.source == "wordfreq:en:top-3"
    (tmp_path / "t.txt").write_text("a\n\nb\n")
    assert text_items(tmp_path / "t.txt").texts == ["a", "b"]
    with pytest.raises(InputError, match="not both"):
        text_items(tmp_path / "t.txt", words=3)
    with pytest.raises(InputError, match="no input: give an input file"):
        text_items()


def test_embed_items_records_the_source(minilm):
    data = embed_items(TextItems(SENTENCES[:2], source="s.txt"), minilm)
    assert data.info["source"] == "s.txt"
