"""A bare Typer app: the floor for `embreduce --help` and a command's `--help` (issue 22).

``a --help`` is a command of one option; ``wide --help`` one of 45 options with a line of
help each, as many as ``embreduce study`` has (Rich draws every option's row).
"""

import inspect
from typing import Annotated

import typer

app = typer.Typer(add_completion=False)


@app.command()
def a(x: int = 1) -> None:
    """A."""


@app.command()
def b(y: str = "") -> None:
    """B."""


def wide(**options: str) -> None:
    """A command of 45 options."""


HELP = "Comma-separated values to try, in the order the report lists them (default: all)."
wide.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [
        inspect.Parameter(
            f"option_{i}",
            inspect.Parameter.KEYWORD_ONLY,
            default="",
            annotation=Annotated[str, typer.Option(help=HELP)],
        )
        for i in range(45)
    ]
)
app.command()(wide)

app()
