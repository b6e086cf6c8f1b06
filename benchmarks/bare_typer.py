"""A bare Typer app of two commands: the floor for `embreduce --help` (issue 22)."""

import typer

app = typer.Typer(add_completion=False)


@app.command()
def a(x: int = 1) -> None:
    """A."""


@app.command()
def b(y: str = "") -> None:
    """B."""


app()
