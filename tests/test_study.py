"""The study: a grid of reducers judged on held-out pairs, written to disk, recommended."""

from __future__ import annotations

import csv
import json
import re

import numpy as np
import pytest

from embreduce.exceptions import InputError, ParameterError
from embreduce.io import EmbeddingSet
from embreduce.study import RESULT_COLUMNS, load_study, recommend, run_study, split_holdout


def low_rank_vectors(n: int = 120, d: int = 24, rank: int = 6, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n, rank)) @ rng.normal(size=(rank, d))
    return (base + 0.05 * rng.normal(size=(n, d))).astype(np.float32)


def row(method, dim, bits, spearman, split="eval", pairs=None):
    return {
        "method": method,
        "dim": dim,
        "bits": bits,
        "bytes": -(-dim * bits // 8),
        "split": split,
        "mean": 0.0,
        "std": 1 - spearman,
        "spearman": spearman,
        "recall_at_10": spearman,
        "pairs_spearman": pairs,
        "pairs_retained": None if pairs is None else pairs / 82.0,  # the float32 original's
    }


GRID = [
    row("original", 384, 32, 1.0, pairs=82.0),  # the uncompressed input: a reference only
    row("original", 384, 8, 0.999, pairs=82.0),
    row("original", 384, 1, 0.95, pairs=81.1),  # 48 B
    row("encoder", 64, 32, 0.985, pairs=81.5),  # 256 B
    row("encoder", 64, 4, 0.981, pairs=81.4),  # 32 B
    row("encoder", 16, 8, 0.90, pairs=78.0),  # 16 B
    row("limit", 16, 32, 0.999),
    row("encoder", 16, 1, 0.999, split="train", pairs=90.0),
]


def test_recommend_takes_the_fewest_bytes_within_tolerance_of_the_best():
    rec = recommend(GRID, tolerance=0.02, input_dim=384)
    assert (rec["method"], rec["dim"], rec["bits"], rec["bytes"]) == ("encoder", 64, 4, 32)
    assert rec["reason"].startswith(
        "encoder-64 at 4 bits: 32 bytes a vector, 48x smaller than float32 384-d"
    )
    assert "within 2% of the best, original-384 at 8 bits" in rec["reason"]
    assert recommend(GRID, tolerance=0.0)["bits"] == 8  # original int8 is the best


def test_recommend_by_pairs_and_within_a_budget():
    rec = recommend(GRID, tolerance=0.01, rank_by="pairs")
    assert (rec["method"], rec["bytes"]) == ("encoder", 32)  # 81.4 / 82.0 = 99.3 %
    assert rec["retained"] == pytest.approx(81.4 / 82.0)
    assert "keeps 99.3% of the original vectors' Spearman on your pairs" in rec["reason"]
    strict = recommend(GRID, tolerance=0.005, rank_by="pairs")  # 81.4 < 82.0 - 0.41
    assert (strict["method"], strict["bits"]) == ("original", 8)
    within = recommend(GRID, rank_by="pairs", budget=20)
    assert (within["method"], within["dim"], within["bits"]) == ("encoder", 16, 8)
    assert "within the budget of 20 bytes" in within["reason"]
    assert recommend(GRID, budget=8) is None
    assert recommend([row("svd", 32, 32, 0.9, split="train")]) is None


def test_split_is_seeded_and_disjoint():
    train, held = split_holdout(50, 0.2, seed=3)
    assert len(held) == 10 and len(train) == 40
    assert not set(train) & set(held)
    again = split_holdout(50, 0.2, seed=3)
    assert np.array_equal(again[1], held)
    with pytest.raises(InputError, match="too few"):
        split_holdout(3, 0.2, seed=0)
    with pytest.raises(InputError, match="holdout must be > 0 and < 1"):
        split_holdout(30, 1.5, seed=0)


@pytest.fixture(scope="module")
def small_study(tmp_path_factory):
    out = tmp_path_factory.mktemp("study")
    data = EmbeddingSet(low_rank_vectors(), info={"model": "synthetic"})
    result = run_study(
        data,
        out,
        methods=["pca", "svd", "truncate", "random"],
        dims=[4, 8, 64],
        holdout=0.25,
        seed=0,
        show_progress=False,
    )
    return out, result


def test_study_writes_every_file(small_study):
    out, result = small_study
    for name in ("results.csv", "results.json", "base_distribution.json", "study.json"):
        assert (out / name).is_file()
    with open(out / "results.csv", newline="") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames) == RESULT_COLUMNS
        csv_rows = list(reader)
    # (4 methods x 2 dims + the original) x 4 precisions x 2 splits + 2 limit rows;
    # dim 64 > 24 is skipped with a note
    assert len(csv_rows) == (4 * 2 + 1) * 4 * 2 + 2
    assert {r["bits"] for r in csv_rows} == {"32", "8", "4", "1"}
    assert {(r["dim"], r["bits"], r["bytes"]) for r in csv_rows} >= {
        ("8", "4", "4"),
        ("24", "1", "3"),
    }
    assert any("dim 64 skipped" in n for n in result.notes)
    assert {r["split"] for r in csv_rows} == {"train", "eval"}
    assert {r["method"] for r in csv_rows} == {
        *("pca", "svd", "truncate", "random", "limit", "original")
    }
    saved = sorted(p.name for p in (out / "models").iterdir())
    methods = ("pca", "svd", "truncate", "random")
    assert saved == sorted(["original-24", *(f"{m}-{d}" for m in methods for d in (4, 8))])


def test_study_json_records_settings_and_recommendation(small_study):
    out, result = small_study
    study = json.loads((out / "study.json").read_text())
    assert study["complete"] is True
    assert study["settings"]["seed"] == 0
    assert study["data"]["n_train"] == 90 and study["data"]["n_eval"] == 30
    assert study["data"]["n_pairs_eval"] == 30 * 29 // 2
    assert study["recommendation"] == result.recommendation
    assert study["versions"]["numpy"] == np.__version__
    loaded = load_study(out)
    assert len(loaded["results"]["rows"]) == len(result.rows)
    assert (
        len(loaded["results"]["rows"][0]["hist_diff"])
        == len(loaded["base_distribution"]["diff_edges"]) - 1
    )


def test_limit_is_at_least_as_good_as_every_method(small_study):
    _, result = small_study
    for dim in (4, 8):
        limit = next(r for r in result.rows if r["method"] == "limit" and r["dim"] == dim)
        others = [
            r["mse"]
            for r in result.rows
            if r["split"] == "eval" and r["dim"] == dim and r["method"] != "limit"
        ]
        assert limit["mse"] <= min(others) + 1e-6


def test_rank_six_data_is_kept_by_svd_at_eight_dims(small_study):
    _, result = small_study
    svd8 = next(r for r in result.rows if (r["method"], r["dim"], r["split"]) == ("svd", 8, "eval"))
    assert svd8["mse"] < 1e-3
    assert svd8["recall_at_10"] > 0.8


def test_study_with_own_eval_set(tmp_path):
    vectors = low_rank_vectors(n=100)
    result = run_study(
        EmbeddingSet(vectors[:60]),
        tmp_path,
        methods=["svd"],
        dims=[4],
        eval_data=EmbeddingSet(vectors[60:]),
        limit=False,
        bits=[32],
        show_progress=False,
    )
    assert [(r["method"], r["split"]) for r in result.rows] == [
        *(("original", "train"), ("original", "eval")),
        *(("svd", "train"), ("svd", "eval")),
    ]
    assert result.rows[1]["n_pairs"] == 40 * 39 // 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"methods": ["nope"]}, "methods: unknown nope"),
        ({"methods": ["tsne"]}, "tsne cannot transform held-out vectors"),
        ({"methods": []}, "methods is empty"),
        ({"dims": [100]}, "above the input dimension"),
        ({"dims": [0]}, "dims must be an integer >= 1, got 0"),
        ({"holdout": 0.0}, "holdout must be > 0 and < 1"),
        ({"holdout": 0.1}, "k=10 neighbours need more than 20"),
        ({"k": 0}, "k must be an integer >= 1, got 0"),
        ({"k": -3}, "k must be an integer >= 1, got -3"),
        ({"k": 2.5}, "k must be an integer, got 2.5"),
        ({"seed": -1}, "seed must be an integer from 0 to 4294967295, got -1"),
        ({"seed": 99999999999999}, "seed must be an integer from 0 to 4294967295"),
        ({"tolerance": float("nan")}, "tolerance must be a finite number, got nan"),
        ({"tolerance": 1.0}, "tolerance must be >= 0 and < 1"),
        ({"max_pairs": 0}, "max_pairs must be an integer >= 1"),
        ({"weights": "often"}, "unknown --weights 'often'"),
        ({"bits": [3]}, "bits=3 is not allowed: use one of 32, 16, 8, 4, 2, 1"),
        ({"bits": []}, "bits is empty"),
        ({"budget": 1, "bits": [8]}, "budget=1 bytes is smaller than every candidate"),
        ({"budget": 0}, "budget must be an integer >= 1"),
        ({"rank_by": "pairs"}, "rank_by='pairs' needs labelled pairs"),
        ({"rank_by": "speed"}, "rank_by must be one of pairs, cosine"),
    ],
)
def test_bad_study_requests(tmp_path, kwargs, message):
    options = {"methods": ["pca"], "dims": [4], "show_progress": False, **kwargs}
    with pytest.raises(InputError, match=re.escape(message)):
        run_study(EmbeddingSet(low_rank_vectors()), tmp_path / "s", **options)
    assert not (tmp_path / "s").exists()  # nothing written before the request is checked


def test_repeated_methods_and_dims_are_studied_once(tmp_path):
    result = run_study(
        EmbeddingSet(low_rank_vectors()),
        tmp_path / "s",
        methods=["svd", "svd"],
        dims=[4, 4],
        bits=[8, 8],
        limit=False,
        show_progress=False,
    )
    rows = [(r["method"], r["dim"], r["bits"], r["split"]) for r in result.rows]
    assert rows == [
        *(("original", 24, 8, "train"), ("original", 24, 8, "eval")),
        *(("svd", 4, 8, "train"), ("svd", 4, 8, "eval")),
    ]


def test_codecs_are_saved_with_each_model_and_the_recommended_one_is_its_default(tmp_path):
    from embreduce.codecs import load_codec

    out = tmp_path / "s"
    X = low_rank_vectors()
    result = run_study(EmbeddingSet(X), out, methods=["svd"], dims=[8], bits=[32, 8, 1],
                       limit=False, show_progress=False)  # fmt: skip
    model = out / "models" / "svd-8"
    assert sorted(p.name for p in model.glob("codec-*")) == ["codec-1bit", "codec-8bit"]
    rec = result.recommendation
    assert (rec["method"], rec["bits"]) == ("svd", 8)  # int8 keeps the rank order of svd-8
    default = load_codec(model)
    assert default.bits == 8
    # the saved codec gives the codes the study judged: calibrated on the training split
    row = next(r for r in result.rows if (r["method"], r["bits"], r["split"]) == ("svd", 8, "eval"))
    assert row["bytes"] == default.bytes_per_vector() == 8


def test_k_names_the_recall_column_everywhere(tmp_path):
    from embreduce.report import write_report

    out = tmp_path / "s"
    result = run_study(
        EmbeddingSet(low_rank_vectors()),
        out,
        methods=["svd", "truncate"],
        dims=[4, 8],
        k=5,
        show_progress=False,
    )
    with open(out / "results.csv", newline="") as fh:
        assert "recall_at_5" in csv.DictReader(fh).fieldnames
    assert all("recall_at_5" in r and "recall_at_10" not in r for r in result.rows)
    assert "recall@5" in result.recommendation["reason"]
    page = write_report(out).read_text(encoding="utf-8")
    assert "recall@5" in page and "recall@10" not in page


class Interrupted(Exception):
    pass


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("cells_done", [0, 2])
def test_an_interrupted_study_leaves_an_incomplete_study_json(
    tmp_path, monkeypatch, cells_done, threads
):
    import embreduce.study.run as study_module

    real = study_module._study_cell
    calls = []

    def cell(run, method, dim):
        calls.append(dim)
        if len(calls) > cells_done:
            raise Interrupted  # like Ctrl-C, or kill -9 between two cells
        return real(run, method, dim)

    monkeypatch.setattr(study_module, "_study_cell", cell)
    out = tmp_path / "s"
    with pytest.raises(Interrupted):
        run_study(EmbeddingSet(low_rank_vectors()), out, methods=["svd"], dims=[4, 8],
                  bits=[32], show_progress=False, threads=threads)  # fmt: skip
    study = json.loads((out / "study.json").read_text())
    assert study["complete"] is False
    rows = load_study(out)["results"]["rows"]
    studied = [(r["method"], int(r["dim"])) for r in rows if r["method"] != "limit"]
    # the original, then svd-4 finished; svd-8 failed. Side by side, the limit rows of
    # the cells that ran beside them are kept too: every finished cell, whole
    assert studied == ([("original", 24)] * 2 + [("svd", 4)] * 2)[: 2 * cells_done]
    if threads == 1:
        assert len(rows) == 2 * cells_done
    assert (study["recommendation"] is None) == (cells_done == 0)


def test_a_study_that_measures_nothing_says_so(tmp_path, monkeypatch):
    from embreduce.exceptions import EmbreduceError
    from embreduce.reducers import baselines

    def refuse(self, X, y=None):
        raise EmbreduceError("cannot fit here")

    monkeypatch.setattr(baselines.TruncateReducer, "fit", refuse)
    out = tmp_path / "s"
    with pytest.raises(InputError, match="no candidate could be measured"):
        run_study(EmbeddingSet(low_rank_vectors()), out, methods=["truncate"], dims=[4],
                  show_progress=False)  # fmt: skip
    assert (out / "results.csv").is_file() and (out / "study.json").is_file()


def test_zero_vectors_are_refused(tmp_path):
    vectors = low_rank_vectors()
    vectors[5] = 0
    with pytest.raises(InputError, match="row 5 is all zeros"):
        run_study(EmbeddingSet(vectors), tmp_path, methods=["pca"], dims=[4], show_progress=False)


def test_load_study_explains_a_wrong_folder(tmp_path):
    with pytest.raises(InputError, match="not a study folder"):
        load_study(tmp_path)


def test_report_is_written_from_a_real_study(small_study):
    from embreduce.report import write_report

    out, result = small_study
    from embreduce.report.page import plotly_js

    page = write_report(out).read_text(encoding="utf-8")
    assert plotly_js()[:200] in page  # plotly.js itself, embedded
    assert not re.search(r"<script[^>]+src=[\"']https?:", page)  # plotly.js is inline
    assert result.recommendation["reason"].split(":")[0] in page


def test_study_cli_on_vectors(tmp_path):
    from typer.testing import CliRunner

    from embreduce.cli import app
    from embreduce.io import save_vectors

    save_vectors(tmp_path / "v.npy", low_rank_vectors())
    out = tmp_path / "study"
    args = ["study", str(tmp_path / "v.npy"), "--methods", "svd,truncate", "--dims", "4,8,500"]
    result = CliRunner().invoke(app, [*args, "-o", str(out), "--quiet", "--no-limit"])
    assert result.exit_code == 0, result.output
    assert "Recommendation:" in result.output
    assert "dim 500 skipped" in result.output
    assert (out / "report.html").is_file()
    assert sorted(p.name for p in (out / "models").iterdir()) == [
        "original-24",
        "svd-4",
        "svd-8",
        "truncate-4",
        "truncate-8",
    ]


def test_study_cli_bad_method_is_one_line(tmp_path):
    from typer.testing import CliRunner

    from embreduce.cli import app
    from embreduce.io import save_vectors

    save_vectors(tmp_path / "v.npy", low_rank_vectors())
    args = ["study", str(tmp_path / "v.npy"), "--methods", "pca,lda", "-o", str(tmp_path / "s")]
    result = CliRunner().invoke(app, [*args, "--quiet"])
    assert result.exit_code == 2
    assert "methods: unknown lda" in result.output
    assert not (tmp_path / "s").exists()


def test_study_cli_checks_everything_before_embedding(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import embreduce.cli as cli
    from embreduce.embedding.options import EmbeddingOptions

    def no_embedding(*args, **kwargs):
        raise AssertionError("embedded before the request was checked")

    monkeypatch.setattr(EmbeddingOptions, "embedder", no_embedding)
    out = tmp_path / "s"
    for bad in (["--k", "0"], ["--seed", "-1"], ["--tolerance", "nan"], ["--methods", "nope"]):
        result = CliRunner().invoke(cli.app, ["study", "--words", "40", "-o", str(out), *bad])
        assert result.exit_code == 2, result.output
        assert len(result.output.strip().splitlines()) == 1, result.output
        assert not out.exists()


def test_study_cli_with_k(tmp_path):
    from typer.testing import CliRunner

    from embreduce.cli import app
    from embreduce.io import save_vectors

    save_vectors(tmp_path / "v.npy", low_rank_vectors())
    out = tmp_path / "study"
    args = ["study", str(tmp_path / "v.npy"), "--methods", "svd", "--dims", "4", "--k", "3"]
    result = CliRunner().invoke(app, [*args, "-o", str(out), "--quiet", "--no-limit"])
    assert result.exit_code == 0, result.output
    assert "recall@3" in result.output
    assert (out / "report.html").is_file()


def test_limit_on_a_large_eval_set_is_measured_on_its_sample(tmp_path, monkeypatch):
    import embreduce.metrics.limit as limit_module
    from embreduce import metrics

    real = metrics.similarity_limit

    def small_sample(X, n_components, **kwargs):
        return real(X, n_components, **{**kwargs, "max_n": 25})

    monkeypatch.setattr(metrics, "similarity_limit", small_sample)
    monkeypatch.setattr(limit_module, "similarity_limit", small_sample)
    result = run_study(
        EmbeddingSet(low_rank_vectors()),
        tmp_path,
        methods=["svd"],
        dims=[4],
        holdout=0.5,
        show_progress=False,
    )
    limit = next(r for r in result.rows if r["method"] == "limit")
    assert limit["n_pairs"] == 25 * 24 // 2


FAST_ENCODER_STUDY = {"methods": ["pca", "encoder"], "dims": [4], "limit": False}


def test_weights_train_the_encoders_and_are_noted_for_the_others(tmp_path):
    vectors = low_rank_vectors()
    weights = np.where(np.arange(len(vectors)) < 30, 10.0, 1.0)
    plain = run_study(EmbeddingSet(vectors), tmp_path / "plain", show_progress=False,
                      **FAST_ENCODER_STUDY)  # fmt: skip
    weighted = run_study(EmbeddingSet(vectors), tmp_path / "weighted", sample_weight=weights,
                         show_progress=False, **FAST_ENCODER_STUDY)  # fmt: skip
    assert "sample weights used by encoder" in weighted.notes
    assert "sample weights ignored by pca (its fit takes none)" in weighted.notes
    config = json.loads((tmp_path / "weighted/models/encoder-4/config.json").read_text())
    assert config["training"]["sample_weight"] is True
    study = json.loads((tmp_path / "weighted/study.json").read_text())
    assert study["settings"]["sample_weight"] is True

    def eval_row(result, method):
        return next(r for r in result.rows if r["method"] == method and r["split"] == "eval")

    assert eval_row(weighted, "pca")["mse"] == eval_row(plain, "pca")["mse"]
    assert eval_row(weighted, "encoder")["mse"] != eval_row(plain, "encoder")["mse"]


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        (np.ones(5), r"expected one weight per vector \(120,\)"),
        (np.r_[-1.0, np.ones(119)], "finite and non-negative"),
        (np.r_[np.nan, np.ones(119)], "finite and non-negative"),
    ],
)
def test_bad_weights_are_refused_before_any_work(tmp_path, weights, message):
    with pytest.raises(InputError, match=message):
        run_study(EmbeddingSet(low_rank_vectors()), tmp_path / "s", sample_weight=weights,
                  show_progress=False, **FAST_ENCODER_STUDY)  # fmt: skip
    assert not (tmp_path / "s").exists()


def test_study_weights_from_word_frequency_or_a_column():
    import pandas as pd

    from embreduce.study import study_weights

    data = EmbeddingSet(
        low_rank_vectors(n=3),
        texts=["the", "house", "xqzvbw"],
        metadata=pd.DataFrame({"count": [3, 2, 1], "tag": ["a", "b", "c"]}),
    )
    freq = study_weights(data, "frequency")
    assert freq[0] > freq[1] >= freq[2] > 0  # unknown words get the smallest known weight
    assert study_weights(data, "column:count").tolist() == [3.0, 2.0, 1.0]
    with pytest.raises(InputError, match="no metadata column 'n'.*columns: count, tag"):
        study_weights(data, "column:n")
    with pytest.raises(InputError, match="column:tag: the column holds str, not numbers"):
        study_weights(data, "column:tag")
    with pytest.raises(InputError, match="use frequency or column:NAME"):
        study_weights(data, "zipf")
    with pytest.raises(InputError, match="needs the texts"):
        study_weights(EmbeddingSet(low_rank_vectors(n=3)), "frequency")


def test_study_cli_weights_by_frequency(tmp_path):
    from typer.testing import CliRunner

    from embreduce.cli import app
    from embreduce.embedding.corpora import top_words
    from embreduce.io import save_vectors

    save_vectors(tmp_path / "v.parquet", low_rank_vectors(), texts=top_words(120))
    args = ["study", str(tmp_path / "v.parquet"), "--methods", "encoder", "--dims", "4"]
    args += ["--quiet", "--no-limit", "--no-report"]
    out = tmp_path / "study"
    result = CliRunner().invoke(app, [*args, "--weights", "frequency", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "study.json").read_text())["settings"]["weights"] == "frequency"
    from embreduce.report import write_report

    page = write_report(out).read_text(encoding="utf-8")
    assert "training weights</dt><dd>frequency (the encoders; baselines take none)" in page
    result = CliRunner().invoke(app, [*args, "--weights", "zipf", "-o", str(tmp_path / "x")])
    assert result.exit_code == 1 and "use frequency or column:NAME" in result.output
    assert not (tmp_path / "x").exists()


def test_sampled_metrics_are_stated_in_the_notes(tmp_path, monkeypatch):
    from embreduce.metrics import distributions

    monkeypatch.setattr(distributions, "EXACT_MAX_N", 50)
    monkeypatch.setattr(distributions, "DEFAULT_MAX_PAIRS", 500)
    monkeypatch.setattr(distributions, "DEFAULT_MAX_QUERIES", 40)
    result = run_study(
        EmbeddingSet(low_rank_vectors()),
        tmp_path / "s",
        methods=["svd"],
        dims=[4],
        bits=[32],
        limit=False,
        show_progress=False,
    )
    notes = result.notes
    assert "train split: pair statistics from 500 seeded pairs and recall@k and " in (
        " ".join(notes)
    )
    assert any("from 40 seeded query rows" in note for note in notes)
    monkeypatch.undo()
    small = run_study(
        EmbeddingSet(low_rank_vectors()), tmp_path / "t", methods=["svd"], dims=[4],
        bits=[32], limit=False, show_progress=False,
    )  # fmt: skip
    assert not any("seeded" in note for note in small.notes)


def test_codec_rotations_are_candidates_of_their_own(tmp_path):
    from embreduce.codecs import load_codec

    out = tmp_path / "s"
    rng = np.random.default_rng(5)
    X = (rng.normal(size=(300, 16)) * np.geomspace(8, 0.05, 16)).astype(np.float32)
    result = run_study(EmbeddingSet(X), out, methods=["pca"], dims=[8], bits=[8, 1],
                       rotations=["random", "itq"], budget=1, limit=False,
                       show_progress=False)  # fmt: skip
    names = {(r["method"], r["bits"]) for r in result.rows}
    assert {("pca+random", 1), ("pca+itq", 1), ("pca", 1), ("pca", 8)} <= names
    assert ("pca+itq", 8) not in names  # rotations are tried at 4 bits and fewer
    model = out / "models" / "pca-8"
    assert {"codec-1bit-random", "codec-1bit-itq"} <= {p.name for p in model.glob("codec-*")}
    rec = result.recommendation
    one_bit = [r for r in result.rows if r["split"] == "eval" and r["bits"] == 1]
    best = max(one_bit, key=lambda r: r["spearman"])
    assert rec["method"] == best["method"]  # within the 1-byte budget, the best 1-bit code
    rotation = rec["method"].partition("+")[2] or None
    assert load_codec(model).rotation == rotation  # the model's default is that codec
    with pytest.raises(ParameterError, match="rotations: unknown pca"):
        run_study(EmbeddingSet(X), tmp_path / "t", rotations=["pca"], show_progress=False)


def test_results_are_written_at_checkpoints_and_at_the_end(tmp_path, monkeypatch):
    import embreduce.study.run as run_module

    writes = []
    real = run_module.write_results

    def counted(folder, rows, k=10, **kwargs):
        writes.append(len(rows))
        return real(folder, rows, k, **kwargs)

    monkeypatch.setattr(run_module, "write_results", counted)
    monkeypatch.setattr(run_module, "CHECKPOINT_SECONDS", 3600.0)
    out = tmp_path / "s"
    run_study(EmbeddingSet(low_rank_vectors()), out, methods=["svd", "pca"], dims=[4, 8],
              bits=[32], limit=False, show_progress=False)  # fmt: skip
    assert writes == [0, 10]  # before the first cell, then once at the end: 5 cells x 2 rows
    assert len(load_study(out)["results"]["rows"]) == 10
    writes.clear()
    monkeypatch.setattr(run_module, "CHECKPOINT_SECONDS", 0.0)  # a checkpoint after each cell
    run_study(EmbeddingSet(low_rank_vectors()), out, methods=["svd", "pca"], dims=[4, 8],
              bits=[32], limit=False, show_progress=False, overwrite=True)  # fmt: skip
    assert writes == [0, 2, 4, 6, 8, 10, 10]


def test_a_small_study_runs_blas_on_one_thread_and_gives_it_back():
    from threadpoolctl import threadpool_info

    from embreduce.study.threads import SMALL_ROWS, thread_limits

    def blas_threads():
        return {p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"}

    before = blas_threads()
    with thread_limits(100, None):
        assert blas_threads() == {1}
    with thread_limits(SMALL_ROWS + 1, 2):
        assert blas_threads() == {2}
    assert blas_threads() == before
    import faiss  # FAISS's OpenMP pool, once loaded, follows threads too

    faiss_before = faiss.omp_get_max_threads()
    with thread_limits(100, 1):
        assert faiss.omp_get_max_threads() == 1
    assert faiss.omp_get_max_threads() == faiss_before
    with pytest.raises(ParameterError, match="threads"):
        with thread_limits(100, 0):
            pass


# Cells side by side: a small study runs one cell a thread; the results must not show it.


def test_cells_side_by_side_give_the_same_results_and_notes_in_the_same_order(tmp_path):
    vectors = low_rank_vectors(n=160)
    weights = np.linspace(0.5, 2.0, len(vectors))
    args = dict(methods=["pca", "svd", "random", "truncate"], dims=[4, 8], bits=[32, 8, 1],
                sample_weight=weights, show_progress=False)  # fmt: skip
    alone = run_study(EmbeddingSet(vectors), tmp_path / "alone", threads=1, **args)
    together = run_study(EmbeddingSet(vectors), tmp_path / "together", threads=2, **args)

    def without_timings(rows):
        return [{k: v for k, v in r.items() if not k.endswith("seconds")} for r in rows]

    assert without_timings(together.rows) == without_timings(alone.rows)
    assert together.notes == alone.notes and len(alone.notes) >= 2  # weights used/ignored
    assert together.recommendation == alone.recommendation
    with (
        open(tmp_path / "alone" / "results.csv") as a,
        open(tmp_path / "together" / "results.csv") as b,
    ):
        assert len(a.read().splitlines()) == len(b.read().splitlines())


def test_run_side_by_side_runs_items_at_once_and_keeps_the_finished_ones_on_an_error():
    import threading

    from embreduce.study.threads import run_side_by_side

    meet = threading.Barrier(2, timeout=10)  # passes only if two items run at the same time

    def work(item):
        if item in ("a", "fail"):
            meet.wait()  # both running at once, or the barrier times out
        if item == "fail":
            raise ValueError("this cell failed")
        return item.upper()

    assert sorted(run_side_by_side(str.upper, ["x", "y", "z"], 1)) == [(0, "X"), (1, "Y"), (2, "Z")]
    got = []
    with pytest.raises(ValueError, match="this cell failed"):
        for index, value in run_side_by_side(work, ["a", "fail", "c", "d"], 2):
            got.append((index, value))
    assert (0, "A") in got  # ran beside the failing one, finished, kept
    assert len(got) <= 3


@pytest.mark.parametrize("method, at_once", [("umap", 1), ("pca", 2)])
def test_a_reducer_that_is_not_thread_safe_runs_one_cell_at_a_time(
    tmp_path, monkeypatch, method, at_once
):
    """numba's fallback threading layer aborts when two threads launch UMAP's kernels at
    once: UMAP's cells wait for each other; other cells run side by side."""
    import threading
    import time

    from embreduce.reducers import get_spec, make_reducer

    cls = type(make_reducer(method, 2))
    lock, active, most = threading.Lock(), [0], [0]

    def fit_transform(self, X, y=None):
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        time.sleep(0.3)
        with lock:
            active[0] -= 1
        self.n_features_in_ = X.shape[1]
        return X[:, : self.n_components]

    monkeypatch.setattr(cls, "fit_transform", fit_transform)
    monkeypatch.setattr(cls, "transform", lambda self, X: X[:, : self.n_components])
    assert get_spec(method).thread_safe == (at_once > 1)
    run_study(EmbeddingSet(low_rank_vectors()), tmp_path / "s", methods=[method],
              dims=[2, 4, 8], bits=[32], limit=False, threads=2, show_progress=False)  # fmt: skip
    assert most[0] == at_once
