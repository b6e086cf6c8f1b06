"""The Dask engine gives, file for file, what the single-process path gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from embreduce.cli import app
from embreduce.compress import compress
from embreduce.dask_engine import compress_dataset, list_partitions
from embreduce.exceptions import InputError
from embreduce.io import load_vectors, save_vectors
from embreduce.reducers import make_reducer, save_reducer

D, K = 16, 4
SIZES = [40, 25, 33]


@pytest.fixture(scope="module")
def client():
    """A local cluster of 2 worker processes (one thread each), so the reducer is pickled."""
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> tuple:
    """Three Parquet partitions with ids and texts, and a pca reducer saved beside them."""
    root = tmp_path_factory.mktemp("dataset")
    rng = np.random.default_rng(0)
    start = 0
    for i, n in enumerate(SIZES):
        X = rng.normal(size=(n, D)).astype(np.float32)
        ids = pd.DataFrame({"id": np.arange(start, start + n)})
        save_vectors(root / "in" / f"part.{i}.parquet", X, texts=[f"t{j}" for j in range(n)],
                     metadata=ids)  # fmt: skip
        start += n
    reducer = make_reducer("pca", K).fit(rng.normal(size=(100, D)))
    return root, save_reducer(reducer, root / "pca-4", method="pca")


def test_dask_result_equals_the_single_process_path(tmp_path, client, dataset):
    root, model = dataset
    result = compress_dataset(root / "in", model, tmp_path / "out", client=client, chunk_rows=16)
    assert (result.n_partitions, result.n_rows) == (3, sum(SIZES))
    assert result.scheduler == client.scheduler.address
    assert [p.name for p in list_partitions(tmp_path / "out")] == [
        f"part.{i}.parquet" for i in range(3)
    ]
    for i in range(3):
        name = f"part.{i}.parquet"
        # same chunks, same BLAS calls: byte-identical (other chunkings differ by ~1 ulp)
        single = compress(root / "in" / name, model, tmp_path / f"single-{name}", chunk_rows=16)
        assert single.n_rows == SIZES[i]
        a, b = load_vectors(tmp_path / "out" / name), load_vectors(tmp_path / f"single-{name}")
        np.testing.assert_array_equal(a.vectors, b.vectors)
        assert a.texts == b.texts
        pd.testing.assert_frame_equal(a.metadata, b.metadata)
        assert a.info == b.info


def test_nan_in_one_partition_names_file_and_row_and_leaves_nothing(tmp_path, client, dataset):
    root, model = dataset
    src = tmp_path / "in"
    for i, n in enumerate(SIZES):
        X = np.ones((n, D), np.float32)
        if i == 2:
            X[30, 1] = np.nan
        save_vectors(src / f"part.{i}.parquet", X) if i < 2 else _save_raw(src, X)
    with pytest.raises(InputError, match=r"part\.2\.parquet: row 30 contains NaN"):
        compress_dataset(src, model, tmp_path / "out", client=client, chunk_rows=16)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def _save_raw(folder, X) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"embedding": pa.array(X.tolist())}), folder / "part.2.parquet")


def test_dimension_and_empty_folder_checked_before_any_task(tmp_path, dataset):
    root, model = dataset
    (tmp_path / "in").mkdir()
    with pytest.raises(InputError, match="no .parquet files"):
        compress_dataset(tmp_path / "in", model, tmp_path / "out")
    save_vectors(tmp_path / "in" / "part.0.parquet", np.ones((3, D + 2), np.float32))
    # no client and no scheduler: a cluster would be started, but the check comes first
    with pytest.raises(InputError, match=rf"part.0.parquet: the vectors have {D + 2} dims"):
        compress_dataset(tmp_path / "in", model, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cli_engine_dask_on_an_existing_scheduler(tmp_path, client, dataset):
    root, model = dataset
    args = ["compress", str(root / "in"), "--model", str(model), "-o", str(tmp_path / "out")]
    address = client.scheduler.address
    result = CliRunner().invoke(app, [*args, "--engine", "dask", "--scheduler", address, "-q"])
    assert result.exit_code == 0, result.output
    printed = " ".join(result.output.split())  # Rich wraps long lines
    assert f"Compressed {sum(SIZES)} vectors {D} -> {K} dims" in printed
    assert f"3 partition(s) on {address}" in printed
    assert load_vectors(tmp_path / "out" / "part.1.parquet").vectors.shape == (SIZES[1], K)


def test_cli_engine_dask_names_the_codes_it_writes(tmp_path, client, dataset):
    import shutil

    from embreduce.codecs import QuantizationCodec, save_model_codec
    from embreduce.reducers import load_reducer

    root, model = dataset
    shutil.copytree(model, tmp_path / "pca-4")
    fitted = load_reducer(tmp_path / "pca-4").transform(
        np.random.default_rng(1).normal(size=(50, D))
    )
    save_model_codec(tmp_path / "pca-4", QuantizationCodec(4).fit(fitted))
    args = [
        "compress",
        str(root / "in"),
        "-m",
        str(tmp_path / "pca-4"),
        "-o",
        str(tmp_path / "out"),
    ]
    address = client.scheduler.address
    result = CliRunner().invoke(
        app, [*args, "--bits", "4", "--engine", "dask", "--scheduler", address, "-q"]
    )
    assert result.exit_code == 0, result.output
    printed = " ".join(result.output.split())
    assert "(4-bit codes, 2 B)" in printed
    assert "float32" not in printed


@pytest.mark.parametrize("ivf", [None, 3])
def test_index_with_dask_equals_the_local_build(tmp_path, client, dataset, ivf):
    """`index --engine dask` of the partitions = the local build of them read in order."""
    from embreduce.codecs import FaissCodec, save_model_codec
    from embreduce.reducers import load_reducer
    from embreduce.search import SearchIndex, build_index

    root, model = dataset
    parts = list_partitions(root / "in")
    whole = [load_vectors(p) for p in parts]
    X = np.vstack([d.vectors for d in whole])
    if not (model / "codec-faiss-sq8").exists():
        save_model_codec(model, FaissCodec("sq8").fit(load_reducer(model).transform(X)))
    ids = pd.concat([d.metadata for d in whole], ignore_index=True)
    texts = [t for d in whole for t in d.texts]
    save_vectors(tmp_path / "all.parquet", X, texts=texts, metadata=ids)
    local = build_index(tmp_path / "all.parquet", model, tmp_path / "local.faiss",
                        codec="faiss-sq8", ivf=ivf, batch_rows=40, refine="float16")  # fmt: skip
    dask = build_index(root / "in", model, tmp_path / "dask.faiss", codec="faiss-sq8", ivf=ivf,
                       engine="dask", scheduler=client.scheduler.address,
                       refine="float16")  # fmt: skip
    assert dask.index.read_bytes() == local.index.read_bytes()
    assert dask.refine.read_bytes() == local.refine.read_bytes()  # each task wrote its rows
    Q = X[:5]
    assert (
        SearchIndex.load(dask.index).search(Q, 3, oversample=4)[0]
        == SearchIndex.load(local.index).search(Q, 3, oversample=4)[0]
    )
    assert SearchIndex.load(dask.index).ids == SearchIndex.load(local.index).ids
    assert SearchIndex.load(dask.index).texts == texts
    out = CliRunner().invoke(
        app, ["index", str(root / "in"), "-m", str(model), "--codec", "faiss-sq8", "-o",
              str(tmp_path / "cli.faiss"), "--engine", "dask", "--scheduler",
              client.scheduler.address, "-q"] + (["--ivf", str(ivf)] if ivf else []),
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    assert (tmp_path / "cli.faiss").read_bytes() == local.index.read_bytes()
