"""Progress for long work: live bars on a terminal, one clean line per job in CI logs.

Stages create a :class:`Task` per unit of work (one lecture's transcode, one bundle) and may
update it from worker threads. :func:`make_progress` picks the right display.
"""

from __future__ import annotations

import functools
import sys
import threading
import time
from typing import TextIO

from weike.builder.contracts.diagnostics import printable


class Task:
    """A unit of work shown to the user; safe to update from any thread."""

    def __init__(self, progress: Progress, description: str, total: float | None, unit: str = "") -> None:
        self._progress = progress
        #: What ``completed``/``total`` count, shown beside the numbers ("秒" for seconds of video).
        self.unit = unit
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

    def step(self, name: str, total: int | None = None) -> None:
        """A step inside the current stage (the media stage probes, then transcodes); shown like a
        stage where the display has no nesting."""
        self.stage(name, total)

    def task(self, description: str, total: float | None = None, *, unit: str = "") -> Task:
        """A unit of work; ``total`` in ``unit`` ("秒" = seconds of video), or ``None`` when unknown."""
        return Task(self, description, total, unit)

    def count(self, amount: int = 1) -> None:
        """Work done in the current step or stage that has no bar of its own (a file probed)."""

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
        self._write(f"== {name}" + (f" ({total} 个)" if total is not None else ""))

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
    """Rich progress bars: a bar per stage (and per step inside it), one per running task.

    Every count carries its unit ("3/10 个", "12/45 秒"), a remaining time is shown only where a
    total is known, and a stage's clock stops when the stage ends ("完成 0:00:00" for a check that
    took 0.2 s, not a "0/?" ticking on through the rest of the build).
    Descriptions are Rich markup, so authored names in them are escaped (a "[" is not markup).
    """

    def __init__(self, stream: TextIO, *, console=None) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress as RichProgress, TextColumn

        self.console = console or Console(file=stream)
        amount, elapsed, remaining = _columns()
        self._rich = RichProgress(
            TextColumn("{task.description}"), BarColumn(), amount(), elapsed(),
            remaining(), console=self.console, transient=False,
        )
        self._rich.start()
        self._stage = None  # rich task id of the current stage's bar
        self._step = None  # ... and of the current step inside it
        self._ids: dict[int, int] = {}
        self._lock = threading.Lock()

    def stage(self, name: str, total: int | None = None) -> None:
        with self._lock:
            self._finish(self._step)
            self._finish(self._stage)
            self._step = None
            self._stage = self._rich.add_task(f"[bold]{_markup_escaped(name)}", total=total, unit="个")

    def step(self, name: str, total: int | None = None) -> None:
        with self._lock:
            self._finish(self._step)
            self._step = self._rich.add_task(f"  {_markup_escaped(name)}", total=total, unit="个")

    def _finish(self, task_id) -> None:
        """Stop a stage's or step's clock where its work ended and say it is done."""
        if task_id is None:
            return
        done = self._rich.tasks[[t.id for t in self._rich.tasks].index(task_id)].completed
        self._rich.update(task_id, total=max(done, 1), completed=max(done, 1), finished_stage=True,
                          counted=done)

    def task(self, description: str, total: float | None = None, *, unit: str = "") -> Task:
        task = Task(self, description, total, unit)
        with self._lock:
            self._ids[id(task)] = self._rich.add_task(f"    {_markup_escaped(task.description)}", total=total,
                                                      unit=unit)
        return task

    def count(self, amount: int = 1) -> None:
        with self._lock:
            counter = self._step if self._step is not None else self._stage
        if counter is not None:
            self._rich.advance(counter, amount)

    def log(self, message: str) -> None:
        self.console.print(printable(message, keep="\t\n"), markup=False, highlight=False)

    def _on_update(self, task: Task) -> None:
        task_id = self._ids.get(id(task))
        if task_id is not None:
            self._rich.update(task_id, completed=task.completed)

    def _on_done(self, task: Task, message: str, failed: bool) -> None:
        with self._lock:
            task_id = self._ids.pop(id(task), None)
            counter = self._step if self._step is not None else self._stage
        if task_id is not None:
            self._rich.remove_task(task_id)
        if counter is not None:
            self._rich.advance(counter, 1)
        if failed:
            self.console.print(f"[red]FAILED[/red] {_markup_escaped(task.description)}" + (f" — {_markup_escaped(message)}" if message else ""),
                               highlight=False)

    def close(self) -> None:
        with self._lock:
            self._finish(self._step)
            self._finish(self._stage)
            self._step = self._stage = None
        self._rich.stop()


def _number(value: float, unit: str) -> str:
    return f"{value:.0f}" if unit == "秒" or float(value).is_integer() else f"{value:.1f}"


@functools.cache
def _columns() -> tuple[type, type, type]:
    """The amount, elapsed and remaining columns, made when a progress display starts: Rich is
    imported then, not by every command (a quiet or replayed build shows none)."""
    from rich.progress import ProgressColumn

    class _AmountColumn(ProgressColumn):
        """"3/10 个", "12/45 秒", "2 个" while the total is unknown, "完成" once a stage has ended."""

        def render(self, task):
            from rich.text import Text

            unit = task.fields.get("unit", "")
            if task.fields.get("finished_stage"):
                counted = task.fields.get("counted", 0)
                return Text(f"完成 {counted:.0f} {unit}" if counted else "完成", style="green")
            spaced = f" {unit}" if unit else ""
            if task.total is None and not unit:
                return Text("进行中", style="progress.download")  # a count of nothing in particular says nothing
            if task.total is None:
                return Text(f"{_number(task.completed, unit)}{spaced}", style="progress.download")
            return Text(f"{_number(task.completed, unit)}/{_number(task.total, unit)}{spaced}", style="progress.download")

    class _ElapsedColumn(ProgressColumn):
        """"用时 0.2 秒" under a minute (a check that took 0.2 s does not read 0:00:00), else "用时 0:01:12"."""

        def render(self, task):
            from rich.text import Text

            seconds = task.finished_time if task.finished else task.elapsed
            if seconds is None:
                return Text("")
            shown = f"{seconds:.1f} 秒" if seconds < 60 else f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
            return Text(f"用时 {shown}", style="progress.elapsed")

    class _RemainingColumn(ProgressColumn):
        """"剩余 0:01:10" where a total is known and work is left ("估算中" until the speed is known),
        nothing otherwise (no "-:--:--")."""

        def render(self, task):
            from rich.progress import TimeRemainingColumn
            from rich.text import Text

            if task.total is None or task.finished or task.fields.get("finished_stage"):
                return Text("")
            if task.time_remaining is None:  # too few samples yet to know the speed
                return Text("剩余 估算中", style="progress.remaining")
            return Text("剩余 ") + TimeRemainingColumn().render(task)

    return _AmountColumn, _ElapsedColumn, _RemainingColumn


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
