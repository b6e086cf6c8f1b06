"""A study judged by search: BEIR files in, honest halves, re-scoring, one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from study_fixture import clustered_vectors
from typer.testing import CliRunner

from embreduce.cli import app
from embreduce.exceptions import InputError, ParameterError
from embreduce.io import EmbeddingSet, read_items
from embreduce.io.retrieval import read_id_texts, read_qrels
from embreduce.study import run_study
from embreduce.study.retrieval import QueryVectors, split_halves

runner = CliRunner()


def _corpus_and_queries(n: int = 400, d: int = 32, n_queries: int = 60, seed: int = 0):
    """Clustered unit vectors with ids; each query is a noisy copy of one document."""
    import pandas as pd

    X = clustered_vectors(n, d, seed=seed)
    rng = np.random.default_rng(seed)
    ids = [f"doc{i}" for i in range(n)]
    targets = rng.choice(n, n_queries, replace=False)
    Q = X[targets] + 0.3 * rng.normal(size=(n_queries, d)).astype(np.float32)
    qids = [f"q{i}" for i in range(n_queries)]
    qrels = {q: {ids[t]: 1.0} for q, t in zip(qids, targets, strict=True)}
    data = EmbeddingSet(X, metadata=pd.DataFrame({"_id": ids}), info={"model": "m"})
    return data, QueryVectors(Q.astype(np.float32), qids, qrels)


def test_split_halves_are_seeded_and_disjoint():
    a, b = split_halves(101, 3), split_halves(101, 3)
    assert all(np.array_equal(a[h], b[h]) for h in a)
    assert not set(a["select"]) & set(a["confirm"])
    assert len(a["select"]) + len(a["confirm"]) == 101
    assert not np.array_equal(split_halves(101, 4)["select"], a["select"])


@pytest.fixture(scope="module")
def retrieval_study(tmp_path_factory):
    data, queries = _corpus_and_queries()
    out = tmp_path_factory.mktemp("retrieval") / "study"
    result = run_study(
        data,
        out,
        queries=queries,
        methods=["pca"],
        dims=[8, 16],
        bits=[32, 4, 1],
        quantizers=["pq"],
        budgets=[4, 8],
        limit=False,
        show_progress=False,
    )
    return result, out


def test_every_candidate_is_judged_by_search_on_held_out_queries(retrieval_study):
    result, out = retrieval_study
    assert result.rank_by == "retrieval"
    rows = [r for r in result.rows if r["split"] == "eval"]
    names = {r["method"] for r in rows}
    assert {"pca", "pca+pq4", "pca+pq8", "original"} <= names
    original = next(r for r in rows if r["method"] == "original" and r["bits"] == 32)
    assert original["retrieval_retained"] == pytest.approx(1.0)  # float32 against itself
    assert original["select_retrieval_retained"] == pytest.approx(1.0)
    for r in rows:
        for o in (2, 4, 10):  # re-scoring with float32 vectors
            assert 0 <= r[f"ndcg_at_10_x{o}"] <= 1
        assert r["n_queries"] == 30  # the confirmation half
    pq = next(r for r in rows if r["method"] == "pca+pq4")
    assert pq["bytes"] == 4 and pq["compare"] == "asymmetric l2; symmetric l2"
    one_bit = next(r for r in rows if r["method"] == "pca" and r["bits"] == 1)
    assert one_bit["compare"].endswith("symmetric hamming")
    header = (out / "results.csv").read_text("utf-8").splitlines()[0].split(",")
    assert {"ndcg_at_10", "recall_at_100", "select_retrieval_retained"} <= set(header)


def test_the_recommendation_is_chosen_on_one_half_and_reported_on_the_other(retrieval_study):
    result, out = retrieval_study
    rec = result.recommendation
    pick = next(
        r
        for r in result.rows
        if r["split"] == "eval"
        and r["method"] == rec["method"]
        and r["codec"] == rec["codec"]
        and r["dim"] == rec["dim"]
    )
    assert rec["retained"] == pick["retrieval_retained"]  # the confirmation half
    assert rec["selection_retained"] == pick["select_retrieval_retained"]
    assert "held-out queries" in rec["reason"]
    best = max(
        (r for r in result.rows if r["split"] == "eval" and not r["method"] == "original"),
        key=lambda r: r["select_retrieval_retained"],
    )
    assert pick["select_retrieval_retained"] >= best["select_retrieval_retained"] - 0.01
    study = json.loads((out / "study.json").read_text("utf-8"))
    halves = study["settings"]["retrieval"]
    assert halves["select_queries"] + halves["confirm_queries"] == 60


def test_asymmetric_scores_are_faiss_own_search():
    import faiss

    from embreduce.codecs import FaissCodec
    from embreduce.metrics.retrieval import l2_bias, search

    X = clustered_vectors(600, 32, seed=1)
    codec = FaissCodec("pq", 8).fit(X)
    index = faiss.IndexPQ(32, 8, 8, faiss.METRIC_L2)
    index.pq = faiss.downcast_index(codec._faiss_index()).pq
    index.is_trained = True
    index.add(X / np.linalg.norm(X, axis=1, keepdims=True))
    Q = clustered_vectors(20, 32, seed=2)  # unit rows
    D, ids = index.search(Q, 10)
    decoded = codec.decode(codec.encode(X))
    ours_ids, ours = search(Q, decoded, 10, bias=l2_bias(decoded))
    np.testing.assert_allclose(ours, 1 - D / 2, rtol=1e-4, atol=1e-5)
    assert (ours_ids == ids).mean() > 0.95  # the same hits, ties aside


def test_bad_queries_are_refused_before_any_work(tmp_path):
    data, queries = _corpus_and_queries(n=200)
    bad = QueryVectors(queries.vectors, queries.ids, {"q0": {"nope": 1.0}})
    with pytest.raises(InputError, match="corpus id"):
        run_study(data, tmp_path / "a", queries=bad, methods=["pca"], dims=[8], limit=False)
    assert not (tmp_path / "a").exists()
    with pytest.raises(InputError, match="dims"):
        narrow = QueryVectors(queries.vectors[:, :8], queries.ids, queries.qrels)
        run_study(data, tmp_path / "b", queries=narrow, methods=["pca"], dims=[8], limit=False)
    with pytest.raises(ParameterError, match="needs queries"):
        run_study(data, tmp_path / "c", methods=["pca"], dims=[8], rank_by="retrieval")
    with pytest.raises(ParameterError, match="quantizers"):
        run_study(data, tmp_path / "d", methods=["pca"], dims=[8], quantizers=["zz"])
    with pytest.raises(InputError, match="no FAISS codec of pq fits the budgets 7"):
        run_study(data, tmp_path / "e", methods=["pca"], dims=[8], quantizers=["pq"], budgets=[7])
    assert not any((tmp_path / name).exists() for name in "abcde")


def test_queries_without_qrels_are_judged_against_the_exact_neighbours(tmp_path):
    data, queries = _corpus_and_queries(n=200)
    result = run_study(
        EmbeddingSet(data.vectors),  # no ids needed without qrels
        tmp_path / "s",
        queries=QueryVectors(queries.vectors, queries.ids),
        methods=["pca"],
        dims=[8],
        bits=[32],
        limit=False,
        show_progress=False,
    )
    original = next(r for r in result.rows if r["method"] == "original" and r["split"] == "eval")
    assert original["query_recall_at_10"] == 1.0
    pca = next(r for r in result.rows if r["method"] == "pca" and r["split"] == "eval")
    assert 0 < pca["query_recall_at_10"] < 1


# ---------------------------------------------------------------- files in the BEIR layout


def _beir_files(folder, n_docs=120):
    folder.mkdir(parents=True, exist_ok=True)
    docs = [
        {"_id": f"d{i}", "title": f"Title {i % 7}", "text": f"document {i} about {i % 5}"}
        for i in range(n_docs)
    ]
    (folder / "corpus.jsonl").write_text(
        "\n".join(json.dumps({**d, "metadata": {}}) for d in docs), "utf-8"
    )
    queries = [{"_id": f"q{i}", "text": f"about {i % 5} document {i}"} for i in range(20)]
    (folder / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in queries), "utf-8")
    lines = ["query-id\tcorpus-id\tscore"] + [f"q{i}\td{i}\t1" for i in range(20)]
    (folder / "qrels.tsv").write_text("\n".join(lines), "utf-8")
    return folder


def test_beir_files_read_as_beir_reads_them(tmp_path):
    folder = _beir_files(tmp_path / "beir")
    items = read_items(folder / "corpus.jsonl")
    assert items.texts[3] == "Title 3 document 3 about 3"  # title and text, one space
    assert items.metadata["_id"].tolist()[:2] == ["d0", "d1"]
    ids, texts = read_id_texts(folder / "queries.jsonl", join_title=False)
    assert ids[0] == "q0" and texts[0] == "about 0 document 0"
    assert read_qrels(folder / "qrels.tsv")["q3"] == {"d3": 1.0}
    (tmp_path / "noheader.tsv").write_text("q1\td1\t2\nq1\td2\t0\n", "utf-8")
    assert read_qrels(tmp_path / "noheader.tsv") == {"q1": {"d1": 2.0, "d2": 0.0}}
    (tmp_path / "trec.txt").write_text("q1 0 d1 1\n", "utf-8")
    assert read_qrels(tmp_path / "trec.txt") == {"q1": {"d1": 1.0}}


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("empty.tsv", "", "empty"),
        ("header.tsv", "query-id\tcorpus-id\tscore\n", "no judgements"),
        ("score.tsv", "q1\td1\t1\nq1\td2\thigh\n", "not a number"),
        ("twice.tsv", "q1\td1\t1\nq1\td1\t2\n", "twice"),
        ("ragged.tsv", "q1\td1\n", "three columns"),
    ],
)
def test_bad_qrels_are_one_line(tmp_path, name, content, message):
    (tmp_path / name).write_text(content, "utf-8")
    with pytest.raises(InputError, match=message):
        read_qrels(tmp_path / name)


@pytest.mark.parametrize(
    "lines, message",
    [
        (['{"_id": "a", "text": "x"}', '{"_id": "a", "text": "y"}'], "more than once"),
        (['{"_id": "a", "text": ""}'], "no text"),
        (['{"_id": "a"}'], "no 'text' column"),
        (['{"text": "x"}'], "no id column"),
        (["not json"], "not JSON"),
    ],
)
def test_bad_queries_files_are_one_line(tmp_path, lines, message):
    (tmp_path / "q.jsonl").write_text("\n".join(lines), "utf-8")
    with pytest.raises(InputError, match=message):
        read_id_texts(tmp_path / "q.jsonl")


def test_cli_study_of_a_beir_folder(tmp_path):
    folder = _beir_files(tmp_path / "beir")
    out = tmp_path / "study"
    args = ["study", folder / "corpus.jsonl", "--queries", folder / "queries.jsonl"]
    args += ["--qrels", folder / "qrels.tsv", "--methods", "pca", "--dims", "8"]
    args += ["--bits", "32,1", "--no-limit", "--no-report"]  # the packaged model
    args += ["-o", out, "--quiet"]
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    assert "held-out queries" in " ".join(result.output.split())  # rich wraps lines
    header = (out / "results.csv").read_text("utf-8").splitlines()[0]
    assert "ndcg_at_10" in header
    study = json.loads((out / "study.json").read_text("utf-8"))
    assert study["settings"]["qrels_file"].endswith("qrels.tsv")
    # qrels naming a document the corpus lacks: one line, exit 1, no study folder
    (folder / "bad.tsv").write_text("q1\tmissing\t1\n", "utf-8")
    args[args.index(folder / "qrels.tsv")] = folder / "bad.tsv"
    args[args.index(out)] = tmp_path / "bad-study"
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 1
    assert "corpus id" in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert not (tmp_path / "bad-study").exists()


def test_the_report_charts_search_quality_against_bytes(retrieval_study):
    from embreduce.report import read_study, write_report
    from embreduce.report.study_report import bytes_chart

    _, out = retrieval_study
    chart = bytes_chart(read_study(out))
    titles = [a.text for a in chart.layout.annotations]
    assert titles[0].startswith("search kept, held-out queries")
    assert "re-scored x4 with float32" in titles
    pq = next(t for t in chart.data if t.name and "pq4" in t.name)  # FAISS rows are drawn
    assert len(pq.x) >= 1
    page = write_report(out, overwrite=True).read_text("utf-8")
    assert "nDCG@10" in page and "kept, selection half" in page  # the table's columns


def test_the_recommendation_names_a_smaller_code_with_re_scoring(retrieval_study):
    result, _ = retrieval_study
    rec = result.recommendation
    held_out = [
        r
        for r in result.rows
        if r["split"] == "eval" and not (r["method"] == "original" and r["bits"] == 32)
    ]
    reaching = [
        (r["bytes"], o, r)
        for r in held_out
        for o in (2, 4, 10)
        if r[f"select_retrieval_retained_x{o}"] >= 0.99
    ]
    size, factor, row = min(reaching, key=lambda t: (t[0], t[1]))
    assert size < rec["bytes"]  # this study's re-scored codes beat its first-pass pick
    assert rec["with_rescoring"]["bytes"] == size
    assert rec["with_rescoring"]["oversample"] == factor
    assert rec["with_rescoring"]["retained"] == row[f"retrieval_retained_x{factor}"]
    assert f"re-scored x{factor}" in rec["reason"]
