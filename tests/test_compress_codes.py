"""compress --bits: packed codes from the codec saved beside a reducer."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from embreduce.cli import app
from embreduce.codecs import QuantizationCodec, save_model_codec
from embreduce.compress import Compressor, compress
from embreduce.exceptions import ModelNotFoundError, ParameterError
from embreduce.io import ROW_GROUP_ROWS, EmbeddingSet, save_vectors
from embreduce.reducers import make_reducer, save_reducer


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """An svd-6 reducer of 16-d vectors with 4-bit and 1-bit codecs fitted on its output."""
    folder = tmp_path_factory.mktemp("models") / "svd-6"
    X = np.random.default_rng(0).normal(size=(300, 16)).astype(np.float32)
    reducer = make_reducer("svd", 6).fit(X)
    save_reducer(reducer, folder, method="svd")
    for bits in (4, 1):
        codec = QuantizationCodec(bits=bits).fit(reducer.transform(X))
        save_model_codec(folder, codec)  # codec-<bits>bit/, recording the model's digest
    return folder


@pytest.fixture
def vectors(tmp_path):
    X = np.random.default_rng(1).normal(size=(257, 16)).astype(np.float32)
    texts = [f"text {i}" for i in range(len(X))]
    return X, texts


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.mark.parametrize("bits", [4, 1])
@pytest.mark.parametrize("suffix", [".npy", ".npz", ".parquet"])
def test_compress_writes_the_codes_encode_gives(tmp_path, model, vectors, bits, suffix):
    X, texts = vectors
    source = tmp_path / f"in{suffix}"
    save_vectors(source, EmbeddingSet(X, texts=texts if suffix != ".npy" else None))
    out = tmp_path / f"codes{suffix}"
    result = run("compress", source, "-m", model, "-o", out, "--bits", bits, "-q")
    assert result.exit_code == 0, result.output
    assert f"{bits}-bit codes" in result.output
    expected = Compressor.load(model, bits=bits).encode(X)
    assert expected.shape == (len(X), -(-6 * bits // 8)) and expected.dtype == np.uint8
    if suffix == ".npy":
        codes = np.load(out)
    elif suffix == ".npz":
        with np.load(out) as npz:
            codes = npz["codes"]
            assert list(npz["texts"]) == texts
    else:
        table = pq.read_table(out)
        column = table.column("codes")
        assert str(column.type) == f"fixed_size_binary[{expected.shape[1]}]"
        codes = np.frombuffer(b"".join(column.to_pylist()), np.uint8).reshape(expected.shape)
        assert table.column("text").to_pylist() == texts
    assert codes.dtype == np.uint8
    np.testing.assert_array_equal(codes, expected)


def test_codes_decode_to_the_quantized_reduced_vectors(model, vectors):
    X, _ = vectors
    comp = Compressor.load(model, bits=4)
    decoded = comp.decode(comp.encode(X))
    reduced = Compressor.load(model).transform(X)
    assert decoded.shape == reduced.shape
    step = comp.codec.step_
    inside = (reduced >= comp.codec.low_) & (reduced <= comp.codec.low_ + 15 * step)
    assert np.all(
        np.abs(decoded - reduced)[inside] <= (step / 2 + 1e-6)[None, :].repeat(len(X), 0)[inside]
    )


def test_the_models_saved_precision_is_the_default(tmp_path, model, vectors):
    X, _ = vectors
    plain = tmp_path / "plain"
    save_reducer(make_reducer("svd", 6).fit(X), plain, method="svd")
    assert Compressor.load(plain).codec is None  # no codec saved: float32
    with_default = tmp_path / "with-default"
    save_reducer(make_reducer("svd", 6).fit(X), with_default, method="svd")
    save_model_codec(
        with_default,
        QuantizationCodec(bits=8).fit(np.ones((3, 6), np.float32) * [[0], [1], [2]]),
        default=True,
    )
    assert Compressor.load(with_default).codec.bits == 8
    assert Compressor.load(with_default, bits=32).codec is None
    assert Compressor.load(model, bits=16).encode(X).shape == (len(X), 12)


def test_missing_or_bad_bits_are_one_line_and_write_nothing(tmp_path, model, vectors):
    X, _ = vectors
    save_vectors(tmp_path / "in.npy", X)
    out = tmp_path / "codes.npy"
    for args, code, message in (
        (("--bits", "8"), 1, "no 8-bit codec was saved with this model (saved: 1, 4)"),
        (("--bits", "3"), 2, "bits=3 is not allowed"),
        (("--bits", "4", "--normalize"), 2, "codes are calibrated on the reducer's float32"),
    ):
        result = run("compress", tmp_path / "in.npy", "-m", model, "-o", out, *args)
        assert result.exit_code == code, result.output
        assert message in result.output and len(result.output.strip().splitlines()) == 1
        assert not out.exists()
    with pytest.raises(ModelNotFoundError):
        Compressor.load(model, bits=2)
    with pytest.raises(ParameterError, match="has no codec"):
        Compressor.load(model).encode(X)


def test_parquet_output_has_full_row_groups(tmp_path, model):
    n = ROW_GROUP_ROWS + 4_464
    X = np.random.default_rng(2).normal(size=(n, 16)).astype(np.float32)
    save_vectors(tmp_path / "in.npy", X)
    for bits in (None, 4):
        out = tmp_path / f"out-{bits}.parquet"
        compress(tmp_path / "in.npy", model, out, bits=bits, chunk_rows=5_000)
        meta = pq.ParquetFile(out).metadata
        sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
        assert sizes == [ROW_GROUP_ROWS, 4_464]


def test_compress_writes_a_rotated_codec_the_study_saved(tmp_path):
    from typer.testing import CliRunner

    from embreduce.cli import app
    from embreduce.codecs import load_codec
    from embreduce.reducers import load_reducer
    from embreduce.study import run_study

    rng = np.random.default_rng(5)
    X = (rng.normal(size=(300, 16)) * np.geomspace(8, 0.05, 16)).astype(np.float32)
    run_study(EmbeddingSet(X), tmp_path / "s", methods=["pca"], dims=[8], bits=[32, 1],
              rotations=["itq"], limit=False, show_progress=False)  # fmt: skip
    model = tmp_path / "s" / "models" / "pca-8"
    np.save(tmp_path / "in.npy", X)
    out = tmp_path / "codes.npy"
    args = ["compress", str(tmp_path / "in.npy"), "--model", str(model), "-o", str(out)]
    result = CliRunner().invoke(app, [*args, "--bits", "1", "--rotation", "itq", "-q"])
    assert result.exit_code == 0, result.output
    codec = load_codec(model / "codec-1bit-itq")
    assert codec.rotation == "itq"
    expected = codec.encode(load_reducer(model).transform(X))
    np.testing.assert_array_equal(np.load(out), expected)
    plain = load_codec(model / "codec-1bit").encode(load_reducer(model).transform(X))
    assert not np.array_equal(expected, plain)  # the rotation changes the codes
    result = CliRunner().invoke(app, [*args[:-1], str(tmp_path / "x.npy"), "--bits", "1",
                                      "--rotation", "random"])  # fmt: skip
    assert result.exit_code == 1
    assert "no 1-bit random codec was saved with this model (saved: 1, 1-itq)" in (result.output)
    assert not (tmp_path / "x.npy").exists()
