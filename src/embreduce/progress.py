"""Rich progress bars, shown only on long work and only when asked."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

stderr_console = Console(stderr=True)


class _SpeedColumn(ProgressColumn):
    """Units per second, e.g. ``412,345 rows/s``."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f} {self.unit}/s", style="cyan")


class _NullBar:
    def advance(self, n: float = 1) -> None:
        """Do nothing: progress is hidden."""


class _Bar:
    def __init__(self, progress: Progress, task: int) -> None:
        self._progress = progress
        self._task = task

    def advance(self, n: float = 1) -> None:
        self._progress.advance(self._task, n)


@contextmanager
def progress_bar(
    description: str, total: float | None, *, enabled: bool = True, unit: str | None = None
) -> Iterator:
    """Yield an object with ``advance(n)``; draws a Rich bar on stderr when ``enabled``.

    Parameters
    ----------
    description : str
        What the work is, shown left of the bar.
    total : float or None
        The number of units of work, if known.
    enabled : bool
        False hides the bar (for libraries called quietly and for tests).
    unit : str, optional
        Adds a speed column, e.g. ``unit="rows"`` shows ``412,345 rows/s``.
    """
    if not enabled:
        yield _NullBar()
        return
    columns = [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    if unit is not None:
        columns.insert(4, _SpeedColumn(unit))
    with Progress(*columns, console=stderr_console, transient=not sys.stderr.isatty()) as bar:
        yield _Bar(bar, bar.add_task(description, total=total))
