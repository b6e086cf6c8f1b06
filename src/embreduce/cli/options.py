"""The options the commands share, declared once, with their defaults and choices taken
from the library."""

from __future__ import annotations

import enum
import functools
import inspect
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from embreduce.choices import DTYPES, EMBEDDING_DEFAULTS, RANK_BY, ROTATIONS

F = TypeVar("F", bound=Callable[..., Any])

ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        help="Hub id or local folder. Default: all-MiniLM-L6-v2, packaged, works offline.",
    ),
]


BackendOpt = Annotated[
    str,
    typer.Option("--backend", help="sentence-transformers, or hf for the hidden states of any LM."),
]


BatchOpt = Annotated[int, typer.Option("--batch-size", help="Texts per batch.")]


DeviceOpt = Annotated[str, typer.Option("--device", help="auto, cpu or cuda.")]


DtypeOpt = Annotated[
    str | None, typer.Option("--dtype", help="Model weights: float32, float16 or bfloat16.")
]


NormalizeOpt = Annotated[
    bool, typer.Option("--normalize/--no-normalize", help="Scale vectors to unit length.")
]


PoolingOpt = Annotated[str, typer.Option("--pooling", help="hf backend: mean or last token.")]


LayerOpt = Annotated[
    int, typer.Option("--layer", help="hf backend: hidden state to pool (-1 = last layer).")
]


TextColumnOpt = Annotated[
    str | None,
    typer.Option("--text-column", help="Column with the texts in CSV/TSV/Parquet input."),
]


WordsOpt = Annotated[
    int | None,
    typer.Option("--words", help="Use the N most frequent English words (wordfreq) as input."),
]


QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")]


OverwriteOpt = Annotated[
    bool,
    typer.Option(
        "--overwrite",
        help="Replace an existing output file, or write into a non-empty output folder "
        "(only the files this command writes are replaced; inputs never are).",
    ),
]


_EMBEDDING_HINTS = {
    "words": WordsOpt,
    "text_column": TextColumnOpt,
    "model": ModelOpt,
    "backend": BackendOpt,
    "pooling": PoolingOpt,
    "layer": LayerOpt,
    "batch_size": BatchOpt,
    "device": DeviceOpt,
    "dtype": DtypeOpt,
    "normalize": NormalizeOpt,
}
_EMBEDDING_PARAMETERS = {  # name -> (option, default): the library's defaults
    name: (_EMBEDDING_HINTS[name], default) for name, default in EMBEDDING_DEFAULTS.items()
}


class _Hinted:
    """Holds annotations for :func:`typing.get_type_hints` to resolve."""

    def __init__(self, annotations: dict[str, Any]) -> None:
        self.__annotations__ = annotations


def _own_hints(func: Callable[..., Any]) -> dict[str, Any]:
    """The command's own parameters' type hints; ``embedding`` is left out, so its type
    need not be imported where the command is declared (only under TYPE_CHECKING)."""
    own = {k: v for k, v in func.__annotations__.items() if k != "embedding"}
    return typing.get_type_hints(_Hinted(own), globalns=func.__globals__, include_extras=True)


def embedding_options(func: F) -> F:
    """Give a command the shared embedding options, as one ``embedding`` argument.

    The options appear in the command's ``--help`` after its own; the command receives an
    :class:`EmbeddingOptions` built from them by keyword.
    """
    signature = inspect.signature(func)
    own = [p for name, p in signature.parameters.items() if name != "embedding"]
    added = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=hint)
        for name, (hint, default) in _EMBEDDING_PARAMETERS.items()
    ]

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from embreduce.embedding.options import EmbeddingOptions  # only when a command runs

        options = EmbeddingOptions(**{name: kwargs.pop(name) for name in _EMBEDDING_PARAMETERS})
        return func(*args, embedding=options, **kwargs)

    hints = _own_hints(func)
    wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[p.replace(annotation=hints.get(p.name, p.annotation)) for p in own] + added
    )
    wrapper.__annotations__ = {
        **{name: hint for name, hint in hints.items()},
        **{name: hint for name, (hint, _) in _EMBEDDING_PARAMETERS.items()},
    }
    return wrapper  # type: ignore[return-value]


def name_list(value: str) -> list[str]:
    """``"pca, svd,"`` as ``["pca", "svd"]``."""
    return [v.strip() for v in value.split(",") if v.strip()]


def int_list(value: str, option: str) -> list[int]:
    """Comma-separated positive integers, or a usage error naming ``option``."""
    try:
        out = [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise typer.BadParameter(
            f"expected comma-separated integers, got '{value}'", param_hint=option
        ) from None
    if not out or min(out) < 1:
        raise typer.BadParameter(f"expected positive integers, got '{value}'", param_hint=option)
    return out


def _choices(name: str, values: tuple[str, ...], doc: str) -> type[enum.Enum]:
    choices = enum.Enum(name, {v: v for v in values}, type=str)  # type: ignore[misc]
    choices.__doc__ = doc
    return choices


OutputDtype = _choices("OutputDtype", DTYPES, "Types of compressed vectors (compress.DTYPES).")
Rotation = _choices("Rotation", ROTATIONS, "Rotations of a codec (codecs.ROTATIONS).")
RankBy = _choices("RankBy", RANK_BY, "What the study's recommendation ranks by (study.RANK_BY).")


class Engine(str, enum.Enum):
    """Where compress runs."""

    local = "local"
    dask = "dask"


# the study's own options
InputsOpt = Annotated[
    Path | None,
    typer.Argument(metavar="VECTORS_OR_TEXTS", help="Vectors (.npy/.npz/.parquet/.csv) or texts."),
]


StudyOutputOpt = Annotated[Path, typer.Option("--output", "-o", help="Output folder.")]


MethodsOpt = Annotated[
    str, typer.Option("--methods", help="Comma-separated reducers, e.g. pca,svd,encoder.")
]


DimsOpt = Annotated[str, typer.Option("--dims", help="Comma-separated target dimensions.")]


BitsOpt = Annotated[
    str,
    typer.Option(
        "--bits", help="Comma-separated bits a dimension, crossed with --dims: 32,16,8,4,2,1."
    ),
]


RotationsOpt = Annotated[
    str,
    typer.Option(
        "--rotations",
        help="Codec rotations also tried at 4 bits and fewer, comma-separated: random, itq "
        "(candidates named e.g. pca+itq). Default: none.",
    ),
]


BudgetOpt = Annotated[
    int | None,
    typer.Option("--budget", help="Bytes a vector: recommend the best candidate within it."),
]


HoldoutOpt = Annotated[
    float, typer.Option("--holdout", help="Share of rows held out for evaluation.")
]


EvalOpt = Annotated[
    Path | None,
    typer.Option("--eval", help="Your own held-out vectors (or texts); replaces --holdout."),
]


SeedOpt = Annotated[int, typer.Option("--seed", help="Seeds the split, reducers, sampling.")]


MaxPairsOpt = Annotated[
    int | None,
    typer.Option("--max-pairs", help="Use a seeded sample of this many pairs, not all."),
]


KOpt = Annotated[int, typer.Option("--k", help="Neighbours for recall@k, trustworthiness.")]


ToleranceOpt = Annotated[
    float,
    typer.Option(
        "--tolerance",
        help="Share of quality the recommendation may give up for a smaller size "
        "(0.01 = one point).",
    ),
]


LimitOpt = Annotated[
    bool, typer.Option("--limit/--no-limit", help="Add the optimised 'limit' reference rows.")
]


ReportOpt = Annotated[
    bool, typer.Option("--report/--no-report", help="Write report.html at the end.")
]


PairsOpt = Annotated[
    Path | None,
    typer.Option(
        "--pairs",
        help="Your labelled pairs (CSV/TSV/Parquet: two texts and a score): every candidate "
        "is judged by the Spearman of its pair cosines against the scores.",
    ),
]


PairColumnsOpt = Annotated[
    str,
    typer.Option("--pair-columns", help="The pairs' columns: first text, second text, score."),
]


RankByOpt = Annotated[
    RankBy | None,
    typer.Option(
        "--rank-by",
        help="Rank by your pairs' Spearman (default with --pairs), by cosines, or by the search "
        "of your queries (retrieval, default with --queries).",
    ),
]


QueriesOpt = Annotated[
    Path | None,
    typer.Option(
        "--queries",
        help="Your queries (BEIR queries.jsonl: _id, text; CSV/Parquet with those columns; or "
        "vectors with ids): every candidate is judged by searching the corpus with them.",
    ),
]


QrelsOpt = Annotated[
    Path | None,
    typer.Option(
        "--qrels",
        help="Relevance judgements for --queries (TSV/CSV/Parquet: query-id, corpus-id, score; "
        "header optional): nDCG@10 and recall@100. Without: recall@10 against the exact "
        "float32 neighbours.",
    ),
]


OversampleOpt = Annotated[
    str,
    typer.Option(
        "--oversample",
        help="Re-scoring factors, comma-separated: the first pass on codes keeps k x factor "
        "hits, re-scored with the float32 vectors (1 = the first pass alone).",
    ),
]


FaissOpt = Annotated[
    str,
    typer.Option(
        "--faiss",
        help="FAISS quantizers to try after every method x dim, comma-separated: pq, opq, rq, "
        "lsq, sq8, sq4, rabitq (sized by --budgets). Default: none.",
    ),
]


BudgetsOpt = Annotated[
    str,
    typer.Option("--budgets", help="Bytes a vector the --faiss quantizers are sized for."),
]


KeepSelfOpt = Annotated[
    bool,
    typer.Option(
        "--drop-self/--keep-self",
        help="Never count the document whose id is the query's own as a hit (BEIR's rule).",
    ),
]


WeightsOpt = Annotated[
    str | None,
    typer.Option(
        "--weights",
        help="Train the encoders with a weight per vector: 'frequency' (each text's "
        "wordfreq frequency) or 'column:NAME' (a numeric metadata column).",
    ),
]


# compress's options
VectorsArg = Annotated[
    Path,
    typer.Argument(
        metavar="VECTORS",
        help="Vectors: .parquet, .npy or .npz; a folder of Parquet files with --engine dask.",
    ),
]


ModelDirOpt = Annotated[
    Path,
    typer.Option(
        "--model", "-m", help="A reducer saved by study, e.g. out/demo/models/encoder-128."
    ),
]


CompressOutputOpt = Annotated[
    Path,
    typer.Option(
        "--output", "-o", help="Where to write: .npy, .npz or .parquet; a folder with dask."
    ),
]


OutputDtypeOpt = Annotated[
    OutputDtype, typer.Option("--dtype", help="Compressed vectors: float32 or float16.")
]


CodeBitsOpt = Annotated[
    int | None,
    typer.Option(
        "--bits",
        help="Write packed codes of 16, 8, 4, 2 or 1 bits a dimension with the codec the "
        "study saved beside the model (32: float32). Default: the model's saved precision.",
    ),
]


CodeRotationOpt = Annotated[
    Rotation | None,
    typer.Option(
        "--rotation",
        help="With --bits: the rotated codec a study saved with --rotations (random, itq).",
    ),
]


CodecIdOpt = Annotated[
    str | None,
    typer.Option(
        "--codec",
        help="Write codes with any codec saved beside the model, by its folder id "
        "(codec-<id>/: 4bit, 2bit-itq, ...), instead of --bits.",
    ),
]


VectorColumnOpt = Annotated[
    str | None, typer.Option("--vector-column", help="Parquet list column with the vectors.")
]


EngineOpt = Annotated[
    Engine, typer.Option("--engine", help="local (one process, streaming) or dask.")
]


SchedulerOpt = Annotated[
    str | None,
    typer.Option(
        "--scheduler", help="Dask scheduler, e.g. tcp://host:8786; default a local cluster."
    ),
]


WorkersOpt = Annotated[int, typer.Option("--workers", help="Workers of the local Dask cluster.")]


ThreadsOpt = Annotated[
    int | None,
    typer.Option(
        "--threads",
        min=1,
        help="Threads for BLAS, torch and FAISS; default every core. Studies of up to 4,096 "
        "training vectors run that many candidates at once, each on one thread (faster at "
        "that size); 1 runs them one after the other.",
    ),
]
JobsOpt = Annotated[
    int | None,
    typer.Option("--jobs", "-j", min=1, help="Threads for --engine local; default: every core."),
]
