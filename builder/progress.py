"""Progress for long work: live bars on a terminal, one clean line per job in CI logs.

Stages create a :class:`Task` per unit of work (one lecture's transcode, one bundle) and may
update it from worker threads. :func:`make_progress` picks the right display.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

from builder.diagnostics import printable


class Task:
    """A unit of work shown to the user; safe to update from any thread."""

    def __init__(self, progress: Progress, description: str, total: float | None) -> None:
        self._progress = progress
        # Descriptions name course folders and files: shown with their control codes escaped.
        self.description = printable(description)
        self.total = total
        self.completed = 0.0
        self.started = time.monotonic()
        self.finished = False

    def update(self, completed: float) -> None:
        self.completed = completed
        self._progress._on_update(self)

    def advance(self, amount: float = 1.0) -> None:
        self.update(self.completed + amount)

    def done(self, message: str = "", *, failed: bool = False) -> None:
        if self.finished:
            return
        self.finished = True
        if self.total is not None:
            self.completed = self.total
        self._progress._on_done(self, printable(message, keep="\t\n"), failed)

    def __enter__(self) -> Task:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.done(failed=exc_type is not None)


class Progress:
    """Base display: records nothing, prints nothing (for ``--format json`` and tests)."""

    def stage(self, name: str, total: int | None = None) -> None:
        """A new stage begins; ``total`` = how many tasks it will run, when known."""

    def task(self, description: str, total: float | None = None) -> Task:
        return Task(self, description, total)

    def log(self, message: str) -> None:
        """A line the user should see even without a progress display."""

    def close(self) -> None:
        """Stop any live display."""

    def _on_update(self, task: Task) -> None:
        pass

    def _on_done(self, task: Task, message: str, failed: bool) -> None:
        pass


class LineProgress(Progress):
    """One line per started stage and finished task: readable in CI logs, no control codes."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._lock = threading.Lock()
        self._stage = ""
        self._stage_total: int | None = None
        self._stage_done = 0

    def _write(self, line: str) -> None:
        with self._lock:
            self.stream.write(line + "\n")
            self.stream.flush()

    def stage(self, name: str, total: int | None = None) -> None:
        self._stage, self._stage_total, self._stage_done = name, total, 0
        self._write(f"== {name}" + (f" ({total})" if total is not None else ""))

    def log(self, message: str) -> None:
        self._write(printable(message, keep="\t\n"))

    def _on_done(self, task: Task, message: str, failed: bool) -> None:
        with self._lock:
            self._stage_done += 1
            count = f"{self._stage_done}/{self._stage_total}" if self._stage_total else f"{self._stage_done}"
        status = "FAILED" if failed else "ok"
        elapsed = time.monotonic() - task.started
        suffix = f" — {message}" if message else ""
        self._write(f"[{self._stage} {count}] {status} {task.description} ({elapsed:.1f} s){suffix}")


class LiveProgress(Progress):
    """Rich progress bars: one overall bar per stage with ETA, one bar per running task.

    Descriptions are Rich markup, so authored names in them are escaped (a "[" is not markup).
    """

    def __init__(self, stream: TextIO) -> None:
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)

        self.console = Console(file=stream)
        self._rich = RichProgress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("ETA"), TimeRemainingColumn(), console=self.console, transient=False,
        )
        self._rich.start()
        self._overall = None
        self._ids: dict[int, int] = {}
        self._lock = threading.Lock()

    def stage(self, name: str, total: int | None = None) -> None:
        with self._lock:
            if self._overall is not None:
                self._rich.update(self._overall, visible=True)
            self._overall = self._rich.add_task(f"[bold]{name}", total=total)

    def task(self, description: str, total: float | None = None) -> Task:
        task = Task(self, description, total)
        with self._lock:
            self._ids[id(task)] = self._rich.add_task(f"  {_markup_escaped(task.description)}", total=total or 100)
        return task

    def log(self, message: str) -> None:
        self.console.print(printable(message, keep="\t\n"), markup=False, highlight=False)

    def _on_update(self, task: Task) -> None:
        task_id = self._ids.get(id(task))
        if task_id is not None:
            self._rich.update(task_id, completed=task.completed)

    def _on_done(self, task: Task, message: str, failed: bool) -> None:
        with self._lock:
            task_id = self._ids.pop(id(task), None)
            overall = self._overall
        if task_id is not None:
            self._rich.remove_task(task_id)
        if overall is not None:
            self._rich.advance(overall, 1)
        if failed:
            self.console.print(f"[red]FAILED[/red] {_markup_escaped(task.description)}" + (f" — {_markup_escaped(message)}" if message else ""),
                               highlight=False)

    def close(self) -> None:
        self._rich.stop()


def _markup_escaped(text: str) -> str:
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def make_progress(stream: TextIO | None = None, *, quiet: bool = False) -> Progress:
    """Live bars on an interactive terminal, plain lines elsewhere (CI), nothing when quiet."""
    stream = stream or sys.stderr
    if quiet:
        return Progress()
    if stream.isatty():
        return LiveProgress(stream)
    return LineProgress(stream)
