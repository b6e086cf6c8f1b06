"""Streaming compression with saved reducers: formats, pass-through columns, bad inputs, CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from typer.testing import CliRunner

from embreduce.cli import app
from embreduce.compress import Compressor, compress
from embreduce.exceptions import InputError, ModelNotFoundError, OutputError, ParameterError
from embreduce.io import load_vectors, save_vectors
from embreduce.reducers import make_reducer, save_reducer

N, D, K = 150, 24, 6
LINEAR = ["pca", "svd", "random", "truncate", "encoder"]
FAST_ENCODER = {"max_epochs": 3, "batch_size": 64}


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    X = np.random.default_rng(0).normal(size=(N, D)).astype(np.float32)
    return X / np.linalg.norm(X, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def reducers(vectors, tmp_path_factory) -> dict:
    """Every method that can compress new vectors, fitted on ``vectors`` and saved."""
    root = tmp_path_factory.mktemp("models")
    saved = {}
    for method in [*LINEAR, "encoder-mlp"]:
        params = {}
        if method.startswith("encoder"):
            params = dict(FAST_ENCODER, device="cpu")
        if method == "encoder-mlp":
            params["hidden_layers"] = (16,)
        reducer = make_reducer(method, K, random_state=0, **params).fit(vectors)
        folder = save_reducer(reducer, root / f"{method}-{K}", method=method)
        saved[method] = (reducer, folder)
    return saved


@pytest.fixture
def labelled(vectors) -> dict:
    return dict(
        texts=[f"text {i}" for i in range(N)],
        metadata=pd.DataFrame({"id": np.arange(N) * 10, "group": ["a", "b", "c"] * (N // 3)}),
        info={"model": "sentence-transformers/all-MiniLM-L6-v2"},
    )


@pytest.mark.parametrize("method", [*LINEAR, "encoder-mlp"])
def test_compress_matches_the_reducers_transform(tmp_path, vectors, reducers, method):
    reducer, folder = reducers[method]
    np.save(tmp_path / "in.npy", vectors)
    result = compress(tmp_path / "in.npy", folder, tmp_path / "out.npy", chunk_rows=40)
    assert (result.n_rows, result.n_features_in, result.n_components) == (N, D, K)
    got = np.load(tmp_path / "out.npy")
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, reducer.transform(vectors), atol=1e-5)


@pytest.mark.parametrize("source", ["in.parquet", "in.npz", "in.npy"])
@pytest.mark.parametrize("target", ["out.parquet", "out.npz", "out.npy"])
def test_every_format_pair_streams_to_the_same_vectors(
    tmp_path, vectors, reducers, labelled, source, target
):
    save_vectors(tmp_path / source, vectors, **(labelled if source != "in.npy" else {}))
    model = Compressor.load(reducers["pca"][1])
    compress(tmp_path / source, model, tmp_path / target, chunk_rows=32)
    back = load_vectors(tmp_path / target)
    np.testing.assert_array_equal(back.vectors, model.transform(vectors))
    if source != "in.npy" and target != "out.npy":
        assert back.texts == labelled["texts"]
        pd.testing.assert_frame_equal(back.metadata, labelled["metadata"], check_dtype=False)
        assert back.info["model"] == labelled["info"]["model"]
        assert back.info["reducer"]["method"] == "pca"


def test_parquet_keeps_columns_in_place_and_writes_a_fixed_size_list(tmp_path, reducers):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(70, D)).astype(np.float32)
    table = pa.table(
        {
            "id": pa.array(np.arange(70)),
            "vec": pa.array(X.tolist(), type=pa.list_(pa.float32())),  # variable-length lists
            "note": pa.array([f"n{i}" for i in range(70)]),
        }
    )
    pq.write_table(table, tmp_path / "in.parquet", row_group_size=25)
    compress(tmp_path / "in.parquet", reducers["svd"][1], tmp_path / "out.parquet", chunk_rows=16)
    out = pq.read_table(tmp_path / "out.parquet")
    assert out.column_names == ["id", "vec", "note"]
    assert out.schema.field("vec").type == pa.list_(pa.field("item", pa.float32(), False), K)
    assert not out.schema.field("vec").nullable
    assert out.column("id").to_pylist() == list(range(70))
    assert out.column("note").to_pylist() == [f"n{i}" for i in range(70)]
    expected = reducers["svd"][0].transform(X)
    np.testing.assert_allclose(load_vectors(tmp_path / "out.parquet").vectors, expected, atol=1e-5)


@pytest.mark.parametrize("target", ["out.parquet", "out.npy"])
def test_float16_and_normalize(tmp_path, vectors, reducers, target):
    save_vectors(tmp_path / "in.parquet", vectors)
    np.save(tmp_path / "in.npy", vectors)
    source = "in.npy" if target == "out.npy" else "in.parquet"  # .npy: written in place
    compress(
        tmp_path / source,
        reducers["random"][1],
        tmp_path / target,
        dtype="float16",
        normalize=True,
        chunk_rows=16,
        n_jobs=2,
    )
    if target == "out.parquet":
        column = pq.read_table(tmp_path / target).column("embedding")
        assert column.type.value_type == pa.float16()
    else:
        assert np.load(tmp_path / target).dtype == np.float16
    got = load_vectors(tmp_path / target).vectors
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=2e-3)
    expected = reducers["random"][0].transform(vectors)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(got, expected, atol=2e-3)


def test_wrong_dimension_fails_before_any_output(tmp_path, reducers):
    np.save(tmp_path / "in.npy", np.ones((10, D + 1), np.float32))
    with pytest.raises(InputError, match=rf"{D + 1} dims, but the pca reducer expects {D}"):
        compress(tmp_path / "in.npy", reducers["pca"][1], tmp_path / "out.parquet")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.npy"]


@pytest.mark.parametrize("n_jobs", [1, 2])
@pytest.mark.parametrize("suffix", [".npy", ".parquet"])
def test_nan_names_the_global_row_and_leaves_no_output(tmp_path, vectors, reducers, suffix, n_jobs):
    X = vectors.copy()
    X[97, 3] = np.nan  # in the fourth chunk of 32 rows
    X[140, 0] = np.nan  # a later one, maybe reduced first by another thread
    source = tmp_path / f"in{suffix}"
    if suffix == ".npy":
        np.save(source, X)
    else:
        pq.write_table(pa.table({"embedding": pa.array(X.tolist())}), source, row_group_size=40)
    out = tmp_path / "out.parquet"
    out.write_text("previous")  # an existing output must survive a failed run
    with pytest.raises(InputError, match=rf"in{suffix}: row 97 contains NaN"):
        compress(source, reducers["pca"][1], out, chunk_rows=32, n_jobs=n_jobs, overwrite=True)
    assert out.read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([source.name, "out.parquet"])


def test_missing_or_unreadable_model_folder(tmp_path, vectors):
    np.save(tmp_path / "in.npy", vectors)
    with pytest.raises(ModelNotFoundError, match="no such folder"):
        compress(tmp_path / "in.npy", tmp_path / "nope", tmp_path / "out.npy")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    with pytest.raises(InputError, match=r"^\S*broken/config.json: cannot be read as JSON \("):
        compress(tmp_path / "in.npy", broken, tmp_path / "out.npy")
    assert not (tmp_path / "out.npy").exists()


def test_bad_output_suffix_and_overwriting_the_input(tmp_path, vectors, reducers):
    np.save(tmp_path / "in.npy", vectors)
    with pytest.raises(ParameterError, match="'out.csv': the output must end in .npy"):
        compress(tmp_path / "in.npy", reducers["pca"][1], tmp_path / "out.csv")
    with pytest.raises(InputError, match="is a folder; use --engine dask"):
        compress(tmp_path, reducers["pca"][1], tmp_path / "out.npy")
    with pytest.raises(InputError, match="no such file"):
        compress(tmp_path / "missing.npy", reducers["pca"][1], tmp_path / "out.npy")
    for overwrite in (False, True):
        with pytest.raises(OutputError, match=r"in.npy: is an input of this run"):
            compress(
                tmp_path / "in.npy", reducers["pca"][1], tmp_path / "in.npy", overwrite=overwrite
            )
    np.testing.assert_array_equal(np.load(tmp_path / "in.npy"), vectors)


def test_compressor_transform_checks_its_input(reducers, vectors):
    model = Compressor.load(reducers["encoder"][1])
    assert model.is_linear and model.method == "encoder"
    with pytest.raises(InputError, match="expects 24"):
        model.transform(vectors[:, :5])
    bad = vectors[:10].copy()
    bad[4, 0] = np.inf
    with pytest.raises(InputError, match="row 104 contains NaN or infinite"):
        model.transform(bad, offset=100)


def test_compressor_transform_can_reuse_an_output_buffer(reducers, vectors):
    model = Compressor.load(reducers["pca"][1])
    buffer = np.full((64, K), np.nan, np.float32)
    got = model.transform(vectors[:50], out=buffer)
    assert np.shares_memory(got, buffer) and got.shape == (50, K)
    np.testing.assert_array_equal(got, model.transform(vectors[:50]))


# --------------------------------------------------------------------------- CLI

runner = CliRunner()


def test_cli_compress_writes_the_file_and_reports(tmp_path, vectors, reducers, labelled):
    save_vectors(tmp_path / "in.parquet", vectors, **labelled)
    out = tmp_path / "out.parquet"
    args = ["compress", str(tmp_path / "in.parquet"), "--model", str(reducers["encoder"][1])]
    result = runner.invoke(app, [*args, "-o", str(out), "--quiet", "--jobs", "2"])
    assert result.exit_code == 0, result.output
    assert f"Compressed {N:,} vectors {D} -> {K} dims" in result.output
    back = load_vectors(out)
    assert back.vectors.shape == (N, K) and back.texts == labelled["texts"]
    assert json.loads(pq.read_schema(out).metadata[b"embreduce"])["reducer"]["method"] == "encoder"


def test_cli_compress_errors_are_one_line_and_leave_nothing(tmp_path, reducers):
    np.save(tmp_path / "in.npy", np.ones((5, 3), np.float32))
    out = tmp_path / "out.npy"
    base = ["compress", str(tmp_path / "in.npy"), "--model", str(reducers["pca"][1])]
    result = runner.invoke(app, [*base, "-o", str(out)])
    assert result.exit_code == 1
    assert "3 dims, but the pca reducer expects 24" in result.output
    assert not out.exists()
    result = runner.invoke(app, [*base, "-o", str(out), "--dtype", "int8"])
    assert result.exit_code == 2
    result = runner.invoke(app, [*base, "-o", str(out), "--scheduler", "tcp://localhost:8786"])
    assert result.exit_code == 2
    result = runner.invoke(app, [*base, "-o", str(out), "--jobs", "0"])
    assert result.exit_code == 2
    result = runner.invoke(app, [*base, "-o", str(out), "--jobs", "2", "--engine", "dask"])
    assert result.exit_code == 2 and "--jobs" in result.output
    assert not out.exists()


@pytest.mark.parametrize("target", ["out.npy", "out.parquet"])
@pytest.mark.parametrize("row_group", [20, 1000])  # read by the workers / by one thread
def test_worker_threads_give_the_one_thread_result_in_order(
    tmp_path, vectors, reducers, labelled, target, row_group
):
    save_vectors(tmp_path / "in.parquet", vectors, **labelled)
    table = pq.read_table(tmp_path / "in.parquet")
    pq.write_table(table, tmp_path / "in.parquet", row_group_size=row_group)
    np.save(tmp_path / "in.npy", vectors)
    model = Compressor.load(reducers["encoder"][1])
    for source in ["in.parquet", "in.npy"]:
        results = []
        for n_jobs in [1, 2]:
            out = tmp_path / f"{n_jobs}-{target}"
            compress(tmp_path / source, model, out, chunk_rows=8, n_jobs=n_jobs, overwrite=True)
            results.append(load_vectors(out))
        one, two = results
        np.testing.assert_allclose(two.vectors, one.vectors, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(two.vectors, model.transform(vectors), rtol=1e-6, atol=1e-7)
        if source == "in.parquet" and target == "out.parquet":
            assert two.texts == labelled["texts"]
            pd.testing.assert_frame_equal(two.metadata, one.metadata)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_a_truncated_npy_is_an_error_naming_the_row(tmp_path, vectors, reducers, n_jobs):
    np.save(tmp_path / "in.npy", vectors)
    data = (tmp_path / "in.npy").read_bytes()
    (tmp_path / "in.npy").write_bytes(data[: len(data) - 10 * D * 4])  # 10 rows missing
    with pytest.raises(InputError, match=r"^in\.npy: the file ends before row \d+$"):
        compress(tmp_path / "in.npy", reducers["svd"][1], tmp_path / "out.npy", n_jobs=n_jobs)
    assert not (tmp_path / "out.npy").exists()


def test_default_chunks_hold_a_fixed_number_of_bytes():
    from embreduce.compress import default_chunk_rows

    assert default_chunk_rows(384) == 16_384  # 24 MiB of float32
    assert default_chunk_rows(2048) == 3_072
    assert default_chunk_rows(4096) * 4096 * 4 == 24 << 20
    assert default_chunk_rows(10**6) == 256  # never fewer rows than this


def test_n_jobs_must_be_positive(tmp_path, vectors, reducers):
    np.save(tmp_path / "in.npy", vectors)
    with pytest.raises(InputError, match="n_jobs must be at least 1"):
        compress(tmp_path / "in.npy", reducers["svd"][1], tmp_path / "out.npy", n_jobs=0)


# --------------------------------------------------------------------------- property


@settings(max_examples=25, deadline=None)
@given(
    X=st.integers(1, 60).flatmap(
        lambda n: arrays(np.float32, (n, D), elements=st.floats(-1e3, 1e3, width=32))
    ),
    chunk_rows=st.integers(1, 25),
    bad_row=st.one_of(st.none(), st.integers(0, 59)),
    suffix=st.sampled_from([".npy", ".parquet"]),
    row_group=st.integers(1, 60),
    n_jobs=st.sampled_from([1, 2]),
)
def test_any_finite_matrix_compresses_any_bad_row_is_named(
    tmp_path_factory, reducers, X, chunk_rows, bad_row, suffix, row_group, n_jobs
):
    folder = tmp_path_factory.mktemp("prop")
    source = folder / f"in{suffix}"
    if bad_row is not None:
        bad_row = bad_row % len(X)
        X = X.copy()
        X[bad_row, bad_row % D] = np.inf
    if suffix == ".npy":
        np.save(source, X)
    else:
        table = pa.table({"embedding": pa.array(X.tolist(), pa.list_(pa.float32()))})
        pq.write_table(table, source, row_group_size=row_group)
    model = Compressor.load(reducers["svd"][1])
    if bad_row is not None:
        with pytest.raises(InputError, match=rf"row {bad_row} contains NaN or infinite"):
            compress(source, model, folder / "out.npy", chunk_rows=chunk_rows, n_jobs=n_jobs)
        assert not (folder / "out.npy").exists()
        return
    compress(source, model, folder / "out.npy", chunk_rows=chunk_rows, n_jobs=n_jobs)
    expected = model.transform(X)
    np.testing.assert_allclose(np.load(folder / "out.npy"), expected, rtol=1e-5, atol=1e-3)
