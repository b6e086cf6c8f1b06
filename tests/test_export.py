"""Exported sentence-transformers folders give what ``embed`` then ``compress`` give."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from embreduce.cli import app
from embreduce.compress import Compressor
from embreduce.embedding import DEFAULT_MODEL, top_words
from embreduce.exceptions import InputError, ModelNotFoundError
from embreduce.export import export_model, reducer_modules
from embreduce.reducers import make_reducer, save_reducer

TEXTS = [
    "That is a happy person",
    "Today is a sunny day",
    "def add(a, b): return a + b",
    "import numpy as np",
    "the quick brown fox jumps over the lazy dog",
]
K = 8


@pytest.fixture(scope="module")
def train_vectors(minilm) -> np.ndarray:
    return minilm.encode(top_words(96))


@pytest.fixture(scope="module")
def text_vectors(minilm) -> np.ndarray:
    return minilm.encode(TEXTS)


def _saved(method: str, vectors: np.ndarray, folder, **params) -> object:
    if method.startswith("encoder"):
        params = {"max_epochs": 3, "batch_size": 32, "device": "cpu", **params}
    reducer = make_reducer(method, K, random_state=0, **params).fit(vectors)
    return save_reducer(reducer, folder, method=method, extra={"model": DEFAULT_MODEL})


@pytest.fixture(scope="module")
def exported_pca(train_vectors, tmp_path_factory) -> tuple:
    root = tmp_path_factory.mktemp("export")
    folder = _saved("pca", train_vectors, root / "pca-8")
    return folder, export_model(folder, root / "exported", normalize=True)


def test_exported_pca_equals_embed_then_compress(exported_pca, text_vectors):
    from sentence_transformers import SentenceTransformer

    folder, out = exported_pca
    got = SentenceTransformer(str(out), device="cpu").encode(TEXTS)
    expected = Compressor.load(folder, normalize=True).transform(text_vectors)
    assert got.shape == (len(TEXTS), K)
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_exported_mlp_equals_embed_then_compress(tmp_path, train_vectors, text_vectors):
    from sentence_transformers import SentenceTransformer

    params = {"hidden_layers": (16,), "activation": "gelu"}
    folder = _saved("encoder-mlp", train_vectors, tmp_path / "mlp", **params)
    out = export_model(folder, tmp_path / "exported")
    modules = json.loads((out / "modules.json").read_text())
    assert [m["path"] for m in modules][3:] == ["3_Normalize", "4_Dense", "5_Dense"]
    got = SentenceTransformer(str(out), device="cpu").encode(TEXTS)
    np.testing.assert_allclose(got, Compressor.load(folder).transform(text_vectors), atol=1e-5)


def test_vectors_normalised_outside_the_model_get_a_normalize_first(tmp_path, train_vectors):
    from sentence_transformers import SentenceTransformer

    from embreduce.embedding.models import resolve_model

    full = SentenceTransformer(resolve_model(DEFAULT_MODEL)[0], device="cpu")
    bare = tmp_path / "minilm-no-normalize"  # Transformer + Pooling: vectors not unit length
    SentenceTransformer(modules=[full[0], full[1]], device="cpu").save(str(bare))
    raw = SentenceTransformer(str(bare), device="cpu").encode(TEXTS)
    assert not np.allclose(np.linalg.norm(raw, axis=1), 1.0, atol=1e-3)
    unit = raw / np.linalg.norm(raw, axis=1, keepdims=True)

    reducer = make_reducer("pca", K).fit(train_vectors)
    extra = {"model": str(bare), "normalized": True}
    folder = save_reducer(reducer, tmp_path / "pca-8", method="pca", extra=extra)
    out = export_model(folder, tmp_path / "exported")
    got = SentenceTransformer(str(out), device="cpu").encode(TEXTS)
    np.testing.assert_allclose(got, reducer.transform(unit), atol=1e-5)


def test_folder_layout_base_modules_then_dense(exported_pca):
    _, out = exported_pca
    modules = json.loads((out / "modules.json").read_text())
    assert [m["type"].rsplit(".", 1)[1] for m in modules] == [
        "Transformer",
        "Pooling",
        "Normalize",
        "Dense",
        "Normalize",
    ]
    dense = json.loads((out / "3_Dense" / "config.json").read_text())
    assert (dense["in_features"], dense["out_features"], dense["bias"]) == (384, K, True)
    assert dense["activation_function"] == "torch.nn.modules.linear.Identity"
    assert (out / "3_Dense" / "model.safetensors").is_file()
    assert "Dense 384->8, Normalize" in (out / "README.md").read_text()
    assert not list(out.parent.glob(".exported*"))  # no temporary folder left behind


def test_nonlinear_and_mismatched_reducers_are_refused(tmp_path, train_vectors):
    from sklearn.preprocessing import StandardScaler

    # umap cannot be saved at all; any fitted estimator without a linear map stands in
    with pytest.raises(InputError, match="cannot export the umap reducer"):
        reducer_modules(StandardScaler().fit(train_vectors), method="umap")
    small = make_reducer("svd", 4).fit(np.random.default_rng(0).normal(size=(30, 24)))
    folder = save_reducer(small, tmp_path / "svd", method="svd")
    with pytest.raises(InputError, match="gives 384-d vectors, but the reducer .* expects 24"):
        export_model(folder, tmp_path / "out")
    with pytest.raises(ModelNotFoundError, match="no such folder"):
        export_model(tmp_path / "missing", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cli_export_loads_without_embreduce(tmp_path, train_vectors, text_vectors):
    folder = _saved("svd", train_vectors, tmp_path / "svd-8")
    out = tmp_path / "my-minilm-8"
    result = CliRunner().invoke(app, ["export", str(folder), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "Wrote" in result.output
    code = (
        "import sys, numpy as np\n"
        "from sentence_transformers import SentenceTransformer\n"
        f"v = SentenceTransformer({str(out)!r}, device='cpu').encode({TEXTS!r})\n"
        "assert not any(m.startswith('embreduce') for m in sys.modules)\n"
        "np.save(sys.argv[1], v)\n"
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "v.npy")], check=True)
    expected = Compressor.load(folder).transform(text_vectors)
    np.testing.assert_allclose(np.load(tmp_path / "v.npy"), expected, atol=1e-5)
    result = CliRunner().invoke(app, ["export", str(tmp_path / "nope"), "-o", str(out)])
    assert result.exit_code == 1 and "no such folder" in result.output


@pytest.mark.parametrize("bits", [4, 1])
def test_export_carries_the_codec_and_gives_the_codes_compress_gives(
    tmp_path, train_vectors, text_vectors, bits
):
    from sentence_transformers import SentenceTransformer

    try:  # sentence-transformers 5.x's path; the old one warns
        from sentence_transformers.util.quantization import quantize_embeddings
    except ImportError:
        from sentence_transformers.quantization import quantize_embeddings

    from embreduce.codecs import QuantizationCodec, load_codec, save_model_codec

    folder = _saved("svd", train_vectors, tmp_path / "svd-8")
    reduced = Compressor.load(folder).transform(train_vectors)
    save_model_codec(folder, QuantizationCodec(bits=bits).fit(reduced))
    out = export_model(folder, tmp_path / "exported", bits=bits)
    codec = load_codec(out / "codec")
    got = codec.encode(SentenceTransformer(str(out), device="cpu").encode(TEXTS))
    expected = Compressor.load(folder, bits=bits).encode(text_vectors)
    np.testing.assert_array_equal(got, expected)
    readme = (out / "README.md").read_text()
    assert f"{bits} bits a dimension, {codec.bytes_per_vector()} bytes a vector" in readme
    if bits == 1:  # the plain library call the README names gives the same bits
        centred = Compressor.load(folder).transform(text_vectors) - codec.threshold_
        np.testing.assert_array_equal(quantize_embeddings(centred, precision="ubinary"), got)
    with pytest.raises(ModelNotFoundError, match="no 2-bit codec"):
        export_model(folder, tmp_path / "other", bits=2)


def test_the_readme_says_how_to_score_every_codec_similarity():
    from embreduce.codecs import SIMILARITIES, FaissCodec, QuantizationCodec
    from embreduce.export import SCORE_TEXT

    assert set(SCORE_TEXT) == set(SIMILARITIES)
    kinds = [QuantizationCodec(), FaissCodec("pq", 4), FaissCodec("rabitq", 4)]
    assert {codec.similarity for codec in kinds} == set(SIMILARITIES)
