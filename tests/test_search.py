"""`embreduce index` / `search`: a plain FAISS index that FAISS alone can search."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from study_fixture import clustered_vectors
from typer.testing import CliRunner

from embreduce.cli import app
from embreduce.codecs import FaissCodec, QuantizationCodec, save_model_codec
from embreduce.exceptions import InputError, OutputError, ParameterError
from embreduce.io import EmbeddingSet, save_vectors
from embreduce.reducers import load_reducer, make_reducer, save_reducer
from embreduce.search import SearchIndex, build_index

runner = CliRunner()

PLAIN_FAISS = """
import sys
sys.modules["embreduce"] = None  # FAISS alone: embreduce must not be importable here
try:
    import embreduce  # noqa
    raise SystemExit("embreduce imported")
except ImportError:
    pass
import faiss, json, numpy as np
index = faiss.read_index(sys.argv[1])
Q = np.load(sys.argv[2])
D, I = index.search(Q, 10)
print(json.dumps({"ids": I.tolist(), "scores": D.tolist()}))
"""


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A model folder (PCA-16 with FAISS PQ8 and RQ4 codecs and a 4-bit codec), and vectors
    with ids."""
    folder = tmp_path_factory.mktemp("search")
    X = clustered_vectors(800, 32, seed=3)
    ids = [f"doc-{i}" for i in range(len(X))]
    data = EmbeddingSet(X, texts=[f"text {i}" for i in range(len(X))],
                        metadata=pd.DataFrame({"_id": ids}), info={"model": "m"})  # fmt: skip
    save_vectors(folder / "corpus.parquet", data)
    reducer = make_reducer("pca", 16, random_state=0).fit(X)
    model = folder / "pca-16"
    save_reducer(reducer, model)
    save_model_codec(model, FaissCodec("pq", 8).fit(reducer.transform(X)))
    save_model_codec(model, FaissCodec("rq", 4).fit(reducer.transform(X)))
    save_model_codec(model, QuantizationCodec(bits=4).fit(reducer.transform(X)))
    return folder, X, ids, model


def _unit(X):
    return X / np.linalg.norm(X, axis=1, keepdims=True)


@pytest.mark.parametrize("codec_id", ["faiss-pq8", "faiss-rq4"])
def test_plain_faiss_searches_the_index_as_embreduce_and_numpy_do(corpus, tmp_path, codec_id):
    folder, X, ids, model = corpus
    files = build_index(folder / "corpus.parquet", model, tmp_path / "c.faiss", codec=codec_id)
    Q = clustered_vectors(25, 32, seed=4)
    np.save(tmp_path / "q.npy", Q)
    proc = subprocess.run(
        [sys.executable, "-c", PLAIN_FAISS, str(files.index), str(tmp_path / "q.npy")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    plain = json.loads(proc.stdout)
    found = SearchIndex.load(files.index)
    hits, scores = found.search(Q, 10)
    assert hits == [[ids[i] for i in row] for row in plain["ids"]]
    # FAISS gives squared L2 distances of unit vectors; embreduce the score 1 - d / 2
    np.testing.assert_allclose(scores, 1 - np.array(plain["scores"]) / 2, rtol=1e-5, atol=1e-6)
    # NumPy brute force over the decoded codes: the study's asymmetric score
    reducer = load_reducer(model)
    from embreduce.codecs import load_model_codec

    codec = load_model_codec(model, codec=codec_id)
    decoded = codec.quantize(reducer.transform(X))
    brute = 1 - ((_unit(reducer.transform(Q))[:, None] - decoded[None]) ** 2).sum(-1) / 2
    top = np.argsort(-brute, axis=1, kind="stable")[:, :10]
    np.testing.assert_allclose(np.take_along_axis(brute, top, 1), scores, rtol=1e-4, atol=1e-5)
    assert (np.array([[ids.index(h) for h in row] for row in hits]) == top).mean() > 0.97
    facts = json.loads(files.sidecar.read_text("utf-8"))
    assert facts["codec"] == codec_id and facts["code_bytes"] == codec.bytes_per_vector()
    norm = 4 if codec_id.startswith("faiss-rq") else 0  # a residual code's norm, a float
    assert facts["bytes_per_vector"] == codec.bytes_per_vector() + norm
    assert facts["metric"] == "l2"
    assert facts["embedding_model"] == "m"


def test_residual_codes_search_the_same_with_their_norms_stored_or_computed(corpus, tmp_path):
    folder, X, ids, model = corpus
    stored = build_index(folder / "corpus.parquet", model, tmp_path / "s.faiss", codec="faiss-rq4")
    computed = build_index(folder / "corpus.parquet", model, tmp_path / "c.faiss",
                           codec="faiss-rq4", rq_norm="codebooks")  # fmt: skip
    assert (stored.facts["bytes_per_vector"], computed.facts["bytes_per_vector"]) == (8, 4)
    Q = clustered_vectors(30, 32, seed=8)
    a, b = (
        SearchIndex.load(stored.index).search(Q, 10),
        SearchIndex.load(computed.index).search(Q, 10),
    )
    assert a[0] == b[0]
    np.testing.assert_allclose(a[1], b[1], atol=1e-5)
    with pytest.raises(ParameterError, match="rq_norm"):
        build_index(folder / "corpus.parquet", model, tmp_path / "x.faiss", codec="faiss-rq4",
                    rq_norm="qint8")  # fmt: skip


def test_a_float32_index_is_the_exact_cosine_search(corpus, tmp_path):
    folder, X, ids, model = corpus
    files = build_index(folder / "corpus.parquet", model, tmp_path / "f.faiss", codec="none")
    Q = clustered_vectors(10, 32, seed=5)
    hits, scores = SearchIndex.load(files.index).search(Q, 5)
    reduced = _unit(load_reducer(model).transform(X))
    exact = _unit(load_reducer(model).transform(Q)) @ reduced.T
    top = np.argsort(-exact, axis=1, kind="stable")[:, :5]
    assert hits == [[ids[i] for i in row] for row in top]
    np.testing.assert_allclose(scores, np.take_along_axis(exact, top, 1), rtol=1e-5)


def test_re_scoring_with_the_kept_vectors_recovers_the_exact_top(corpus, tmp_path):
    folder, X, ids, model = corpus
    out = tmp_path / "r.faiss"
    build_index(folder / "corpus.parquet", model, out, codec="faiss-pq8", refine="float32")
    found = SearchIndex.load(out)
    Q = clustered_vectors(20, 32, seed=6)
    exact = np.argsort(-(_unit(Q) @ _unit(X).T), axis=1, kind="stable")[:, :5]
    rescored, _ = found.search(Q, 5, oversample=len(X) // 5)  # every row re-scored
    assert rescored == [[ids[i] for i in row] for row in exact]
    first, _ = found.search(Q, 5)
    assert first != rescored  # the codes alone do not give the exact order here


def test_codes_with_no_exact_faiss_form_are_refused(corpus, tmp_path):
    folder, _, _, model = corpus
    with pytest.raises(InputError, match="no exact FAISS form"):
        build_index(folder / "corpus.parquet", model, tmp_path / "s.faiss", codec="4bit")
    assert not list(tmp_path.iterdir())


def test_a_reducer_that_is_not_linear_is_refused(corpus, tmp_path):
    folder, X, _, _ = corpus
    mlp = make_reducer("encoder-mlp", 8, max_epochs=2, hidden_layers=(16,)).fit(X)
    model = save_reducer(mlp, tmp_path / "mlp-8")
    with pytest.raises(InputError, match="the encoder-mlp reducer is not linear"):
        build_index(folder / "corpus.parquet", model, tmp_path / "m.faiss")
    assert not (tmp_path / "m.faiss").exists()


def test_the_sidecar_names_the_reducer_by_its_registry_name(corpus, tmp_path):
    folder, _, _, model = corpus
    build_index(folder / "corpus.parquet", model, tmp_path / "p.faiss", codec="faiss-pq8")
    assert json.loads((tmp_path / "p.faiss.json").read_text())["reducer"] == "pca"


def test_rabitq_is_refused_since_faiss_searches_it_otherwise_than_the_study_judged(
    corpus, tmp_path
):
    folder, X, _, _ = corpus
    reducer = make_reducer("pca", 16, random_state=0).fit(X)
    model = tmp_path / "pca-16"
    save_reducer(reducer, model)
    codec = FaissCodec("rabitq").fit(reducer.transform(X))
    save_model_codec(model, codec)
    R, Q = _unit(reducer.transform(X)), _unit(reducer.transform(X[:20] + 0.1))
    import faiss

    index = faiss.deserialize_index(codec.index_)
    index.add(R)
    faiss_top = index.search(Q, 10)[1]
    judged_top = np.argsort(-(Q @ codec.decode(codec.encode(R)).T), axis=1)[:, :10]
    assert (faiss_top != judged_top).any()  # FAISS estimates; the study scored decoded codes
    with pytest.raises(InputError, match="RaBitQ"):
        build_index(folder / "corpus.parquet", model, tmp_path / "r.faiss", codec="faiss-rabitq")
    assert not (tmp_path / "r.faiss").exists()


def test_bad_indexes_and_queries_are_one_line(corpus, tmp_path):
    folder, X, _, model = corpus
    files = build_index(folder / "corpus.parquet", model, tmp_path / "c.faiss", codec="faiss-pq8")
    found = SearchIndex.load(files.index)
    with pytest.raises(InputError, match="more than the 800"):
        found.search(X[:2], 801)
    with pytest.raises(InputError, match="dims"):
        found.search(X[:2, :8], 3)
    with pytest.raises(InputError, match="embedded with other"):
        found.query_vectors(X[:2], model="other")
    with pytest.raises(OutputError, match="exists"):
        build_index(folder / "corpus.parquet", model, files.index, codec="faiss-pq8")
    (tmp_path / "junk.faiss").write_bytes(b"not an index")
    with pytest.raises(InputError, match="sidecar"):
        SearchIndex.load(tmp_path / "junk.faiss")
    files.index.write_bytes(files.index.read_bytes()[:-8] + b"\0" * 8)  # changed after build
    with pytest.raises(InputError, match="not the one"):
        SearchIndex.load(files.index)
    twice = EmbeddingSet(X[:4], metadata=pd.DataFrame({"_id": ["a", "b", "a", "c"]}))
    save_vectors(tmp_path / "twice.parquet", twice)
    with pytest.raises(InputError, match="more than once"):
        build_index(tmp_path / "twice.parquet", model, tmp_path / "t.faiss", codec="none")
    assert not (tmp_path / "t.faiss").exists()


def test_cli_index_of_a_study_and_search_with_qrels_equal_the_study(tmp_path):
    from test_retrieval_study import _corpus_and_queries

    from embreduce.study import run_study

    data, queries = _corpus_and_queries()
    study = tmp_path / "study"
    result = run_study(data, study, queries=queries, methods=["pca"], dims=[16], bits=[32],
                       quantizers=["pq"], budgets=[8], budget=8, limit=False,
                       show_progress=False)  # fmt: skip
    save_vectors(tmp_path / "corpus.parquet", data)
    rec = result.recommendation
    args = ["index", tmp_path / "corpus.parquet", "--study", study, "-o", tmp_path / "c.faiss"]
    out = runner.invoke(app, [str(a) for a in args])
    assert rec["codec"] == "faiss:nbytes=8" and rec["bytes"] == 8  # the only code within 8 B
    assert out.exit_code == 0, out.output
    assert "faiss-pq8 (8 bytes a vector)" in " ".join(out.output.split())
    # the confirmation half's queries and qrels: search --qrels equals the study's figure
    confirm = result.retrieval.halves["confirm"]
    judged = result.retrieval.judged
    qids = [judged.query_ids[i] for i in confirm]
    lines = ["query-id\tcorpus-id\tscore"]
    lines += [f"{q}\t{d}\t{int(g)}" for q in qids for d, g in queries.qrels[q].items()]
    (tmp_path / "qrels.tsv").write_text("\n".join(lines), "utf-8")
    q = EmbeddingSet(queries.vectors, metadata=pd.DataFrame({"_id": queries.ids}),
                     info={"model": "m"})  # fmt: skip
    save_vectors(tmp_path / "queries.npz", q)
    args = ["search", tmp_path / "c.faiss", "--queries", tmp_path / "queries.npz"]
    args += ["--qrels", tmp_path / "qrels.tsv", "-o", tmp_path / "hits.jsonl"]
    out = runner.invoke(app, [str(a) for a in args])
    assert out.exit_code == 0, out.output
    pick = next(
        r for r in result.rows
        if r["split"] == "eval" and (r["method"], r["dim"], r["codec"]) ==
        (rec["method"], rec["dim"], rec["codec"])
    )  # fmt: skip
    assert f"nDCG@10 {pick['ndcg_at_10']:.4f}, recall@100 {pick['recall_at_100']:.4f}" in out.output
    hits = [json.loads(line) for line in (tmp_path / "hits.jsonl").read_text().splitlines()]
    assert len(hits) == 10 * len(queries.ids) and hits[0]["rank"] == 1


def test_texts_from_study_to_query(tmp_path):
    """corpus.jsonl -> study (pca-8, float32 picked) -> index of the texts -> a text query."""
    from test_retrieval_study import _beir_files

    folder = _beir_files(tmp_path / "beir")
    study = tmp_path / "study"
    args = ["study", folder / "corpus.jsonl", "--queries", folder / "queries.jsonl"]
    args += ["--qrels", folder / "qrels.tsv", "--methods", "pca", "--dims", "8", "--bits", "32"]
    args += ["--no-limit", "--no-report", "--budget", "32", "-o", study, "--quiet"]
    out = runner.invoke(app, [str(a) for a in args])
    assert out.exit_code == 0, out.output
    index = tmp_path / "corpus.faiss"
    out = runner.invoke(app, ["index", str(folder / "corpus.jsonl"), "--study", str(study),
                              "-o", str(index), "-q"])  # fmt: skip
    assert out.exit_code == 0, out.output
    found = SearchIndex.load(index)
    assert (
        found.facts["embedding_model"]
        == json.loads((study / "study.json").read_text("utf-8"))["data"]["model"]
    )
    assert found.texts[5] == "Title 5 document 5 about 0"
    out = runner.invoke(app, ["search", str(index), "document 7 about 2", "-k", "3"])
    assert out.exit_code == 0, out.output
    assert "d7" in out.output  # the document the query names comes back


@pytest.mark.parametrize("codec", ["faiss-pq8", "faiss-rq4", "none"])
def test_inverted_lists_keep_the_flat_codes_and_hits(corpus, tmp_path, codec):
    folder, X, _, model = corpus
    flat = build_index(folder / "corpus.parquet", model, tmp_path / "f.faiss", codec=codec)
    ivf = build_index(folder / "corpus.parquet", model, tmp_path / "i.faiss", codec=codec, ivf=8)
    assert ivf.facts["ivf"] == 8
    Q = clustered_vectors(30, 32, seed=7)
    exact = SearchIndex.load(flat.index).search(Q, 10)
    found = SearchIndex.load(ivf.index)
    every_list = found.search(Q, 10, nprobe=8)
    assert every_list[0] == exact[0]
    np.testing.assert_allclose(every_list[1], exact[1], rtol=1e-6)
    one_list = found.search(Q, 10, nprobe=1)[0]
    overlap = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(one_list, exact[0], strict=True)])
    assert 0.3 < overlap < 1  # a narrower scan: most, not all, of the flat top 10
    with pytest.raises(InputError, match="ivf 1000"):
        build_index(folder / "corpus.parquet", model, tmp_path / "x.faiss", codec=codec,
                    ivf=1000)  # fmt: skip


def test_documents_that_tie_come_back_by_row(tmp_path):
    """Thirty copies of one vector tie: the first k by row come back, as the study orders them."""
    X = clustered_vectors(300, 16, seed=8)
    twin = X[7].copy()
    rows = np.sort(np.random.default_rng(0).choice(300, 30, replace=False))
    X[rows] = twin
    save_vectors(tmp_path / "c.npy", X)
    model = tmp_path / "id"
    save_reducer(make_reducer("truncate", 16).fit(X), model)
    files = build_index(tmp_path / "c.npy", model, tmp_path / "c.faiss", codec="none")
    hits, scores = SearchIndex.load(files.index).search(twin[None, :], 5)
    tied = np.union1d(rows, [7])  # row 7 is the vector itself
    assert hits[0] == [str(r) for r in tied[:5]]
    assert len(set(scores[0].tolist())) == 1


def test_ties_cut_by_faiss_are_searched_again_deeper():
    """An index that cuts ties the other way (highest row first) still yields rows in order."""

    class TiesBackwards:
        ntotal, metric_type = 40, 0  # faiss.METRIC_INNER_PRODUCT
        scores = np.where(np.arange(40) % 3 == 0, 1.0, 0.5).astype(np.float32)  # 14 tie at 1

        def search(self, Q, depth):
            order = sorted(range(self.ntotal), key=lambda r: (-self.scores[r], -r))[:depth]
            rows = np.array([order] * len(Q))
            return self.scores[rows], rows

    found = SearchIndex(TiesBackwards(), [str(i) for i in range(40)], None, {"input_dim": 2})
    rows, scores = found.search_rows(np.ones((2, 2), np.float32), 5)
    assert rows.tolist() == [[0, 3, 6, 9, 12]] * 2
    assert (scores == 1.0).all()


def test_export_carries_a_faiss_codec(tmp_path):
    """`export --codec faiss-pq8`: the codec travels, and its README says how FAISS scores it."""
    from embreduce.codecs import load_codec, load_model_codec
    from embreduce.export import export_model

    X = clustered_vectors(400, 384, seed=9)  # the packaged model's width
    model = tmp_path / "pca-32"
    save_reducer(make_reducer("pca", 32, random_state=0).fit(X), model)
    reduced = load_reducer(model).transform(X)
    save_model_codec(model, FaissCodec("pq", 8).fit(reduced))
    out = export_model(model, tmp_path / "st", codec="faiss-pq8")
    codec = load_codec(out / "codec")
    saved = load_model_codec(model, codec="faiss-pq8")
    np.testing.assert_array_equal(codec.encode(reduced), saved.encode(reduced))
    assert "compare codes by 1 - |q - v|^2 / 2" in (out / "README.md").read_text("utf-8")
