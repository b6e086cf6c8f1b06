"""FAISS's quantizers as codecs: codes saved and read back, sizes, FAISS's own scores."""

import json

import faiss
import numpy as np
import pytest
from typer.testing import CliRunner

from embreduce.cli import app
from embreduce.codecs import (
    FaissCodec,
    codec_from_id,
    codec_id,
    faiss_grid,
    load_codec,
    load_model_codec,
    save_codec,
    save_model_codec,
)
from embreduce.compress import Compressor
from embreduce.exceptions import InputError, ParameterError
from embreduce.reducers import load_reducer, make_reducer, save_reducer

QUANTIZERS = [("pq", 4), ("opq", 4), ("rq", 2), ("lsq", 2), ("sq8", None), ("sq4", None),
              ("rabitq", None)]  # fmt: skip


def vectors(n=300, d=16, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, 6)) @ rng.normal(size=(6, d))).astype(np.float32)


def unit(X):
    return X / np.linalg.norm(X, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def fitted():
    X = vectors()
    return X, {q: FaissCodec(q, m, train_rows=300).fit(X) for q, m in QUANTIZERS}


@pytest.mark.parametrize("quantizer", [q for q, _ in QUANTIZERS])
def test_a_faiss_codec_reads_back_the_codes_it_wrote(tmp_path, fitted, quantizer):
    X, codecs = fitted
    codec = codecs[quantizer]
    codes = codec.encode(X)
    assert codes.dtype == np.uint8 and codes.shape == (len(X), codec.bytes_per_vector())
    save_codec(tmp_path / "c", codec)
    config = json.loads((tmp_path / "c" / "codec.json").read_text())
    assert config["codec"] == "faiss" and config["bytes_per_vector"] == codes.shape[1]
    loaded = load_codec(tmp_path / "c")
    np.testing.assert_array_equal(loaded.encode(X), codes)
    np.testing.assert_array_equal(loaded.decode(codes), codec.decode(codes))
    assert codec_from_id(codec_id(codec)).get_params() == codec.get_params()


def test_bytes_a_vector_are_faiss_code_sizes(fitted):
    X, codecs = fitted
    sizes = {q: c.bytes_per_vector() for q, c in codecs.items()}
    assert sizes == {"pq": 4, "opq": 4, "rq": 2, "lsq": 2, "sq8": 16, "sq4": 8, "rabitq": 10}


@pytest.mark.parametrize("quantizer", ["pq", "opq", "rq", "lsq", "sq8", "sq4"])
def test_a_float_query_against_decoded_codes_scores_what_faiss_search_does(fitted, quantizer):
    X, codecs = fitted
    codec = codecs[quantizer]
    assert codec.similarity == "l2"
    queries = unit(vectors(20, seed=1))
    decoded = codec.decode(codec.encode(X))
    ours = 1 - ((queries[:, None] - decoded[None]) ** 2).sum(-1) / 2  # asymmetric: float query
    index = faiss.deserialize_index(codec.index_)
    index.add(unit(X))
    distances, labels = index.search(queries, 10)  # squared L2: the code's norm counts
    np.testing.assert_allclose(np.take_along_axis(ours, labels, 1), 1 - distances / 2, atol=1e-4)
    np.testing.assert_allclose(-np.sort(-ours, axis=1)[:, :10], 1 - distances / 2, atol=1e-4)


def test_a_codec_fitted_for_the_inner_product_is_refused(tmp_path, fitted):
    """An earlier embreduce fitted FAISS codecs for the inner product: searched by L2 now,
    such a folder would be judged one way and searched another, so it is refused."""
    X, codecs = fitted
    save_codec(tmp_path / "c", codecs["rq"])
    old = faiss.index_factory(16, "RQ2x8", faiss.METRIC_INNER_PRODUCT)
    faiss.downcast_index(old).rq.cp.min_points_per_centroid = 1
    old.train(unit(X))
    from safetensors.numpy import save_file

    index_ = np.frombuffer(faiss.serialize_index(old), dtype=np.uint8)
    save_file({"index_": index_}, str(tmp_path / "c" / "codec.safetensors"))
    with pytest.raises(InputError, match="another similarity"):
        load_codec(tmp_path / "c")


def test_codes_keep_the_cosines_of_unit_vectors(fitted):
    X, codecs = fitted
    decoded = codecs["sq8"].decode(codecs["sq8"].encode(X))
    error = np.abs((unit(X) * decoded).sum(1) - 1)
    assert np.median(error) < 0.005  # a few rows beyond the quantile ranges are clipped


def test_tampered_or_foreign_faiss_folders_are_refused(tmp_path, fitted):
    X, codecs = fitted
    save_codec(tmp_path / "c", codecs["pq"])
    weights = tmp_path / "c" / "codec.safetensors"
    from safetensors.numpy import load_file, save_file

    arrays = load_file(str(weights))
    save_file({"index_": arrays["index_"][:40]}, str(weights), metadata={"format": "x"})
    with pytest.raises(InputError, match="index_ is not a FAISS index"):
        load_codec(tmp_path / "c")
    other = FaissCodec("sq8").fit(vectors(d=8))  # another width under this config
    save_file({"index_": other.index_}, str(weights), metadata={"format": "x"})
    with pytest.raises(InputError, match="8-d index, not the trained 16-d one"):
        load_codec(tmp_path / "c")
    save_file({"index_": codecs["rq"].index_}, str(weights), metadata={"format": "x"})
    with pytest.raises(InputError, match="is not a PQ4x8 index"):
        load_codec(tmp_path / "c")
    save_file({"index_": arrays["index_"].astype(np.float32)}, str(weights))
    with pytest.raises(InputError, match="must be uint8 bytes"):
        load_codec(tmp_path / "c")


def test_bad_faiss_settings_are_one_line():
    with pytest.raises(ParameterError, match="not a multiple of 5"):
        FaissCodec("pq", 5).fit(vectors())
    with pytest.raises(ParameterError, match="needs its size in bytes"):
        FaissCodec("rq").fit(vectors())
    with pytest.raises(ParameterError, match="takes its size from the dims"):
        FaissCodec("sq8", 4).fit(vectors())
    with pytest.raises(ParameterError, match="not a FAISS codec"):
        FaissCodec("hnsw", 4).fit(vectors())
    with pytest.raises(InputError, match="too few"):
        FaissCodec("pq", 4).fit(vectors(n=100))
    codec = FaissCodec("sq8").fit(vectors())
    with pytest.raises(InputError, match="fitted for 16"):
        codec.encode(vectors(d=8))
    with pytest.raises(InputError, match="uint8 rows of 16 bytes"):
        codec.decode(np.zeros((2, 4), np.uint8))


def test_the_grid_takes_the_budgets_each_quantizer_fits():
    names = [c.folder_id for c in faiss_grid(48, [8, 16, 32, 64], ["pq", "rq", "sq8", "rabitq"])]
    assert names == ["faiss-pq8", "faiss-pq16", "faiss-rq8", "faiss-rq16", "faiss-rq32",
                     "faiss-sq8", "faiss-rabitq"]  # fmt: skip


def test_compress_writes_a_faiss_codec_saved_with_a_model(tmp_path):
    X = vectors(400)
    reducer = make_reducer("pca", 8, random_state=0).fit(X)
    model = tmp_path / "pca-8"
    save_reducer(reducer, model)
    codec = FaissCodec("pq", 4, train_rows=400).fit(reducer.transform(X))
    save_model_codec(model, codec)
    assert load_model_codec(model, codec="faiss-pq4").get_params() == codec.get_params()
    np.save(tmp_path / "x.npy", X)
    out = tmp_path / "codes.npy"
    result = CliRunner().invoke(
        app, ["compress", str(tmp_path / "x.npy"), "-m", str(model), "--codec", "faiss-pq4",
              "-o", str(out), "-q"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    compressor = Compressor.load(model, codec="faiss-pq4")  # what compress runs, from Python
    np.testing.assert_array_equal(np.load(out), compressor.encode(X))
    floats = Compressor.load(model, bits=32).transform(X)  # the float transform
    np.testing.assert_array_equal(compressor.encode(X), codec.encode(floats))
    decoded = compressor.decode(np.load(out))
    assert decoded.shape == (400, 8)
    near = unit(load_reducer(model).transform(X))  # the reducer's own output, up to rounding
    assert (near * decoded).sum(1).mean() > 0.9
