"""Adding a codec is one class and one registry entry: the study, the model folders,
``compress --codec``, ``export`` and the codec's id all pick it up with no other edit."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from embreduce.cli import app
from embreduce.codecs import (
    Codec,
    CodecSpec,
    QuantizationCodec,
    available_codecs,
    codec_from_id,
    codec_id,
    load_codec,
    load_model_codec,
    register_codec,
    unregister_codec,
)
from embreduce.exceptions import InputError
from embreduce.io import EmbeddingSet
from embreduce.reducers import load_reducer
from embreduce.study import run_study


class HalfCodec(Codec):
    """A trivial codec: each value as a float16, scaled by one number fitted on the data."""

    codec_name = "half"
    state_arrays = ("scale_",)

    def __init__(self, margin: float = 1.0) -> None:
        self.margin = margin

    def fit(self, X, y=None):
        X = np.asarray(X, np.float32)
        self.n_features_in_ = X.shape[1]
        self.scale_ = np.full(1, np.abs(X).max() * self.margin, np.float32)
        return self

    def encode(self, X):
        X = np.asarray(X, np.float32) / self.scale_
        return np.ascontiguousarray(X.astype("<f2")).view(np.uint8)

    def decode(self, codes):
        codes = np.ascontiguousarray(codes, np.uint8)
        return codes.view("<f2").astype(np.float32) * self.scale_

    def bytes_per_vector(self):
        return 2 * self.n_features_in_

    def expected_arrays(self):
        return {"scale_": (1,)}

    def check_state(self, where):
        if not self.scale_[0] > 0:
            raise InputError(f"{where}: scale_ must be positive")


@pytest.fixture
def half():
    register_codec(CodecSpec("half", HalfCodec, lambda bits, rotations: [HalfCodec()]))
    yield
    unregister_codec("half")


def low_rank(n=160, d=12, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, 4)) @ rng.normal(size=(4, d))).astype(np.float32)


def test_a_registered_codec_goes_through_study_compress_and_export(tmp_path, half):
    assert available_codecs() == ["scalar", "faiss", "half"]
    X = low_rank()
    run_study(EmbeddingSet(X), tmp_path / "s", methods=["pca"], dims=[4], bits=[32, 4],
              limit=False, show_progress=False)  # fmt: skip
    rows = [json.loads(line) for line in [(tmp_path / "s" / "results.json").read_text()]][0]
    ours = [r for r in rows["rows"] if r["codec"] == "half" and r["method"] == "pca"]
    assert len(ours) == 2 and ours[0]["bytes"] == 8  # 4 dims x 2 bytes, both splits
    model = tmp_path / "s" / "models" / "pca-4"
    saved = load_model_codec(model, codec="half")
    assert isinstance(saved, HalfCodec) and saved.scale_[0] > 0
    assert json.loads((model / "codec-half" / "codec.json").read_text())["codec"] == "half"
    np.save(tmp_path / "x.npy", X)
    out = tmp_path / "codes.npy"
    result = CliRunner().invoke(
        app, ["compress", str(tmp_path / "x.npy"), "-m", str(model), "--codec", "half",
              "-o", str(out), "-q"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "half codes, 8 B" in " ".join(result.output.split())
    np.testing.assert_array_equal(np.load(out), saved.encode(load_reducer(model).transform(X)))
    assert codec_from_id(codec_id(saved)).get_params() == saved.get_params()


def test_an_unregistered_codec_is_refused_by_name(tmp_path, half):
    X = low_rank()
    run_study(EmbeddingSet(X), tmp_path / "s", methods=["pca"], dims=[4], bits=[32],
              limit=False, show_progress=False)  # fmt: skip
    folder = tmp_path / "s" / "models" / "pca-4" / "codec-half"
    unregister_codec("half")
    with pytest.raises(InputError, match="unknown codec 'half'; known: scalar, faiss"):
        load_codec(folder)
    register_codec(CodecSpec("half", HalfCodec, lambda bits, rotations: [HalfCodec()]))


def test_codec_ids_rebuild_the_scalar_codecs():
    for codec in (QuantizationCodec(4), QuantizationCodec(1, rotation="itq", quantile=0.01)):
        assert codec_from_id(codec_id(codec)).get_params() == codec.get_params()
    assert codec_id(QuantizationCodec(8)) == "scalar:bits=8"


# The codecs take scikit-learn's parameter contract without importing scikit-learn.


@pytest.mark.parametrize(
    "codec",
    [
        QuantizationCodec(),
        QuantizationCodec(bits=2, rotation="itq", random_state=7),
        HalfCodec(margin=0.5),
    ],
    ids=repr,
)
def test_codec_parameters_behave_as_scikit_learns(codec):
    from sklearn.base import BaseEstimator, clone

    class Reference(BaseEstimator):  # the same __init__ under scikit-learn's own mixin
        __init__ = type(codec).__init__

    reference = Reference(**codec.get_params())
    assert codec.get_params() == reference.get_params()
    assert repr(codec).split("(", 1)[1] == repr(reference).split("(", 1)[1]
    copy = clone(codec)
    assert type(copy) is type(codec) and copy.get_params() == codec.get_params()
    with pytest.raises(ValueError, match="Invalid parameter"):
        codec.set_params(no_such_thing=1)


def test_compress_of_npy_imports_no_scikit_learn_or_pandas(tmp_path):
    """Importing scikit-learn (1.4 s) or pandas (0.5 s) costs more than compressing a
    million vectors: ``compress`` of an ``.npy`` with a linear model and its codec loads
    neither."""
    import subprocess
    import sys

    from embreduce.reducers import make_reducer, save_reducer

    X = np.random.default_rng(0).normal(size=(200, 16)).astype(np.float32)
    np.save(tmp_path / "in.npy", X)
    pca = make_reducer("pca", 8).fit(X)
    model = save_reducer(pca, tmp_path / "pca-8")
    from embreduce.codecs import save_model_codec

    save_model_codec(model, QuantizationCodec(bits=4).fit(pca.transform(X)))
    code = (
        "import sys\n"
        "from embreduce.cli import app\n"
        f"args = ['compress', {str(tmp_path / 'in.npy')!r}, '-m', {str(model)!r}, '--bits', '4',"
        f" '-o', {str(tmp_path / 'out.npy')!r}, '-q']\n"
        "try:\n    app(args)\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "print(sorted(m for m in ('sklearn', 'pandas', 'pyarrow', 'scipy') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"
    codes = np.load(tmp_path / "out.npy")
    assert codes.shape == (200, 4) and codes.dtype == np.uint8
