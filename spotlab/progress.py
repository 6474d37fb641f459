"""A progress bar on stderr for long ingests (rich), silent when not a terminal."""

from __future__ import annotations

import sys
from typing import Any


class Progress:
    """``update(uri, rows_done)`` per batch; shows a bar only for large inputs on a TTY."""

    def __init__(self, enabled: bool = True, min_rows: int = 1_000_000) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.min_rows = min_rows
        self._bar: Any = None
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def update(self, uri: str, rows: int) -> None:
        if not self.enabled or rows < self.min_rows:
            return
        if self._bar is None:
            from rich.progress import Progress as RichProgress
            from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

            self._bar = RichProgress(
                SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                transient=True,
            )  # fmt: skip
            self._bar.start()
        if uri not in self._tasks:
            self._tasks[uri] = self._bar.add_task(uri, total=None)
        self._bar.update(self._tasks[uri], description=f"{uri}: {rows:,} rows")
