"""``embreduce index`` and ``embreduce search``: a plain FAISS index of a corpus, searched."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from embreduce.cli.app import app, console, user_errors
from embreduce.cli.options import (
    EngineOpt,
    KeepSelfOpt,
    OverwriteOpt,
    QuietOpt,
    SchedulerOpt,
    WorkersOpt,
)

IndexOutOpt = Annotated[
    Path, typer.Option("--output", "-o", help="The index file to write (.faiss).")
]
IndexModelOpt = Annotated[
    Path | None,
    typer.Option("--model", "-m", help="A model folder saved by study (its linear reducer)."),
]
StudyDirOpt = Annotated[
    Path | None,
    typer.Option("--study", help="A study folder: index with its recommended model and codec."),
]
IndexCodecOpt = Annotated[
    str | None,
    typer.Option(
        "--codec",
        help="A codec saved beside the model, by folder id (faiss-rq16, faiss-sq8...), or "
        "none for float32; default the model's default codec.",
    ),
]
IvfOpt = Annotated[
    int | None,
    typer.Option(
        "--ivf",
        help="Inverted lists over the same codes (FAISS IndexIVF*), this many: a search visits "
        "--nprobe of them.",
    ),
]
RefineOpt = Annotated[
    str,
    typer.Option(
        "--refine",
        help="Keep the float vectors on disk to re-score candidates: none, float16, float32.",
    ),
]

RqNormOpt = Annotated[
    str,
    typer.Option(
        "--rq-norm",
        help="Residual (RQ) codes: store each code's norm as a float (4 bytes more, ~20x faster "
        "search) or compute it from the codebooks: float, codebooks.",
    ),
]


@app.command()
@user_errors
def index(
    corpus: Annotated[
        Path,
        typer.Argument(
            metavar="CORPUS",
            help="Vectors (.npy/.npz/.parquet) or texts; a folder of Parquet files with "
            "--engine dask.",
        ),
    ],
    output: IndexOutOpt,
    model: IndexModelOpt = None,
    study: StudyDirOpt = None,
    codec: IndexCodecOpt = None,
    refine: RefineOpt = "none",
    ivf: IvfOpt = None,
    rq_norm: RqNormOpt = "float",
    engine: EngineOpt = "local",
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = 2,
    overwrite: OverwriteOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Encode a corpus (vectors, or texts embedded first) into a plain FAISS index.

    faiss.read_index opens it; texts are embedded with the study's model (--study), else
    all-MiniLM-L6-v2.

    Example:

      embreduce index corpus.npz --study out/search -o corpus.faiss --refine float16
    """
    from embreduce.search.build import build_index
    from embreduce.search.files import recommended_model

    model, codec, picked = recommended_model(model, study, codec)
    files = build_index(
        corpus,
        model,
        output,
        codec=codec,
        refine=refine,
        study=picked,
        embedding_model=(picked or {}).get("model"),
        ivf=ivf,
        rq_norm=rq_norm,
        engine=getattr(engine, "value", engine),
        scheduler=scheduler,
        workers=workers,
        overwrite=overwrite,
        show_progress=not quiet,
    )
    facts = files.facts
    console.print(
        f"Indexed {files.n:,} vectors: {facts['reducer']} {facts['input_dim']} -> "
        f"{facts['dim']} dims, {facts['codec']} ({facts['bytes_per_vector']} bytes a vector)"
    )
    if facts.get("code_bytes") and facts["code_bytes"] != facts["bytes_per_vector"]:
        console.print(
            f"Each {facts['code_bytes']}-byte code is stored with its norm as a float, for the "
            "L2 search's look-up tables (--rq-norm codebooks: no extra bytes, ~20x slower)"
        )
    console.print(f"Wrote {files.index}, {files.ids.name}, {files.sidecar.name}", highlight=False)


QueryArg = Annotated[str | None, typer.Argument(help="A query text.")]
QueriesFileOpt = Annotated[
    Path | None,
    typer.Option("--queries", help="Queries (BEIR queries.jsonl, a table, or vectors with ids)."),
]
QrelsFileOpt = Annotated[
    Path | None,
    typer.Option("--qrels", help="Judgements for --queries: print nDCG@10 and recall@100."),
]
HitsOutOpt = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        help="Write the hits of --queries (.jsonl: query_id, rank, doc_id, score).",
    ),
]
TopKOpt = Annotated[int, typer.Option("-k", help="Hits a query.")]
SearchOversampleOpt = Annotated[
    int,
    typer.Option(
        "--oversample", help="Re-score k x this many hits (an index built with --refine)."
    ),
]


@app.command()
@user_errors
def search(
    index_path: Annotated[
        Path, typer.Argument(metavar="INDEX", help="An index from `embreduce index`.")
    ],
    query: QueryArg = None,
    queries: QueriesFileOpt = None,
    qrels: QrelsFileOpt = None,
    output: HitsOutOpt = None,
    k: TopKOpt = 10,
    oversample: SearchOversampleOpt = 1,
    nprobe: Annotated[
        int | None, typer.Option("--nprobe", help="Inverted lists a query visits (--ivf).")
    ] = None,
    drop_self: KeepSelfOpt = True,
    overwrite: OverwriteOpt = False,
) -> None:
    """Search an index with a query text, or a file of queries (scored with --qrels).

    Examples:

      embreduce search corpus.faiss "how do vaccines work" -k 5

      embreduce search corpus.faiss --queries queries.jsonl --qrels qrels.tsv -o hits.jsonl
    """
    from embreduce.exceptions import ParameterError
    from embreduce.search.files import run_queries
    from embreduce.search.index import SearchIndex

    if (query is None) == (queries is None):
        raise ParameterError("give one query text, or --queries FILE")
    found = SearchIndex.load(index_path)
    if query is not None:
        ids, scores = found.search([query], k, oversample=oversample, nprobe=nprobe)
        _print_hits(found, ids[0], scores[0])
        return
    found.set_nprobe(nprobe)
    report = run_queries(
        found, queries, qrels, k=k, oversample=oversample, drop_self=drop_self,
        output=output, overwrite=overwrite,
    )  # fmt: skip
    for line in report:
        console.print(line, highlight=False)


def _print_hits(found, ids, scores) -> None:
    from rich.table import Table

    table = Table(header_style="bold")
    for col in ("rank", "id", "score", "text"):
        table.add_column(col, justify="right" if col in ("rank", "score") else "left")
    texts = dict(zip(found.ids, found.texts, strict=True)) if found.texts else {}
    for rank, (doc, score) in enumerate(zip(ids, scores, strict=True), 1):
        text = texts.get(doc, "")
        table.add_row(str(rank), doc, f"{score:.4f}", text[:80] + ("…" if len(text) > 80 else ""))
    console.print(table)
