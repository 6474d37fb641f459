"""A progress bar on stderr for long ingests (rich), silent when not a terminal."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any


class Progress:
    """``update(uri, rows_done)`` per batch; shows a bar only for large inputs on a TTY:
    once a million rows are done, or from the start for a file of 64 MiB or more (a CSV or
    Parquet file that DuckDB reads in one go reports its rows only at the end)."""

    def __init__(
        self, enabled: bool = True, min_rows: int = 1_000_000, min_bytes: int = 64 << 20
    ) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.min_rows = min_rows
        self.min_bytes = min_bytes
        self._bar: Any = None
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def _large(self, uri: str) -> bool:
        try:
            return Path(uri).stat().st_size >= self.min_bytes
        except OSError:
            return False

    def update(self, uri: str, rows: int) -> None:
        if not self.enabled:
            return
        if rows < self.min_rows and uri not in self._tasks and not self._large(uri):
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
        done = f"{rows:,} rows" if rows else "loading"
        self._bar.update(self._tasks[uri], description=f"{uri}: {done}")
