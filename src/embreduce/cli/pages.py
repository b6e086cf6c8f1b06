"""``embreduce report`` and ``embreduce map``: pages from a study folder, or from vectors."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from embreduce.cli.app import app, console, user_errors
from embreduce.cli.options import (
    OverwriteOpt,
    QuietOpt,
    embedding_options,
)

if TYPE_CHECKING:
    from embreduce.embedding.options import EmbeddingOptions


@app.command()
@user_errors
def report(
    study_dir: Annotated[
        Path, typer.Argument(metavar="STUDY_DIR", help="A folder written by `embreduce study`.")
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="The page to write; default STUDY_DIR/report.html."),
    ] = None,
    static: Annotated[
        str | None,
        typer.Option("--static", help="Also write each chart as png or svg into figures/."),
    ] = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Write the study's report.html: one offline page with its charts and table.

    Example:

      embreduce report out/study --static svg
    """
    from embreduce.report import write_report

    path = write_report(
        study_dir,
        output=output,
        static=static,  # type: ignore[arg-type]
        overwrite=overwrite,
    )
    console.print(f"Wrote {path}")
    if static:
        console.print(f"Wrote the charts as {static} files in {path.parent / 'figures'}")


@app.command(name="map")
@user_errors
@embedding_options
def map_(
    input_path: Annotated[
        Path | None,
        typer.Argument(
            metavar="VECTORS_OR_TEXTS", help="Vectors (.npy/.npz/.parquet/.csv) or texts."
        ),
    ] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="The page to write.")] = Path(
        "map.html"
    ),
    methods: Annotated[
        str, typer.Option("--methods", help="Comma-separated reducers, one map each.")
    ] = "pca,tsne,umap",
    dims: Annotated[
        int, typer.Option("--dims", min=2, max=3, help="2 for flat maps, 3 for rotatable ones.")
    ] = 2,
    color_by: Annotated[
        str | None, typer.Option("--color-by", help="Colour the points by this metadata column.")
    ] = None,
    clusters: Annotated[
        int | None,
        typer.Option("--clusters", min=1, help="Colour the points by K k-means clusters."),
    ] = None,
    title: Annotated[str | None, typer.Option("--title", help="Title of the page.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seeds the reducers and clustering.")] = 0,
    overwrite: OverwriteOpt = False,
    quiet: QuietOpt = False,
    *,
    embedding: EmbeddingOptions,
) -> None:
    """Draw interactive maps of the vectors (PCA, t-SNE, UMAP), with texts on hover.

    Example:

      embreduce map sentences.txt --methods pca,tsne,umap --dims 2 -o map.html
    """
    from embreduce.outputs import check_output_file
    from embreduce.report import write_map

    # before any embedding: a page, not over an input, in a folder that can be written
    check_output_file(output, suffixes=(".html",), inputs=[input_path], overwrite=overwrite)

    data, _ = embedding.load(input_path, show_progress=not quiet)
    path = write_map(
        data.vectors,
        data.texts,
        methods=[m.strip() for m in methods.split(",") if m.strip()],
        dims=dims,
        color_by=color_by,
        clusters=clusters,
        output=output,
        seed=seed,
        metadata=data.metadata,
        title=title,
        overwrite=overwrite,
        show_progress=not quiet,
    )
    console.print(f"Wrote {path}")
