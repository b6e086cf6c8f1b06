"""CosineSimilarityEncoder: training, determinism, persistence and bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from embreduce import CosineSimilarityEncoder
from embreduce.exceptions import InputError
from embreduce.reducers import make_reducer


def cosine_mse(A: np.ndarray, B: np.ndarray) -> float:
    """MSE between the off-diagonal cosine similarities of A and of B."""
    a = A / np.linalg.norm(A, axis=1, keepdims=True)
    b = B / np.linalg.norm(B, axis=1, keepdims=True)
    off = ~np.eye(len(A), dtype=bool)
    return float((((a @ a.T) - (b @ b.T))[off] ** 2).mean())


@pytest.fixture(scope="module")
def X() -> np.ndarray:
    """Anisotropic vectors: a shared direction plus noise, like sentence embeddings."""
    rng = np.random.default_rng(0)
    return (rng.normal(size=(400, 24)) * np.linspace(2.0, 0.2, 24) + 1.0).astype(np.float32)


@pytest.fixture(scope="module")
def fitted(X) -> CosineSimilarityEncoder:
    return CosineSimilarityEncoder(4, max_epochs=20, batch_size=64, random_state=0).fit(X)


def small(**params) -> CosineSimilarityEncoder:
    defaults = {"max_epochs": 4, "batch_size": 64, "random_state": 0}
    return CosineSimilarityEncoder(**{"n_components": 4, **defaults, **params})


def test_import_embreduce_does_not_import_torch():
    code = (
        "import sys, embreduce; assert 'torch' not in sys.modules; "
        "embreduce.CosineSimilarityEncoder; assert 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_shapes_dtypes_and_fitted_attributes(fitted, X):
    Z = fitted.transform(X.astype(np.float64))
    assert Z.shape == (400, 4) and Z.dtype == np.float32
    assert fitted.components_.shape == (4, 24)
    assert fitted.n_features_in_ == 24
    assert len(fitted.loss_curve_) == fitted.n_iter_ == len(fitted.validation_loss_curve_)
    assert fitted.training_summary_["n_validation"] == 40
    import torch

    assert fitted.training_summary_["device"] == ("cuda" if torch.cuda.is_available() else "cpu")
    np.testing.assert_array_equal(fitted.fit_transform(X), fitted.transform(X))


def test_loss_goes_down_from_a_random_start(X):
    enc = small(init="random", max_epochs=30, learning_rate=1e-2).fit(X)
    assert enc.loss_curve_[-1] < 0.5 * enc.loss_curve_[0]
    assert enc.validation_loss_curve_[enc.best_epoch_ - 1] < enc.init_validation_loss_


def test_training_improves_on_its_svd_start_and_never_ends_worse(X):
    enc = small(max_epochs=30, learning_rate=3e-3).fit(X)
    svd = make_reducer("svd", 4).fit(X)
    assert enc.training_summary_["best_validation_loss"] <= enc.init_validation_loss_
    assert cosine_mse(X, enc.transform(X)) < cosine_mse(X, svd.transform(X))


@pytest.mark.parametrize("init", ["svd", "random"])
def test_recovers_the_cosines_of_data_in_a_k_dim_subspace(init):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(600, 4)) @ rng.normal(size=(4, 32))
    enc = CosineSimilarityEncoder(
        4, init=init, max_epochs=60, batch_size=128, learning_rate=3e-2, random_state=0
    ).fit(X)
    assert cosine_mse(X, enc.transform(X)) < 1e-4


def test_svd_init_starts_at_the_svd_baseline(X):
    enc = small(max_epochs=1, learning_rate=1e-12, early_stopping=False).fit(X)
    svd = make_reducer("svd", 4, algorithm="arpack").fit(X / np.linalg.norm(X, axis=1)[:, None])
    np.testing.assert_allclose(np.abs(enc.components_), np.abs(svd.components_), atol=1e-4)


def test_same_seed_same_output_other_seed_other_output(X):
    a = small(random_state=3).fit(X).transform(X)
    b = small(random_state=3).fit(X).transform(X)
    c = small(random_state=4).fit(X).transform(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_fit_leaves_the_global_torch_rng_alone(X):
    import torch

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    small(hidden_layers=(8,), init="random").fit(X)
    np.testing.assert_array_equal(torch.rand(3).numpy(), expected.numpy())


def test_early_stopping_restores_the_best_weights(X):
    enc = small(max_epochs=200, learning_rate=0.2, n_iter_no_change=3).fit(X)
    assert enc.n_iter_ < 200
    curve = enc.validation_loss_curve_
    best = min([enc.init_validation_loss_, *curve])
    assert enc.training_summary_["best_validation_loss"] == pytest.approx(best, rel=1e-3)
    assert enc.best_epoch_ == (0 if best == enc.init_validation_loss_ else curve.index(best) + 1)


def test_without_early_stopping_all_epochs_run_and_nothing_is_held_out(X):
    enc = small(early_stopping=False, max_epochs=5).fit(X)
    assert enc.n_iter_ == 5 and enc.validation_loss_curve_ == []
    assert enc.training_summary_["n_train"] == 400


def test_mlp_trains_saves_its_architecture_and_reloads(X, tmp_path):
    enc = small(hidden_layers=(32,), activation="tanh", max_epochs=10).fit(X)
    assert [w.shape for w in enc.weights_] == [(32, 24), (4, 32)]
    assert enc.loss_curve_[-1] < enc.loss_curve_[0]
    out = enc.save(tmp_path / "mlp")
    arch = json.loads((out / "config.json").read_text())["architecture"]
    assert arch["layer_sizes"] == [24, 32, 4]
    assert arch["activation"] == "tanh" and arch["normalize_input"] is True
    from safetensors.numpy import load_file

    names = sorted(load_file(str(out / "model.safetensors")))
    assert names == ["layers.0.bias", "layers.0.weight", "layers.1.bias", "layers.1.weight"]
    back = CosineSimilarityEncoder.load(out)
    np.testing.assert_array_equal(back.transform(X), enc.transform(X))
    # the MLP normalises its input, so the scale of a vector does not matter
    np.testing.assert_allclose(enc.transform(3 * X), enc.transform(X), rtol=1e-5, atol=1e-6)


def test_save_load_round_trip_keeps_curves(fitted, X, tmp_path):
    back = CosineSimilarityEncoder.load(fitted.save(tmp_path / "enc", extra={"model": "m"}))
    np.testing.assert_array_equal(back.transform(X), fitted.transform(X))
    assert back.loss_curve_ == fitted.loss_curve_
    assert back.get_params() == fitted.get_params()


def test_load_refuses_a_baseline(X, tmp_path):
    from embreduce.reducers import save_reducer

    out = save_reducer(make_reducer("svd", 2).fit(X), tmp_path / "svd")
    with pytest.raises(InputError, match="not an encoder"):
        CosineSimilarityEncoder.load(out)


def test_load_refuses_weights_that_do_not_match_the_config(fitted, X, tmp_path):
    from safetensors.numpy import save_file

    out = fitted.save(tmp_path / "enc")
    save_file({"layers.0.weight": np.zeros((4, 23), np.float32)}, str(out / "model.safetensors"))
    with pytest.raises(InputError, match=r"'layers.0.weight' has shape \(4, 23\).*\(4, 24\)"):
        CosineSimilarityEncoder.load(out)
    save_file({"layers.1.weight": np.zeros((4, 24), np.float32)}, str(out / "model.safetensors"))
    with pytest.raises(InputError, match="missing: \\['layers.0.weight'\\]"):
        CosineSimilarityEncoder.load(out)
    bad = np.full((4, 24), np.nan, np.float32)
    save_file({"layers.0.weight": bad}, str(out / "model.safetensors"))
    with pytest.raises(InputError, match="NaN"):
        CosineSimilarityEncoder.load(out)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda X: np.where(np.arange(24) == 3, np.nan, X), "NaN"),
        (lambda X: np.where(np.arange(24) == 3, np.inf, X), "infinity"),
        (lambda X: np.vstack([X, np.zeros((1, 24))]), "row 400 is all zeros"),
        (lambda X: X[:1], "n_samples=1|1 sample"),
        (lambda X: X[:, :3], r"n_components=4 .* allowed: 1 to 3"),
        (lambda X: X[0], "2D array"),
    ],
)
def test_bad_input_is_a_clear_value_error(change, message, X):
    with pytest.raises(ValueError, match=message):
        small().fit(change(X))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"n_components": 0}, "n_components"),
        ({"init": "pca"}, "init"),
        ({"device": "tpu"}, "device"),
        ({"activation": "softmax"}, "activation"),
        ({"hidden_layers": (16, 0)}, "hidden_layers"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
    ],
)
def test_bad_parameters_name_themselves(params, message, X):
    with pytest.raises(ValueError, match=message):
        small(**params).fit(X)


def test_sample_weight_fits_the_heavy_rows_first():
    rng = np.random.default_rng(2)
    basis = np.linalg.qr(rng.normal(size=(32, 8)))[0].T  # two orthogonal 4-dim subspaces
    heavy = rng.normal(size=(300, 4)) @ basis[:4] + 0.5 * basis[:4].sum(0)
    light = rng.normal(size=(300, 4)) @ basis[4:] + 0.5 * basis[4:].sum(0)
    X = np.vstack([heavy, light])
    weights = np.r_[np.full(300, 20.0), np.ones(300)]
    params = {"max_epochs": 40, "batch_size": 128, "learning_rate": 1e-2, "random_state": 0}
    plain = CosineSimilarityEncoder(4, **params).fit(X)
    weighted = CosineSimilarityEncoder(4, **params).fit(X, sample_weight=weights)
    assert weighted.training_summary_["sample_weight"] is True
    heavy_plain = cosine_mse(heavy, plain.transform(heavy))
    heavy_weighted = cosine_mse(heavy, weighted.transform(heavy))
    assert heavy_weighted < 0.5 * heavy_plain


def test_equal_sample_weights_are_the_same_as_none(X):
    a = small().fit(X).transform(X)
    b = small().fit(X, sample_weight=np.full(len(X), 3.0)).transform(X)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        (lambda n: -np.ones(n), "[Nn]egative"),
        (lambda n: np.ones(n - 1), "shape|length|inconsistent"),
        (lambda n: np.eye(1, n)[0], "fewer than 2 vectors have a non-zero weight"),
    ],
)
def test_bad_sample_weight_is_a_clear_value_error(weights, message, X):
    with pytest.raises(ValueError, match=message):
        small().fit(X, sample_weight=weights(len(X)))


def test_transform_checks_its_input(fitted, X):
    with pytest.raises(ValueError, match="X has 5 features"):
        fitted.transform(X[:, :5])
    with pytest.raises(ValueError, match="NaN"):
        fitted.transform(np.full((2, 24), np.nan))


def test_tiny_data_trains_on_everything():
    X = np.random.default_rng(0).normal(size=(3, 5))
    enc = small(n_components=2).fit(X)
    assert enc.training_summary_["n_validation"] == 0
    assert enc.transform(X).shape == (3, 2)


@pytest.mark.parametrize("verbose", [True, False])
def test_verbose_draws_a_progress_bar(verbose, X, monkeypatch):
    import embreduce.reducers.encoder_training as encoder_module

    calls = []
    real = encoder_module.progress_bar

    def spy(description, total, *, enabled=True):
        calls.append((description, total, enabled))
        return real(description, total, enabled=enabled)

    monkeypatch.setattr(encoder_module, "progress_bar", spy)
    small(verbose=verbose, max_epochs=2).fit(X)
    assert calls == [("training encoder", 2, verbose)]


def test_gpu_training_matches_cpu_training(X):
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no GPU")
    cpu = small(device="cpu", max_epochs=10).fit(X)
    gpu = small(device="cuda", max_epochs=10).fit(X)
    assert gpu.training_summary_["device"] == "cuda"
    assert cosine_mse(X, gpu.transform(X)) == pytest.approx(
        cosine_mse(X, cpu.transform(X)), rel=0.05
    )


def test_cuda_without_a_gpu_is_a_clear_error(X):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(InputError, match="no CUDA GPU"):
        small(device="cuda").fit(X)


def test_transform_in_row_blocks_gives_the_same_result(fitted, X, monkeypatch):
    import embreduce.reducers.encoder as encoder_module

    whole = fitted.transform(X)
    monkeypatch.setattr(encoder_module, "_TRANSFORM_ROWS", 7)
    np.testing.assert_array_equal(fitted.transform(X), whole)
