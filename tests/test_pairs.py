"""Labelled pairs: reading them, embedding them, and the study judged on them."""

from __future__ import annotations

import numpy as np
import pytest

from embreduce.exceptions import InputError
from embreduce.io import EmbeddingSet, read_pairs
from embreduce.metrics.pairs import pairs_spearman

PAIRS = [
    ("A man is playing a guitar.", "A man plays the guitar.", 4.8),
    ("A woman is slicing an onion.", "Someone is cutting an onion.", 4.2),
    ("A dog runs in the park.", "A cat sleeps on the sofa.", 0.8),
    ("The stock market fell today.", "Shares dropped sharply today.", 3.9),
    ("A child is eating pasta.", "A man is repairing a car.", 0.2),
    ("Two people are dancing.", "A couple dances together.", 4.5),
    ("The sky is blue.", "It is raining heavily.", 1.1),
    ("He is reading a book.", "A man reads a novel.", 3.6),
]


def test_pairs_spearman_equals_sentence_transformers_evaluator(minilm):
    try:  # sentence-transformers 5.x's path; the old one warns
        from sentence_transformers.sentence_transformer.evaluation import (
            EmbeddingSimilarityEvaluator,
        )
    except ImportError:
        from sentence_transformers.evaluation import EmbeddingSimilarityEvaluator

    first, second, scores = map(list, zip(*PAIRS, strict=True))
    evaluator = EmbeddingSimilarityEvaluator(first, second, scores, name="t")
    theirs = evaluator(minilm._model)  # the SentenceTransformer inside our Embedder
    key = next(k for k in theirs if k.endswith("spearman_cosine"))
    ours = pairs_spearman(minilm.encode(first), minilm.encode(second), scores)
    assert ours == pytest.approx(theirs[key] * 100, abs=1e-6)


def test_pairs_spearman_checks_shapes():
    with pytest.raises(InputError, match="shapes"):
        pairs_spearman(np.ones((3, 2)), np.ones((4, 2)), [1, 2, 3])
    with pytest.raises(InputError, match="scores of shape"):
        pairs_spearman(np.ones((3, 2)), np.ones((3, 2)), [1, 2])


def write_tsv(path, rows, header="sentence1\tsentence2\tscore"):
    path.write_text(header + "\n" + "".join("\t".join(map(str, r)) + "\n" for r in rows))
    return path


def test_read_pairs_of_a_tsv_with_quotes(tmp_path):
    rows = [*PAIRS[:3], ('He said "hi".', "A greeting.", 2.0)]
    pairs = read_pairs(write_tsv(tmp_path / "p.tsv", rows))
    assert pairs.first[3] == 'He said "hi".' and pairs.scores.tolist()[:2] == [4.8, 4.2]
    assert len(pairs) == 4


@pytest.mark.parametrize(
    ("header", "rows", "message"),
    [
        ("a\tb\tscore", PAIRS, "no column 'sentence1', 'sentence2' for the pairs (columns: a, b"),
        (None, [*PAIRS[:3], ("x", "y", "high")], "row 3: score 'high' is not a finite number"),
        (None, [*PAIRS[:3], ("x", " ", 1.0)], "row 3: the text in 'sentence2' is empty"),
        (None, PAIRS[:2], "2 pair(s); a rank correlation needs 3 or more"),
    ],
)
def test_bad_pairs_files_get_one_line(tmp_path, header, rows, message):
    path = write_tsv(tmp_path / "p.tsv", rows, *([header] if header else []))
    with pytest.raises(InputError) as info:
        read_pairs(path)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_study_with_pairs_ranks_by_them(tmp_path):
    from embreduce.study import PairVectors, run_study

    rng = np.random.default_rng(0)
    X = (rng.normal(size=(160, 6)) @ rng.normal(size=(6, 24))).astype(np.float32)
    first, second = X[:40] + 0.3 * rng.normal(size=(40, 24)), X[40:80]
    scores = np.einsum("ij,ij->i", first, second)  # a task the cosines roughly follow
    pairs = PairVectors(first.astype(np.float32), second, scores)
    result = run_study(EmbeddingSet(X), tmp_path / "s", methods=["svd"], dims=[4, 8],
                       bits=[32, 4], pairs=pairs, show_progress=False)  # fmt: skip
    assert result.rank_by == "pairs"
    # chosen on one seeded half of the pairs, reported on the other, disjoint half
    from embreduce.study.retrieval import split_halves

    halves = split_halves(40, 0)
    assert not set(halves["select"]) & set(halves["confirm"])
    held = halves["confirm"]
    full = next(r for r in result.rows if r["method"] == "original" and r["bits"] == 32)
    expected = pairs_spearman(first[held], second[held], scores[held])
    assert full["pairs_spearman"] == pytest.approx(expected)
    assert full["pairs_retained"] == pytest.approx(1.0)
    assert full["select_pairs_retained"] == pytest.approx(1.0)
    svd = next(r for r in result.rows if (r["method"], r["dim"], r["bits"]) == ("svd", 8, 4))
    assert svd["pairs_retained"] == pytest.approx(svd["pairs_spearman"] / full["pairs_spearman"])
    rec = result.recommendation
    assert rec["rank_by"] == "pairs"
    pick = next(
        r for r in result.rows
        if r["split"] == "eval" and (r["method"], r["dim"], r["codec"]) ==
        (rec["method"], rec["dim"], rec["codec"])
    )  # fmt: skip
    assert rec["retained"] == pick["pairs_retained"]  # what it quotes: the held-out half
    best = max(
        (
            r
            for r in result.rows
            if r["split"] == "eval" and r["method"] not in ("original", "limit")
        ),
        key=lambda r: r["select_pairs_retained"],
    )
    assert pick["select_pairs_retained"] >= best["select_pairs_retained"] - 0.01  # chosen there
    assert "of the original vectors' Spearman on held-out pairs" in rec["reason"]
    from embreduce.report import read_study
    from embreduce.report.study_report import bytes_chart

    chart = bytes_chart(read_study(tmp_path / "s"))  # quality is the pairs' retained share
    assert chart.layout.annotations[0].text == "share of the original Spearman on held-out pairs"


def test_study_cli_with_a_pairs_file(tmp_path, minilm):
    from typer.testing import CliRunner

    from embreduce.cli import app

    texts = tmp_path / "texts.txt"
    texts.write_text("\n".join(t for p in PAIRS for t in p[:2]) * 3)
    pairs = write_tsv(tmp_path / "p.tsv", PAIRS)
    out = tmp_path / "s"
    args = ["study", str(texts), "--methods", "svd", "--dims", "4", "--bits", "32,1",
            "--pairs", pairs, "--holdout", "0.5", "--k", "3", "-o", out, "-q"]  # fmt: skip
    args = [str(a) for a in args]
    result = CliRunner().invoke(app, [*args, "--no-report"])
    assert result.exit_code == 0, result.output
    assert "retained" in result.output and "your pairs' Spearman" in result.output
    bad = CliRunner().invoke(
        app, [*args[:-3], "--pair-columns", "a,b,c", "-o", str(tmp_path / "t")]
    )
    assert bad.exit_code == 1 and "no column 'a', 'b', 'c'" in bad.output
    assert not (tmp_path / "t").exists()
