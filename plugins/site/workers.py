"""MkDocs' build with its page loop shared among worker processes.

At catalogue scale nearly all of a cold site build is Jinja laying Material's frame around 13,000
pages, one after another, each on its own: page N's HTML does not depend on page N-1's. So the
build runs as :func:`mkdocs.commands.build.build` does, step for step (MkDocs 1.6, pinned), up to
the page loop: configuration, files, navigation, every page read, the theme's assets copied. Then
the process forks; each worker renders a contiguous share of the generated pages into the same
folder and exits, while this process renders its own share and every page whose rendering other
pages' outputs depend on (hand-written pages, which Material's search plugin indexes). The search
index, and everything after the loop, is written here as in a serial build, so the folder is byte
for byte the one a serial build writes (tests/plugins/site compares the two).

A fork shares what was set up (the pages, the navigation, the compiled templates) without copying
or re-reading it. Where there is no ``os.fork`` (Windows), or a worker fails in any way, its pages
are rendered here after all: the serial build's outcome, errors included, never a lost page.
Only MkDocs' own search plugin may be configured (:func:`weike.plugins.site.incremental.renders_incrementally`):
other plugins may gather state page by page, which a worker's pages would not add to.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import signal
from collections.abc import Callable, Sequence

from weike.builder.running.executor import available_cores

#: At most this many processes render pages (each holds a copy-on-write share of the build's memory).
MAX_PROCESSES = 4
#: Fewer pages than this per process are not worth a fork.
PAGES_PER_PROCESS = 250


def render_processes(pages: int, *, cores: int | None = None) -> int:
    """How many processes (this one included) should render ``pages`` pages."""
    if not hasattr(os, "fork"):
        return 1
    return max(1, min(cores or available_cores(), MAX_PROCESSES, pages // PAGES_PER_PROCESS))


class _KeepWarnings(logging.Handler):
    """A worker's MkDocs warnings, sent back to be logged again by the process that waits for it."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[tuple[str, int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.name, record.levelno, record.getMessage()))


def _shares(pages: Sequence, processes: int) -> list[list]:
    """``pages`` cut into ``processes`` contiguous shares of (nearly) equal size."""
    size, extra = divmod(len(pages), processes)
    shares, start = [], 0
    for number in range(processes):
        end = start + size + (1 if number < extra else 0)
        shares.append(list(pages[start:end]))
        start = end
    return shares


def _fork_worker(pages: Sequence, render: Callable) -> tuple[int, int]:
    """Fork a process that renders ``pages`` and exits; returns its pid and the pipe its warnings
    come back through (a JSON list, empty output when it failed)."""
    reading, writing = os.pipe()
    pid = os.fork()
    if pid:
        os.close(writing)
        return pid, reading
    # The worker: never returns into the caller's code, whatever happens.
    status = 1
    try:
        os.close(reading)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        kept = _KeepWarnings()
        logging.getLogger("mkdocs").addHandler(kept)
        for page in pages:
            render(page)
        payload = json.dumps(kept.records).encode("utf-8")
        with os.fdopen(writing, "wb") as pipe:
            pipe.write(payload)
        status = 0
    finally:
        os._exit(status)


def _wait(pid: int, reading: int) -> list | None:
    """The worker's warnings once it has exited, or None when it failed."""
    with os.fdopen(reading, "rb") as pipe:
        payload = pipe.read()  # to the end before waiting: a full pipe would block the worker
    _, status = os.waitpid(pid, 0)
    if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0 or not payload:
        return None
    try:
        return json.loads(payload)
    except ValueError:
        return None


def render_pages(pages: Sequence, render: Callable, *, shared: Callable[[object], bool], processes: int) -> None:
    """Call ``render`` on every page of ``pages``: those ``shared`` says any process may render are
    cut among ``processes`` processes (this one included), the others rendered here."""
    mine = [page for page in pages if not shared(page)]
    others = [page for page in pages if shared(page)]
    if processes <= 1 or not others:
        for page in pages:
            render(page)
        return
    own_share, *worker_shares = _shares(others, processes)
    workers: list[tuple[int, int, list]] = []
    # Objects set up so far are not touched by the collector again, so the workers' copies of
    # them stay shared with this process instead of being copied page by page.
    gc.freeze()
    try:
        for share in worker_shares:
            if share:
                pid, reading = _fork_worker(share, render)
                workers.append((pid, reading, share))
        for page in [*mine, *own_share]:
            render(page)
        while workers:
            pid, reading, share = workers.pop(0)
            warnings = _wait(pid, reading)
            if warnings is None:  # the serial build's outcome for its pages, error included
                for page in share:
                    render(page)
                continue
            for name, level, message in warnings:
                logging.getLogger(name).log(level, message)
    finally:
        for pid, reading, _ in workers:  # this process failed: the workers are not waited for
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except OSError:
                pass
            os.close(reading)
        gc.unfreeze()


def build(config, *, processes: int, shared: Callable[[object], bool]) -> None:
    """:func:`mkdocs.commands.build.build` (MkDocs 1.6, no serve, not dirty), its page loop run by
    :func:`render_pages`; ``shared(page)`` says whether a worker may render ``page``."""
    from mkdocs import utils
    from mkdocs.commands.build import _build_extra_template, _build_page, _build_theme_template, _populate_page
    from mkdocs.exceptions import Abort, BuildError
    from mkdocs.structure.files import InclusionLevel, get_files, set_exclusions
    from mkdocs.structure.nav import get_navigation
    from mkdocs.structure.pages import Page

    log = logging.getLogger("mkdocs.commands.build")
    warning_counter = utils.CountHandler()
    warning_counter.setLevel(logging.WARNING)
    if config.strict:
        logging.getLogger("mkdocs").addHandler(warning_counter)
    inclusion = InclusionLevel.is_included
    try:
        config = config.plugins.on_config(config)
        config.plugins.on_pre_build(config=config)
        utils.clean_directory(config.site_dir)

        # First gather all data from all files and pages, so that every page sees the same.
        files = get_files(config)
        env = config.theme.get_env()
        files.add_files_from_theme(env, config)
        files = config.plugins.on_files(files, config=config)
        set_exclusions(files, config)
        nav = get_navigation(files, config)
        nav = config.plugins.on_nav(nav, config=config, files=files)
        for file in files.documentation_pages(inclusion=inclusion):
            if file.page is None and file.inclusion.is_not_in_nav():
                Page(None, file, config)
            assert file.page is not None
            _populate_page(file.page, config, files, False)
        env = config.plugins.on_env(env, config=config, files=files)

        # Then write: lower precedence first, so that files of higher precedence overwrite them.
        files.copy_static_files(dirty=False, inclusion=inclusion)
        for template in config.theme.static_templates:
            _build_theme_template(template, env, files, config, nav)
        for template in config.extra_templates:
            _build_extra_template(template, files, config, nav)
        doc_files = files.documentation_pages(inclusion=inclusion)

        def render(file) -> None:
            _build_page(file.page, config, doc_files, nav, env, False, excluded=file.inclusion.is_excluded())

        render_pages(doc_files, render, shared=lambda file: shared(file.page), processes=processes)

        log_level = config.validation.links.anchors
        for file in doc_files:
            file.page.validate_anchor_links(files=files, log_level=log_level)
        config.plugins.on_post_build(config=config)
        if counts := warning_counter.get_counts():
            msg = ", ".join(f"{v} {k.lower()}s" for k, v in counts)
            raise Abort(f"Aborted with {msg} in strict mode!")
    except Exception as e:
        config.plugins.on_build_error(error=e)
        if isinstance(e, BuildError):
            log.error(str(e))
            raise Abort("Aborted with a BuildError!")
        raise
    finally:
        logging.getLogger("mkdocs").removeHandler(warning_counter)
