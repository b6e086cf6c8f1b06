"""The registry, linear maps, and saving/loading every savable reducer."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from embreduce.exceptions import InputError, ModelNotFoundError, OutputError
from embreduce.reducers import (
    REDUCERS,
    SPECS,
    NoTransformError,
    available_reducers,
    linear_map,
    load_reducer,
    make_reducer,
    save_reducer,
    supports_transform,
)

SAVABLE = [spec.name for spec in SPECS if spec.can_save]
LINEAR = [spec.name for spec in SPECS if spec.linear_map is not None]
FAST = {"encoder": {"max_epochs": 3}, "encoder-mlp": {"max_epochs": 3, "hidden_layers": (16,)}}


@pytest.fixture(scope="module")
def X() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(120, 12)).astype(np.float32)


def fitted(name: str, X: np.ndarray, k: int = 4):
    return make_reducer(name, k, random_state=0, **FAST.get(name, {})).fit(X)


def test_the_readme_lists_every_registered_method():
    import re
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    listed = readme.split("Methods: ", 1)[1].split("\n\n", 1)[0]
    assert re.findall(r"`([a-z-]+)`", listed) == available_reducers() == list(REDUCERS)
    assert {"pca", "svd", "random", "truncate", "encoder"} <= set(LINEAR)  # the linear ones
    assert "encoder-mlp" in SAVABLE and "umap" not in SAVABLE


def test_unknown_name_lists_the_allowed_ones():
    with pytest.raises(InputError, match="unknown reducer 'pcaa'.*pca, svd, random, truncate"):
        make_reducer("pcaa", 2)
    with pytest.raises(InputError, match="unknown reducer"):
        supports_transform("nope")


def test_unknown_parameter_is_a_clear_error():
    with pytest.raises(InputError, match="svd: .*colour"):
        make_reducer("svd", 2, colour="blue")


@pytest.mark.parametrize("k", [0, -3, 2.5, True])
def test_bad_n_components(k):
    with pytest.raises(InputError, match="n_components"):
        make_reducer("pca", k)


@pytest.mark.parametrize("name", SAVABLE)
def test_k_larger_than_d_names_the_allowed_range(name, X):
    reducer = make_reducer(name, 13, **FAST.get(name, {}))
    with pytest.raises(InputError, match=r"n_components=13 .* allowed: 1 to 12"):
        reducer.fit(X)
    with pytest.raises(InputError, match=r"allowed: 1 to 12"):
        reducer.fit_transform(X)


@pytest.mark.parametrize("name", SAVABLE)
def test_shapes_and_dtype(name, X):
    Z = fitted(name, X).transform(X)
    assert Z.shape == (120, 4)
    assert Z.dtype == np.float32
    assert np.isfinite(Z).all()


@pytest.mark.parametrize("name", LINEAR)
def test_linear_map_reproduces_transform(name, X):
    reducer = fitted(name, X)
    W, b = linear_map(reducer)
    assert W.shape == (12, 4) and b.shape == (4,)
    np.testing.assert_allclose(X @ W + b, reducer.transform(X), atol=1e-5)


def test_linear_map_with_whitening(X):
    pca = make_reducer("pca", 3, whiten=True).fit(X)
    W, b = linear_map(pca)
    np.testing.assert_allclose(X @ W + b, pca.transform(X), atol=1e-5)


def test_pca_keeps_its_other_kinds_of_n_components(X):
    from sklearn.decomposition import PCA

    from embreduce.reducers import PCAReducer

    share = PCAReducer(n_components=0.9).fit(X)
    assert share.n_components_ == PCA(n_components=0.9).fit(X).n_components_
    assert share.explained_variance_ratio_.sum() >= 0.9
    assert share.explained_variance_ratio_[:-1].sum() < 0.9  # the fewest that reach 90 %
    mle = PCAReducer(n_components="mle").fit(X)
    assert mle.n_components_ == PCA(n_components="mle").fit(X).n_components_


def test_linear_map_is_none_for_the_mlp(X):
    assert linear_map(fitted("encoder-mlp", X)) is None


def test_pca_bias_is_the_centring(X):
    pca = fitted("pca", X)
    W, b = linear_map(pca)
    np.testing.assert_allclose(b, -pca.mean_ @ W, atol=1e-6)
    assert np.abs(linear_map(fitted("svd", X))[1]).max() == 0.0


@pytest.mark.parametrize("name", SAVABLE)
def test_save_load_round_trip_is_identical(name, X, tmp_path):
    reducer = fitted(name, X)
    out = save_reducer(reducer, tmp_path / name, extra={"model": "all-MiniLM-L6-v2"})
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "model.safetensors"]
    config = json.loads((out / "config.json").read_text())
    assert config["method"] == name
    assert config["n_features_in"] == 12 and config["n_components"] == 4
    assert config["extra"] == {"model": "all-MiniLM-L6-v2"}
    assert {"params", "embreduce_version", "format_version"} <= set(config)
    back = load_reducer(out)
    assert type(back) is type(reducer)
    np.testing.assert_array_equal(back.transform(X), reducer.transform(X))


def test_save_replaces_an_existing_model_only_with_overwrite(X, tmp_path):
    target = tmp_path / "model"
    save_reducer(fitted("svd", X, k=2), target)
    (target / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match="not empty"):
        save_reducer(fitted("svd", X, k=3), target)
    assert load_reducer(target).transform(X).shape == (120, 2)
    save_reducer(fitted("svd", X, k=3), target, overwrite=True)
    assert load_reducer(target).transform(X).shape == (120, 3)
    assert (target / "notes.txt").read_text() == "mine"  # not ours: left alone
    assert [p.name for p in tmp_path.iterdir()] == ["model"]  # no temp folders left


def test_saved_files_get_the_usual_mode(X, tmp_path):
    old = os.umask(0o022)
    try:
        out = save_reducer(fitted("svd", X, k=2), tmp_path / "m")
    finally:
        os.umask(old)
    assert {p.name: p.stat().st_mode & 0o777 for p in out.iterdir()} == {
        "config.json": 0o644,
        "model.safetensors": 0o644,
    }
    assert out.stat().st_mode & 0o777 == 0o755


def test_save_refuses_a_mismatched_method(X, tmp_path):
    with pytest.raises(InputError, match="does not match"):
        save_reducer(fitted("pca", X), tmp_path / "m", method="svd")


def test_save_unfitted_raises(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        save_reducer(make_reducer("pca", 2), tmp_path / "m")


def test_load_missing_folder_and_files(X, tmp_path):
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        load_reducer(tmp_path / "nothing")
    out = save_reducer(fitted("pca", X), tmp_path / "m")
    (out / "model.safetensors").unlink()
    with pytest.raises(ModelNotFoundError, match="model.safetensors is missing"):
        load_reducer(out)
    (out / "config.json").unlink()
    with pytest.raises(ModelNotFoundError, match="config.json is missing"):
        load_reducer(out)


def _edit_config(folder, **changes):
    path = folder / "config.json"
    config = json.loads(path.read_text())
    config.update(changes)
    path.write_text(json.dumps(config))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"format_version": 99}, "format_version 99 is not supported"),
        ({"method": "magic"}, "unknown method 'magic'"),
        ({"n_features_in": 11}, "has shape"),
        ({"n_components": 5}, "has shape"),
        ({"n_components": "four"}, "n_components must be a positive integer"),
    ],
)
def test_load_checks_the_config(changes, message, X, tmp_path):
    out = save_reducer(fitted("pca", X), tmp_path / "m")
    _edit_config(out, **changes)
    with pytest.raises(InputError, match=message):
        load_reducer(out)


def test_load_rejects_a_config_without_keys(X, tmp_path):
    out = save_reducer(fitted("svd", X), tmp_path / "m")
    (out / "config.json").write_text(json.dumps({"method": "svd"}))
    with pytest.raises(InputError, match="missing key"):
        load_reducer(out)
    (out / "config.json").write_text("{not json")
    with pytest.raises(InputError, match="cannot be read as JSON"):
        load_reducer(out)


def test_load_rejects_weights_of_the_wrong_shape(X, tmp_path):
    from safetensors.numpy import save_file

    out = save_reducer(fitted("svd", X), tmp_path / "m")
    save_file({"components_": np.zeros((4, 7), dtype=np.float32)}, str(out / "model.safetensors"))
    with pytest.raises(InputError, match=r"'components_' has shape \(4, 7\).*\(4, 12\)"):
        load_reducer(out)
    (out / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(InputError, match="cannot be read as safetensors"):
        load_reducer(out)


# compress reads a saved linear model as its map, without building the estimator


@pytest.mark.parametrize(
    "name, params",
    [(name, {}) for name in SAVABLE]
    + [("pca", {"whiten": True}), ("encoder", {"hidden_layers": (6,)})],
)
def test_a_saved_models_map_is_the_estimators_bit_for_bit(name, params, X, tmp_path):
    from embreduce.reducers import load_linear_map

    reducer = make_reducer(name, 4, random_state=0, **{**FAST.get(name, {}), **params}).fit(X)
    folder = save_reducer(reducer, tmp_path / name)
    expected = linear_map(load_reducer(folder))
    found = load_linear_map(folder)
    if expected is None:  # the MLP, and an encoder given hidden layers
        assert found is None
        return
    assert found.method == name and found.n_features_in_ == 12
    np.testing.assert_array_equal(found.weights, expected[0])
    np.testing.assert_array_equal(found.bias, expected[1])
    np.testing.assert_array_equal(
        found.transform(X), X.astype(np.float64) @ expected[0] + expected[1]
    )


def test_a_saved_models_map_checks_the_arrays_it_reads(X, tmp_path):
    from safetensors.numpy import load_file, save_file

    from embreduce.reducers import load_linear_map

    folder = save_reducer(fitted("pca", X), tmp_path / "m")
    arrays = load_file(str(folder / "model.safetensors"))
    arrays["mean_"] = np.full(12, np.nan, dtype=arrays["mean_"].dtype)
    save_file(arrays, str(folder / "model.safetensors"))
    with pytest.raises(InputError, match="'mean_' holds NaN"):
        load_linear_map(folder)
    del arrays["mean_"]
    save_file(arrays, str(folder / "model.safetensors"))
    with pytest.raises(InputError, match=r"missing: \['mean_'\]"):
        load_linear_map(folder)


def test_supports_transform():
    assert [n for n in available_reducers() if not supports_transform(n)] == ["tsne"]


def test_tsne_has_no_transform_and_cannot_be_saved(X, tmp_path):
    tsne = make_reducer("tsne", 2, perplexity=5, max_iter=250)
    Z = tsne.fit_transform(X[:40])
    assert Z.shape == (40, 2)
    with pytest.raises(NoTransformError, match="t-SNE has no transform for new points"):
        tsne.transform(X[:5])
    with pytest.raises(InputError, match="cannot be saved.*pickle"):
        save_reducer(tsne, tmp_path / "t")


def test_tsne_says_what_barnes_hut_allows(X):
    with pytest.raises(InputError, match="Barnes-Hut solver supports n_components 1 to 3"):
        make_reducer("tsne", 8).fit(X)


@pytest.mark.slow
def test_umap_fits_transforms_and_cannot_be_saved(X, tmp_path):
    umap = make_reducer("umap", 2, n_neighbors=5)
    assert umap.fit_transform(X).shape == (len(X), 2)
    assert umap.transform(X[:7]).shape == (7, 2)
    with pytest.raises(InputError, match="cannot be saved.*pickle"):
        save_reducer(umap, tmp_path / "u")
    with pytest.raises(InputError, match="allowed: 1 to 12"):
        make_reducer("umap", 20).fit(X)
