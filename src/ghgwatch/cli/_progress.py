"""Progress bars of the long file commands: on stderr and only on a terminal, so that a pipe or a redirect of
either stream gets nothing but the commands' own output."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

Step = Callable[..., None]


@contextmanager
def progress_bar(total: float, label: str) -> Iterator[Step]:
    """Yields ``step(what, advance=1)``: advance the bar and show ``label: what``."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as bar:
        task = bar.add_task(label, total=total)

        def step(what: str, advance: float = 1) -> None:
            bar.update(task, advance=advance, description=f"{label}: {what}")

        yield step
