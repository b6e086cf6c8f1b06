"""Never a wrong answer with exit 0: each case where the tool used to answer wrongly and say
nothing now refuses in one line, or gives the right answer (issue 20).

The cases run the real commands through Typer's CliRunner and look at the files on disk.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from embreduce.cli import app
from embreduce.codecs import (
    QuantizationCodec,
    load_codec,
    load_model_codec,
    model_digest,
    save_codec,
    save_model_codec,
)
from embreduce.compress import Compressor
from embreduce.exceptions import InputError, OutputError
from embreduce.io import EmbeddingSet, load_vectors, save_vectors
from embreduce.outputs import TEMP_MARK, atomic_write
from embreduce.reducers import load_reducer, make_reducer, save_reducer
from embreduce.study import run_study
from embreduce.study.retrieval import split_halves

runner = CliRunner()


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def one_line_error(result, code: int = 1) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:"), result.output
    return " ".join(result.output.split())


def skewed(n: int = 200, d: int = 12, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, d)) * np.geomspace(5, 0.2, d)).astype(np.float32)


def study(folder: Path, X: np.ndarray, **settings) -> None:
    params = {"methods": ["pca"], "dims": [4], "bits": [32, 4, 1], "limit": False}
    run_study(EmbeddingSet(X), folder, show_progress=False, **{**params, **settings})


# ------------------------------------------------------------------ 1. stale codecs


def test_a_second_study_into_the_same_folder_leaves_no_codec_of_the_first(tmp_path):
    out = tmp_path / "s"
    study(out, skewed(seed=0), rotations=["itq"], budget=2)  # recommends a rotated 4 B code
    model = out / "models" / "pca-4"
    first = json.loads((out / "study.json").read_text())["recommendation"]
    assert first["method"] == "pca+itq" and (model / "codec.json").is_file()
    assert (model / "codec-1bit-itq" / "codec.json").is_file()
    X = skewed(seed=1) * 3  # another fit of the same model folder
    study(out, X, bits=[32, 4], overwrite=True)
    # every codec in the folder is the second fit's; the first's rotated and default are gone
    assert not (model / "codec-1bit-itq").exists() and not (model / "codec-4bit-itq").exists()
    assert not (model / "codec-1bit").exists()
    rec = json.loads((out / "study.json").read_text())["recommendation"]
    assert (model / "codec.json").is_file() == (rec["model"] == "models/pca-4" and rec["bits"] < 32)
    digest = json.loads((model / "codec-4bit" / "codec.json").read_text())["model_sha256"]
    assert digest == model_digest(model)
    np.save(tmp_path / "x.npy", X)
    result = invoke(
        "compress", tmp_path / "x.npy", "-m", model, "--bits", 4, "-o", tmp_path / "c.npy"
    )
    assert result.exit_code == 0, result.output
    expected = load_codec(model / "codec-4bit").encode(load_reducer(model).transform(X))
    np.testing.assert_array_equal(np.load(tmp_path / "c.npy"), expected)


def test_a_codec_of_another_fit_is_refused_by_compress_and_export(tmp_path):
    X = skewed()
    study(tmp_path / "a", X)
    study(tmp_path / "b", skewed(seed=3))
    model = tmp_path / "b" / "models" / "pca-4"
    shutil.rmtree(model / "codec-4bit")
    shutil.copytree(tmp_path / "a" / "models" / "pca-4" / "codec-4bit", model / "codec-4bit")
    np.save(tmp_path / "x.npy", X)
    out = tmp_path / "c.npy"
    line = one_line_error(
        invoke("compress", tmp_path / "x.npy", "-m", model, "--bits", 4, "-o", out)
    )
    assert "calibrated for another fit" in line and not out.exists()
    with pytest.raises(InputError, match="calibrated for another fit"):
        load_model_codec(model, 4)
    # a codec saved without a record of its model is not trusted either
    save_codec(model / "codec-1bit", load_codec(model / "codec-1bit"), overwrite=True)
    with pytest.raises(InputError, match="does not record which model"):
        load_model_codec(model, 1)


# ------------------------------------------------------------------ 2. scores that run backwards


DISTANCE_PAIRS = [
    ("A man is playing a guitar.", "A man plays the guitar.", 0.2),
    ("A woman is slicing an onion.", "Someone is cutting an onion.", 0.8),
    ("A dog runs in the park.", "A cat sleeps on the sofa.", 4.2),
    ("The stock market fell today.", "Shares dropped sharply today.", 1.1),
    ("A child is eating pasta.", "A man is repairing a car.", 4.8),
    ("Two people are dancing.", "A couple dances together.", 0.5),
    ("The sky is blue.", "It is raining heavily.", 3.9),
    ("He is reading a book.", "A man reads a novel.", 1.4),
]


def test_pairs_whose_scores_run_backwards_are_refused_before_any_fit(tmp_path, minilm):
    texts = [t for pair in DISTANCE_PAIRS for t in pair[:2]] * 3
    np.save(tmp_path / "v.npy", minilm.encode(texts))  # a bare .npy: no model recorded
    rows = ["s1\ts2\tdistance"] + [f"{a}\t{b}\t{s}" for a, b, s in DISTANCE_PAIRS]
    (tmp_path / "d.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "s"
    args = ["study", tmp_path / "v.npy", "--pairs", tmp_path / "d.tsv", "--pair-columns",
            "s1,s2,distance", "--methods", "pca", "--dims", "4", "--k", "3", "-o", out]  # fmt: skip
    result = invoke(*args)
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    assert "Spearman on your pairs is -" in text and "a distance?" in text
    assert "negate a distance" in text
    # the pairs were embedded with the default model, and the run said so
    assert "do not record their model" in text and "all-MiniLM-L6-v2" in text
    assert not (out / "models").exists()  # nothing was fitted
    same = tmp_path / "same.tsv"  # both texts equal: every original cosine is 1
    same.write_text(
        "s1\ts2\tdistance\n" + "".join(f"{a}\t{a}\t{s}\n" for a, _, s in DISTANCE_PAIRS)
    )
    result = invoke(*args[:3], same, *args[4:-1], tmp_path / "t")
    assert result.exit_code == 1 and "the same cosine" in " ".join(result.output.split())


def test_the_recommendation_ranks_by_the_retained_share():
    from embreduce.study import recommend

    rows = [
        {"method": "original", "dim": 8, "bits": 32, "split": "eval", "mean": 0, "std": 0,
         "spearman": 1.0, "pairs_spearman": 80.0, "pairs_retained": 1.0},
        {"method": "pca", "dim": 4, "bits": 4, "split": "eval", "mean": 0, "std": 0.1,
         "spearman": 0.9, "pairs_spearman": 76.0, "pairs_retained": 0.95},
        {"method": "pca", "dim": 4, "bits": 1, "split": "eval", "mean": 0, "std": 0.1,
         "spearman": 0.8, "pairs_spearman": 70.0, "pairs_retained": 0.875},
    ]  # fmt: skip
    rec = recommend(rows, tolerance=0.05, rank_by="pairs")  # 0.875 < 0.95 - 0.05
    assert (rec["bits"], rec["retained"]) == (4, 0.95)
    assert "keeps 95.0%" in rec["reason"]


# ------------------------------------------------------------------ 3. a column named codes


def test_an_input_column_named_codes_is_refused_before_work(tmp_path):
    X = skewed()
    study(tmp_path / "s", X)
    model = tmp_path / "s" / "models" / "pca-4"
    table = pa.table({"codes": pa.array([f"c{i}" for i in range(len(X))])})
    save_vectors(tmp_path / "in.parquet", EmbeddingSet(X, metadata=table.to_pandas()))
    out = tmp_path / "out.parquet"
    line = one_line_error(
        invoke("compress", tmp_path / "in.parquet", "-m", model, "--bits", 4, "-o", out)
    )
    assert "has a column named 'codes'" in line and not out.exists()
    assert [p for p in tmp_path.iterdir() if TEMP_MARK in p.name] == []
    # float vectors have no codes column to clash with
    assert (
        invoke("compress", tmp_path / "in.parquet", "-m", model, "--bits", 32, "-o", out).exit_code
        == 0
    )
    assert pq.read_schema(out).names.count("codes") == 1


# ------------------------------------------------------------------ 4. codes read as vectors


@pytest.mark.parametrize("suffix", [".npz", ".parquet"])
def test_files_of_codes_are_not_read_as_vectors(tmp_path, suffix):
    X = skewed()
    study(tmp_path / "s", X)
    model = tmp_path / "s" / "models" / "pca-4"
    save_vectors(tmp_path / f"in{suffix}", EmbeddingSet(X, texts=[f"t{i}" for i in range(len(X))]))
    codes = tmp_path / f"codes{suffix}"
    assert (
        invoke(
            "compress", tmp_path / f"in{suffix}", "-m", model, "--bits", 4, "-o", codes
        ).exit_code
        == 0
    )
    with pytest.raises(InputError, match=r"holds 4-bit codes \(2 B a vector\)"):
        load_vectors(codes)
    for command in (
        ("study", codes, "--methods", "pca", "--dims", "2", "-o", tmp_path / "st", "-q"),
        ("map", codes, "--methods", "pca", "-o", tmp_path / "m.html", "-q"),
        ("compress", codes, "-m", model, "-o", tmp_path / "again.npy"),
    ):
        line = one_line_error(invoke(*command))
        assert "holds 4-bit codes" in line and "decode them first" in line
        assert "Embedding" not in line  # the texts beside the codes were not re-embedded
    assert not (tmp_path / "st").exists() and not (tmp_path / "m.html").exists()


# ------------------------------------------------------------------ 5. 1-bit ties


def test_rotated_one_bit_codes_are_ranked_as_hamming_ranks_them(tmp_path):
    from scipy.stats import spearmanr

    from embreduce.study import PairVectors

    rng = np.random.default_rng(0)
    X = skewed(n=300, d=16)
    first = X[:150] + 0.3 * rng.normal(size=(150, 16)).astype(np.float32)
    second = X[150:]
    scores = np.einsum("ij,ij->i", first, second) / (
        np.linalg.norm(first, axis=1) * np.linalg.norm(second, axis=1)
    )
    pairs = PairVectors(first.astype(np.float32), second, scores)
    settings = {"methods": ["pca"], "dims": [8], "bits": [32, 1], "rotations": ["itq"]}
    result = run_study(
        EmbeddingSet(X), tmp_path / "s", limit=False, pairs=pairs, show_progress=False, **settings
    )
    row = next(r for r in result.rows if r["method"] == "pca+itq" and r["split"] == "eval")
    model = tmp_path / "s" / "models" / "pca-8"
    codec, reducer = load_model_codec(model, 1, "itq"), load_reducer(model)
    a, b = (np.unpackbits(codec.encode(reducer.transform(v)), axis=1) for v in (first, second))
    exact = 1 - 2 * (a != b).sum(axis=1) / 8  # what users compare: Hamming
    held = split_halves(len(scores), 0)["confirm"]  # the pairs the study reports on
    expected = spearmanr(exact[held], scores[held]).statistic * 100
    assert row["pairs_spearman"] == pytest.approx(expected)
    assert codec.cosine_grid == 8 and QuantizationCodec(4).fit(X).cosine_grid is None


# ------------------------------------------------------------------ 6. and 7. codec folders


@pytest.fixture
def model_dir(tmp_path) -> Path:
    X = skewed()
    reducer = make_reducer("pca", 4).fit(X)
    folder = save_reducer(reducer, tmp_path / "pca-4")
    for codec in (QuantizationCodec(4), QuantizationCodec(2), QuantizationCodec(1, rotation="itq")):
        save_model_codec(folder, codec.fit(reducer.transform(X)))
    return folder


def _swap(model: Path, source: str, target: str) -> None:
    shutil.rmtree(model / target)
    shutil.copytree(model / source, model / target)


def test_a_codec_folder_holding_another_codec_is_refused(model_dir):
    _swap(model_dir, "codec-2bit", "codec-4bit")
    with pytest.raises(InputError, match="holds a 2bit codec, not the 4bit one its folder names"):
        load_model_codec(model_dir, 4)
    _swap(model_dir, "codec-1bit-itq", "codec-2bit")
    with pytest.raises(InputError, match="holds a 1bit-itq codec, not the 2bit one"):
        load_model_codec(model_dir, 2)


def _tamper(folder: Path, name: str, change) -> None:
    from safetensors.numpy import load_file, save_file

    arrays = load_file(str(folder / "codec.safetensors"))
    arrays[name] = change(arrays[name]).astype(np.float32)
    save_file(arrays, str(folder / "codec.safetensors"))


@pytest.mark.parametrize(
    ("folder", "name", "change", "message"),
    [
        ("codec-4bit", "step_", lambda a: a * 0, "step_ must be positive"),
        ("codec-4bit", "step_", lambda a: -a, "step_ must be positive"),
        ("codec-4bit", "low_", lambda a: a * np.nan, "low_ holds NaN or infinite values"),
        ("codec-1bit-itq", "rotation_", lambda a: a * 2, "rotation_ is not orthogonal"),
        ("codec-1bit-itq", "rotation_", lambda a: a * 0, "rotation_ is not orthogonal"),
    ],
)
def test_tampered_codec_arrays_are_refused_on_load(model_dir, folder, name, change, message):
    _tamper(model_dir / folder, name, change)
    with pytest.raises(InputError, match=message):
        load_codec(model_dir / folder)


def test_export_checks_the_codec_width_as_compress_does(model_dir, tmp_path):
    wide = QuantizationCodec(4).fit(skewed(d=5))
    save_codec(model_dir / "codec-4bit", wide, overwrite=True, model_sha256=model_digest(model_dir))
    for command in (
        ("export", model_dir, "--bits", 4, "-o", tmp_path / "exp"),
        ("compress", tmp_path / "x.npy", "-m", model_dir, "--bits", 4, "-o", tmp_path / "c.npy"),
    ):
        np.save(tmp_path / "x.npy", skewed())
        line = one_line_error(invoke(*command))
        assert "the codec codes 5-d vectors, the model" in line and "gives 4" in line
    assert not (tmp_path / "exp").exists()


def test_a_model_codec_is_always_fitted(model_dir):
    codec = load_model_codec(model_dir, 16)  # no 16-bit codec saved: none is needed
    assert codec.n_features_in_ == 4 and codec.encode(np.ones((2, 4), np.float32)).shape == (2, 8)
    with pytest.raises(InputError, match="not fitted"):
        Compressor(load_reducer(model_dir), codec=QuantizationCodec(4))


# ------------------------------------------------------------------ 8. a race


def test_a_file_that_appears_while_writing_is_never_replaced(tmp_path, monkeypatch):
    import embreduce.compress as compress_module

    X = skewed()
    np.save(tmp_path / "x.npy", X)
    save_reducer(make_reducer("pca", 4).fit(X), tmp_path / "pca-4")
    out = tmp_path / "out.npy"
    real = compress_module.open_sink

    def another_run_finishes_first(*args, **kwargs):
        out.write_bytes(b"the other run's output")
        return real(*args, **kwargs)

    monkeypatch.setattr(compress_module, "open_sink", another_run_finishes_first)
    line = one_line_error(
        invoke("compress", tmp_path / "x.npy", "-m", tmp_path / "pca-4", "-o", out)
    )
    assert "already exists (another run wrote it while this one ran)" in line
    assert out.read_bytes() == b"the other run's output"
    assert [p for p in tmp_path.iterdir() if TEMP_MARK in p.name] == []


def test_atomic_write_replaces_only_with_overwrite(tmp_path):
    target = tmp_path / "a.txt"
    with pytest.raises(OutputError, match="already exists"):
        with atomic_write(target) as tmp:
            tmp.write_text("mine")
            target.write_text("theirs")
    assert target.read_text() == "theirs"
    with atomic_write(target, overwrite=True) as tmp:
        tmp.write_text("mine")
    assert target.read_text() == "mine"


# ------------------------------------------------------------------ 9. pages


def test_a_page_is_replaced_only_with_overwrite_but_a_study_regenerates_its_report(tmp_path):
    X = skewed()
    study(tmp_path / "s", X)
    np.save(tmp_path / "x.npy", X)
    first_map = tmp_path / "map.html"
    assert (
        invoke("map", tmp_path / "x.npy", "--methods", "pca", "-o", first_map, "-q").exit_code == 0
    )
    before = first_map.read_bytes()
    line = one_line_error(invoke("report", tmp_path / "s", "-o", first_map))
    assert "already exists" in line
    line = one_line_error(
        invoke("map", tmp_path / "x.npy", "--methods", "pca", "-o", first_map, "-q")
    )
    assert "already exists" in line and first_map.read_bytes() == before
    assert invoke("report", tmp_path / "s", "-o", first_map, "--overwrite").exit_code == 0
    assert first_map.read_bytes() != before
    assert invoke("report", tmp_path / "s").exit_code == 0  # its own report.html
    own = (tmp_path / "s" / "report.html").read_bytes()
    shutil.copy(tmp_path / "s" / "report.html", tmp_path / "copy.html")  # not a study's own
    assert "already exists" in one_line_error(
        invoke("report", tmp_path / "s", "-o", tmp_path / "copy.html")
    )
    assert invoke("report", tmp_path / "s").exit_code == 0 and own  # regenerated again


# ------------------------------------------------------------------ 10., 12., 13. settings first


def test_bad_pair_columns_are_one_line_and_usage(tmp_path):
    (tmp_path / "p.tsv").write_text("a\tb\tscore\nx\ty\t1\n")
    for columns in ("a,b", "a,b,c,d", "a,,score"):
        args = ("study", "--words", 40, "--pairs", tmp_path / "p.tsv", "--pair-columns", columns)
        line = one_line_error(invoke(*args, "-o", tmp_path / "s"), code=2)
        assert "--pair-columns: give three column names" in line
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ("--budget", "1", "--dims", "16", "--bits", "32,8"),
            "budget=1 bytes is smaller than every candidate",
        ),
        (("--k", "10"), "the eval split has 8 vectors; k=10 neighbours need more than 20"),
        (("--rotations", "itq", "--bits", "32,8"), "rotations apply at 4 bits and fewer"),
        (("--pairs", "{equal}"), "every pair has the score 3"),
    ],
)
def test_settings_are_checked_before_anything_is_embedded(tmp_path, extra, message):
    (tmp_path / "equal.tsv").write_text("sentence1\tsentence2\tscore\n" + "a\tb\t3\n" * 4)
    extra = [str(e).format(equal=tmp_path / "equal.tsv") for e in extra]
    # a model that cannot load: had the study embedded first, it would fail on the model
    args = ("study", "--words", 40, "--model", tmp_path / "no-such-model", *extra)
    result = invoke(*args, "-o", tmp_path / "s", "-q")
    assert result.exit_code in (1, 2), result.output
    text = " ".join(result.output.split())
    assert message in text and "no-such-model" not in text
    assert not (tmp_path / "s").exists()


def test_compress_rotation_above_four_bits_says_no_study_makes_it(model_dir, tmp_path):
    np.save(tmp_path / "x.npy", skewed())
    args = ("compress", tmp_path / "x.npy", "-m", model_dir, "-o", tmp_path / "c.npy")
    line = one_line_error(invoke(*args, "--bits", 8, "--rotation", "itq"), code=2)
    assert "rotations at 4 bits and fewer" in line and "--rotations" not in line


# ------------------------------------------------------------------ 14. an unfinished study


def test_the_report_of_an_unfinished_study_says_so(tmp_path):
    study(tmp_path / "s", skewed())
    meta = json.loads((tmp_path / "s" / "study.json").read_text())
    assert invoke("report", tmp_path / "s").exit_code == 0
    page = (tmp_path / "s" / "report.html").read_text()
    assert "Interim recommendation" not in page and "did not finish" not in page
    meta["complete"] = False  # what a killed run leaves
    (tmp_path / "s" / "study.json").write_text(json.dumps(meta))
    assert invoke("report", tmp_path / "s").exit_code == 0
    page = (tmp_path / "s" / "report.html").read_text()
    assert "Interim recommendation (unfinished study)" in page and "did not finish" in page


# ------------------------------------------------------------------ 16. rough edges


def test_sixteen_bit_codes_refuse_what_float16_cannot_hold(tmp_path):
    X = skewed()
    save_reducer(make_reducer("truncate", 4).fit(X), tmp_path / "t-4")
    X[7] *= 1e20
    np.save(tmp_path / "x.npy", X)
    line = one_line_error(
        invoke(
            "compress",
            tmp_path / "x.npy",
            "-m",
            tmp_path / "t-4",
            "--bits",
            16,
            "-o",
            tmp_path / "c.npy",
        )
    )
    assert "row 7" in line and "float16" in line and not (tmp_path / "c.npy").exists()


def test_a_nan_score_is_shown_as_a_number(tmp_path):
    from embreduce.io import read_pairs

    path = tmp_path / "p.parquet"
    frame = {"sentence1": ["a", "b", "c"], "sentence2": ["d", "e", "f"], "score": [1.0, None, 2.0]}
    pq.write_table(pa.table(frame), path)
    with pytest.raises(InputError, match=r"row 1: score nan is not a finite number$"):
        read_pairs(path)


# ------------------------------------------------------------------ the recommendation applies


def test_the_recommendation_is_a_model_compress_and_export_deliver(tmp_path, minilm):
    texts = [f"word number {i}" for i in range(60)]
    np.save(tmp_path / "v.npy", minilm.encode(texts))
    out = tmp_path / "s"
    args = ("--methods", "truncate", "--dims", 8, "--bits", "32,8,4", "--k", 3, "--no-limit")
    result = invoke("study", tmp_path / "v.npy", *args, "--no-report", "-q", "-o", out)
    assert result.exit_code == 0, result.output
    rec = json.loads((out / "study.json").read_text())["recommendation"]
    assert rec["method"] == "original" and rec["model"] == "models/original-384"
    printed = " ".join(result.output.split())
    assert f"-m {out / 'models' / 'original-384'}" in printed
    X = np.load(tmp_path / "v.npy")
    codes = tmp_path / "codes.npy"
    assert (
        invoke("compress", tmp_path / "v.npy", "-m", out / rec["model"], "-o", codes).exit_code == 0
    )
    codec = load_model_codec(out / rec["model"], rec["bits"])
    np.testing.assert_array_equal(np.load(codes), codec.encode(X))  # no flags: the pick's codes
    assert np.load(codes).shape == (60, rec["bytes"])
    exported = tmp_path / "exported"
    assert invoke("export", out / rec["model"], "-o", exported).exit_code == 0
    from sentence_transformers import SentenceTransformer

    again = SentenceTransformer(str(exported), device="cpu").encode(texts)
    np.testing.assert_array_equal(load_codec(exported / "codec").encode(again), np.load(codes))


# ------------------------------------------------------------------ 11. and 16. full disks


def test_a_full_disk_under_an_npz_is_one_line_naming_the_output(tmp_path):
    import subprocess
    import sys

    from test_safety import fill, tmpfs

    X = skewed(n=5000, d=8)
    np.save(tmp_path / "x.npy", X)
    save_reducer(make_reducer("pca", 4).fit(X), tmp_path / "pca-4")
    with tmpfs(tmp_path / "full", "size=64k") as folder:
        fill(folder)
        out = folder / "out.npz"
        # a process of its own: the garbage collector's late complaints reach its stderr
        done = subprocess.run(
            [sys.executable, "-m", "embreduce.cli", "compress", str(tmp_path / "x.npy"), "-m",
             str(tmp_path / "pca-4"), "-o", str(out), "-q"],
            capture_output=True, text=True,
        )  # fmt: skip
        assert not out.exists() and [p for p in folder.iterdir() if TEMP_MARK in p.name] == []
    assert done.returncode == 1
    assert done.stderr.strip() == f"Error: {out}: no space left on the device", done.stderr


def test_export_on_a_full_disk_is_one_short_line(tmp_path, model_dir):
    from test_safety import fill, tmpfs

    X = np.random.default_rng(0).normal(size=(60, 384)).astype(np.float32)
    save_reducer(make_reducer("pca", 4).fit(X), tmp_path / "pca-384")
    with tmpfs(tmp_path / "full", "size=1m") as folder:
        fill(folder)
        line = one_line_error(invoke("export", tmp_path / "pca-384", "-o", folder / "exp"))
        assert not (folder / "exp").exists()
    assert line.startswith(f"Error: {folder / 'exp'}:") and "no space left" in line
    assert len(line) < 300
