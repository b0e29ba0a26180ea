"""Page-by-page work of a cold build shared among forked worker processes.

At catalogue scale a cold site build is mostly the same work done 13,000 times, each page on its
own: MkDocs laying Material's frame around a page (:func:`weike.plugins.site.engine.run_mkdocs`),
the offline edition rewriting a page for ``file://``. :func:`share_work` forks workers after
everything is set up (the pages, the navigation, the compiled templates are shared, not copied
or read again); each worker does a contiguous share of the items and leaves its results in a file,
while this process does its own share and the items only it may do. The results come back in
the items' order, so what is made is what one process makes (tests/plugins/site compare them).

Where there is no ``os.fork`` (Windows), or a worker fails in any way (killed, out of memory, an
exception), its items are done here after all: a serial build's outcome, errors included, never a
lost page.
"""

from __future__ import annotations

import gc
import json
import logging
import os
from collections.abc import Callable, Sequence

from weike.builder.keeping.aside import BytesAside
from weike.builder.running.executor import available_cores

#: At most this many processes render pages (each holds a copy-on-write share of the build's memory).
MAX_PROCESSES = 4
#: Fewer pages than this per process are not worth a fork.
PAGES_PER_PROCESS = 250


def render_processes(pages: int, *, cores: int | None = None, per_process: int | None = None) -> int:
    """How many processes (this one included) should share the work on ``pages`` pages (or other
    items, ``per_process`` of them worth a process: :data:`PAGES_PER_PROCESS` pages)."""
    if not hasattr(os, "fork"):
        return 1
    return max(1, min(cores or available_cores(), MAX_PROCESSES, pages // (per_process or PAGES_PER_PROCESS)))


class _KeepWarnings(logging.Handler):
    """A worker's MkDocs warnings, sent back to be logged again by the process that waits for it."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[tuple[str, int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.name, record.levelno, record.getMessage()))


#: True in a worker process forked by :func:`share_work`.
_IN_WORKER = False


def in_worker() -> bool:
    """Whether this process is a worker of :func:`share_work` (whose items the build may do again)."""
    return _IN_WORKER


def _shares(pages: Sequence, processes: int, *, head_start: float = 0.0) -> list[list]:
    """``pages`` cut into ``processes`` contiguous shares of (nearly) equal size; with ``head_start``
    (other work of the first share's process, as many pages' worth), the first share is that much
    smaller (none when the other work is a share's worth or more), the others alike."""
    if head_start <= 0 or processes <= 1:
        size, extra = divmod(len(pages), processes)
        shares, start = [], 0
        for number in range(processes):
            end = start + size + (1 if number < extra else 0)
            shares.append(list(pages[start:end]))
            start = end
        return shares
    first = min(len(pages), max(0, round((len(pages) + head_start) / processes - head_start)))
    return [list(pages[:first]), *_shares(pages[first:], processes - 1)]


def _fork_worker(items: Sequence, work: Callable) -> BytesAside:
    """Fork a process that does ``work`` on ``items`` and exits (:class:`BytesAside`: its results
    and warnings come back as JSON in an unnamed temporary file, not a pipe, so a worker whose
    results are more than a pipe holds never waits, its share done, for this process to read
    them); :func:`_wait` reads them back. Not forked (no ``fork``, or it failed), it has no results:
    its items are done here."""

    def in_the_worker() -> bytes:
        global _IN_WORKER
        _IN_WORKER = True
        # What this process inherited (the build's models, the pages, the navigation, the compiled
        # templates) is left out of its collections, so its copies stay shared with its parent
        # instead of being copied as the collector visits them. Freezing here, not in the parent,
        # leaves the parent's collector as it was (the build unfreezes its own models itself).
        gc.freeze()
        kept = _KeepWarnings()
        logging.getLogger("mkdocs").addHandler(kept)
        done = [work(item) for item in items]
        return json.dumps({"results": done, "warnings": kept.records}).encode("utf-8")

    return BytesAside(in_the_worker)


def _log_again(warnings: list) -> None:
    """A worker's MkDocs warnings, logged again by the process that waited for it."""
    for name, level, message in warnings:
        logging.getLogger(name).log(level, message)


def _wait(worker: BytesAside) -> dict | None:
    """The worker's results and warnings once it has exited, or None when it failed or never ran."""
    payload = worker.result()
    if not payload:
        return None
    try:
        return json.loads(payload)
    except ValueError:
        return None


def share_work(items: Sequence, work: Callable, *, processes: int,
               shared: Callable[[object], bool] = lambda item: True,
               meanwhile: Callable[[], None] | None = None, meanwhile_weight: float = 0.0) -> list:
    """``[work(item) for item in items]`` (JSON values), the items ``shared`` says any process may
    do cut among ``processes`` processes (this one included); the others are done here. MkDocs'
    warnings logged in a worker are logged again here.

    ``meanwhile`` is other work of this process, done once the items only it may do are done and
    while the workers do theirs: then this process's share of the shared items is smaller by
    ``meanwhile_weight`` (as many items' worth), so no process waits for the others long. Done
    alone, after every item, ``meanwhile`` runs after its items too."""
    if processes <= 1 or not (positions := [number for number, item in enumerate(items) if shared(item)]):
        results = [work(item) for item in items]
        if meanwhile is not None:
            meanwhile()
        return results
    own, *worker_shares = _shares(positions, processes, head_start=meanwhile_weight if meanwhile else 0.0)
    results: list = [None] * len(items)
    workers: list[tuple[BytesAside, list]] = []
    try:
        for share in worker_shares:
            if share:
                workers.append((_fork_worker([items[number] for number in share], work), share))
        taken = {number for share in worker_shares for number in share}
        if meanwhile is None:
            for number, item in enumerate(items):
                if number not in taken:
                    results[number] = work(item)
        else:  # this process's own items first, then the other work, then its share
            mine = set(own)
            for number, item in enumerate(items):
                if number not in taken and number not in mine:
                    results[number] = work(item)
            meanwhile()
            for number in own:
                results[number] = work(items[number])
        while workers:
            worker, share = workers.pop(0)
            done = _wait(worker)
            if done is None:  # a serial build's outcome for its items, error included
                for number in share:
                    results[number] = work(items[number])
                continue
            for number, result in zip(share, done["results"], strict=True):
                results[number] = result
            _log_again(done["warnings"])
    finally:
        for worker, _ in workers:  # this process failed: the workers are not waited for
            worker.stop()
    return results


class WorkAside:
    """``[work(item) for item in items]`` (JSON values) started in a forked process while this one
    goes on with other work: :meth:`results` waits for them; :meth:`stop` ends the process unwaited
    for (this process failed meanwhile). A process that cannot be forked, or fails in any way, has
    its items done here when waited for (so each ``work`` must be safe to do again after a killed
    attempt), as :func:`share_work` does. MkDocs' warnings logged in it are logged again here."""

    def __init__(self, items: Sequence, work: Callable) -> None:
        self._items, self._work = list(items), work
        self._process: BytesAside | None = _fork_worker(self._items, work)

    def results(self) -> list:
        done = None
        if self._process is not None:
            done = _wait(self._process)
            self._process = None
        if done is None:
            return [self._work(item) for item in self._items]
        _log_again(done["warnings"])
        return done["results"]

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop()
            self._process = None
