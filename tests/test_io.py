"""Reading and writing vectors and texts; atomic writes; bad files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from embreduce.exceptions import InputError, ParameterError
from embreduce.io import EmbeddingSet, holds_vectors, load_vectors, read_items, save_vectors
from embreduce.outputs import atomic_directory, atomic_write


@pytest.fixture
def sample() -> EmbeddingSet:
    rng = np.random.default_rng(0)
    return EmbeddingSet(
        rng.normal(size=(5, 3)).astype(np.float32),
        ["a", "b", "<c & d>", "é", "e"],
        pd.DataFrame({"group": ["x", "y", "x", "y", "z"], "id": [1, 2, 3, 4, 5]}),
        {"model": "m"},
    )


@pytest.mark.parametrize("suffix", [".npz", ".parquet"])
def test_round_trip_keeps_texts_metadata_and_info(tmp_path, sample, suffix):
    path = save_vectors(tmp_path / f"v{suffix}", sample)
    back = load_vectors(path)
    np.testing.assert_array_equal(back.vectors, sample.vectors)
    assert back.texts == sample.texts
    assert back.metadata["group"].tolist() == ["x", "y", "x", "y", "z"]
    assert back.metadata["id"].tolist() == [1, 2, 3, 4, 5]
    assert back.info == {"model": "m"}


def test_npy_round_trip_keeps_vectors(tmp_path, sample):
    back = load_vectors(save_vectors(tmp_path / "v.npy", sample))
    np.testing.assert_array_equal(back.vectors, sample.vectors)
    assert back.texts is None


def test_parquet_vectors_are_one_fixed_size_list_column(tmp_path, sample):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(save_vectors(tmp_path / "v.parquet", sample))
    assert table.column_names == ["text", "group", "id", "embedding"]
    field = table.schema.field("embedding")
    # non-null column of non-null floats: Parquet then stores no definition levels
    assert field.type == pa.list_(pa.field("item", pa.float32(), nullable=False), 3)
    assert not field.nullable


def test_vectors_made_elsewhere_csv_with_labels_and_header(tmp_path):
    path = tmp_path / "v.csv"
    path.write_text("word,d0,d1\ncat,0.5,1\ndog,1,0.25\n")
    data = load_vectors(path)
    np.testing.assert_allclose(data.vectors, [[0.5, 1], [1, 0.25]])
    assert data.texts == ["cat", "dog"]


def test_vectors_made_elsewhere_csv_without_header(tmp_path):
    path = tmp_path / "v.csv"
    path.write_text("0.5,1,2\n1,0.25,3\n")
    data = load_vectors(path)
    assert data.vectors.shape == (2, 3)
    assert data.texts is None


def test_vectors_made_elsewhere_parquet_list_column_and_npz(tmp_path):
    frame = pd.DataFrame({"label": ["a", "b"], "vec": [[1.0, 2.0], [3.0, 4.0]]})
    frame.to_parquet(tmp_path / "v.parquet")
    data = load_vectors(tmp_path / "v.parquet", text_column="label")
    np.testing.assert_array_equal(data.vectors, [[1, 2], [3, 4]])
    assert data.texts == ["a", "b"]
    np.savez(tmp_path / "x.npz", emb=np.ones((3, 2)))
    assert load_vectors(tmp_path / "x.npz").vectors.shape == (3, 2)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("0.5,1\n1,nan\n", "NaN or infinite"),
        ("1,2,3\n4,5\n1,2,3,4,5\n", "ragged"),
        ("", "empty"),
    ],
)
def test_bad_csv_vectors(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        load_vectors(path)


def test_nan_in_npy_names_the_row(tmp_path):
    arr = np.ones((4, 2), dtype=np.float32)
    arr[2, 1] = np.inf
    np.save(tmp_path / "v.npy", arr)
    with pytest.raises(InputError, match="row 2"):
        load_vectors(tmp_path / "v.npy")


def test_object_npy_is_refused_without_unpickling(tmp_path):
    np.save(tmp_path / "v.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(InputError, match="numeric"):
        load_vectors(tmp_path / "v.npy")


def test_missing_file_and_unknown_suffix(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_vectors(tmp_path / "nope.npy")
    (tmp_path / "v.xyz").write_text("1")
    with pytest.raises(InputError, match="unknown vector format"):
        load_vectors(tmp_path / "v.xyz")


def test_read_items_drops_and_counts_blank_lines(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("first\n\n  \nsecond\nthird\n", encoding="utf-8")
    items = read_items(path)
    assert items.texts == ["first", "second", "third"]
    assert items.n_blank == 2


def test_read_items_from_table_keeps_metadata(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("sentence\tgroup\nhello\ta\n\tb\nworld\tc\n")
    items = read_items(path, text_column="sentence")
    assert items.texts == ["hello", "world"]
    assert items.metadata["group"].tolist() == ["a", "c"]
    assert items.n_blank == 1


@pytest.mark.parametrize(
    ("name", "content", "kwargs", "message"),
    [
        ("e.txt", b"", {}, "empty"),
        ("b.txt", b"\n \n", {}, "no texts"),
        ("l.txt", b"caf\xe9\n", {}, "not UTF-8"),
        ("c.csv", b"a,b\n1,2\n", {}, "no column named 'text'"),
        ("c.csv", b"a,b\n1,2\n", {"text_column": "z"}, "no text column 'z'"),
        ("r.csv", b"text,b\nx,1\ny,2,3,4\n", {}, "ragged"),
    ],
)
def test_read_items_bad_inputs(tmp_path, name, content, kwargs, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        read_items(path, **kwargs)


def test_holds_vectors_tells_texts_from_vectors(tmp_path, sample):
    save_vectors(tmp_path / "v.parquet", sample)
    assert holds_vectors(tmp_path / "v.parquet")
    pd.DataFrame({"text": ["a", "b"]}).to_parquet(tmp_path / "t.parquet")
    assert not holds_vectors(tmp_path / "t.parquet")
    (tmp_path / "t.txt").write_text("a\nb\n")
    assert not holds_vectors(tmp_path / "t.txt")
    (tmp_path / "n.csv").write_text("w,a,b\nx,1,2\n")
    assert holds_vectors(tmp_path / "n.csv")


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.npy"
    with pytest.raises(RuntimeError), atomic_write(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_write(target) as tmp:
        tmp.write_text("new")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_atomic_directory_keeps_the_old_folder_on_failure(tmp_path):
    target = tmp_path / "model"
    with atomic_directory(target) as tmp:
        (tmp / "a.json").write_text("1")
    with pytest.raises(RuntimeError), atomic_directory(target, overwrite=True) as tmp:
        (tmp / "a.json").write_text("2")
        raise RuntimeError("boom")
    assert [p.name for p in target.iterdir()] == ["a.json"]
    assert (target / "a.json").read_text() == "1"
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_save_refuses_nan_and_unknown_suffix(tmp_path):
    with pytest.raises(InputError, match="NaN"):
        save_vectors(tmp_path / "v.npy", np.array([[np.nan, 1.0]]))
    with pytest.raises(ParameterError, match="cannot write .v.txt.: the output must end in .npy"):
        save_vectors(tmp_path / "v.txt", np.ones((2, 2)))
    assert list(tmp_path.iterdir()) == []


finite = st.floats(-1e6, 1e6, allow_nan=False, width=32)


@settings(max_examples=30, deadline=None)
@given(
    arrays(np.float32, st.tuples(st.integers(1, 6), st.integers(1, 5)), elements=finite),
    st.sampled_from([".npy", ".npz", ".parquet", ".csv"]),
)
def test_any_finite_matrix_round_trips(tmp_path_factory, matrix, suffix):
    folder = tmp_path_factory.mktemp("rt")
    path = folder / f"v{suffix}"
    if suffix == ".csv":
        np.savetxt(path, matrix, delimiter=",", fmt="%.9g")
    else:
        save_vectors(path, matrix)
    np.testing.assert_allclose(load_vectors(path).vectors, matrix, rtol=1e-6)


def test_atomic_outputs_get_the_usual_permissions(tmp_path):
    import os
    import stat

    mask = os.umask(0o022)
    try:
        with atomic_write(tmp_path / "f.txt") as tmp:
            tmp.write_text("x")
        with atomic_directory(tmp_path / "d") as tmp:
            (tmp / "a").write_text("x")
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "f.txt").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o755


def test_parquet_vectors_are_not_dictionary_encoded(tmp_path, sample):
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(save_vectors(tmp_path / "v.parquet", sample)).metadata.row_group(0)
    encodings = {
        meta.column(i).path_in_schema: meta.column(i).encodings for i in range(meta.num_columns)
    }
    vector_path = next(p for p in encodings if p.startswith("embedding"))
    assert not any("DICTIONARY" in e for e in encodings[vector_path])
    assert any("DICTIONARY" in e for e in encodings["group"])
