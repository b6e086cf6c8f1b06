"""``embreduce embed``: texts to vectors, with a summary of their cosine similarities."""

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
from embreduce.cli.printing import print_distribution

if TYPE_CHECKING:
    from embreduce.embedding.options import EmbeddingOptions


@app.command()
@user_errors
@embedding_options
def embed(
    input_path: Annotated[
        Path | None,
        typer.Argument(
            metavar="INPUT",
            help="Texts: .txt (one per line), or .csv/.tsv/.parquet with a text column.",
        ),
    ] = None,
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="Where to write: .npy, .npz or .parquet."),
    ] = Path("embeddings.parquet"),
    overwrite: OverwriteOpt = False,
    quiet: QuietOpt = False,
    *,
    embedding: EmbeddingOptions,
) -> None:
    """Embed texts and write the vectors, with a summary of their cosine similarities.

    Examples:

      embreduce embed --words 512 -o words.parquet

      embreduce embed sentences.txt -o sentences.npz

      embreduce embed code.csv --text-column snippet --backend hf
      --model deepseek-ai/deepseek-coder-1.3b-base -o code.parquet
    """
    from embreduce.metrics import base_distribution

    # the output is checked before minutes of embedding (writable, not an input)
    data, items = embedding.embed_file(
        input_path, output, overwrite=overwrite, show_progress=not quiet
    )
    console.print(
        f"Embedded [bold]{len(data):,}[/] texts with {data.info['model']} "
        f"-> [bold]{data.dim}[/] dims in {data.info['seconds']:.1f} s; "
        f"{items.n_blank} blank line(s) dropped. Wrote {output}"
    )
    if len(data) > 1:
        print_distribution("Pairwise cosine similarity", base_distribution(data.vectors))
