"""``weike serve``: the catalogue site, rebuilt and reloaded in the browser while authors edit.

Every change under ``courses/``, ``site/``, ``mkdocs.yml``, ``weike.yml`` or ``dist/media``
reloads the repository, checks it, regenerates the pages and rebuilds with the same incremental
engine as ``weike build`` (skipped when the inputs did not change); MkDocs' live-reload server
then refreshes the open pages. The work follows the change, not the catalogue: a save is seen
the moment it happens (inotify where the system has it, not a poll of every file twice a
second), only the courses whose folder changed are read again
(:class:`~weike.builder.running.reloading.CourseReloader`) and checked again
(:class:`~weike.builder.running.reloading.CourseChecks`; the rules over the whole repository run
every time, and the notes the check renders go to the site), and what the media stage delivered
is asked again only for those and for courses whose ``dist/media`` folder changed. Videos come
from whatever the media stage has delivered already (``dist/media/<course>/<lecture>.mp4``);
a lecture without one shows a placeholder. The preview lives in the cache folder, so
``dist/site`` (what gets published) is never touched.

While the repository has errors, the browser shows them (not only the terminal): every page gets a
Chinese banner listing each problem with its ``file:line``, code and hint, and a page that is gone
(the open course's page, left out because of the error) is replaced by a page listing them, not a
bare "404". Both carry the live-reload script, so the page comes back by itself once fixed.
"""

from __future__ import annotations

import argparse
import gc
import html
import itertools
import os
import re
import sys
import threading
import time
from pathlib import Path

from weike.builder.contracts.context import BuildContext, BuildPaths, Made
from weike.builder.contracts.diagnostics import format_text
from weike.builder.contracts.errors import UsageError
from weike.builder.contracts.model import Course, DeliveredMedia
from weike.builder.repository.centre import centre_of
from weike.builder.repository.loading import NotACourseRepository
from weike.builder.running.reloading import CourseChecks, CourseReloader, SavedPaths
from weike.builder.running.checking import check_repository, course_of
from weike.builder.running.progress import Progress
from weike.builder.running.project import Project
from weike.plugins.site.contributed import collect_site_assets, collect_site_pages
from weike.plugins.site.course_memo import KeptCourses
from weike.plugins.site.settings import publish_centres, site_url
from weike.plugins.site.share import ConnectionLimits, LimitedConnections, RequestDeadline, same_site
from weike.plugins.site.website import SiteBuildFailed, build_website

#: The live-reload script's poll: ``/livereload/<epoch>/<request id>``, both timestamps in ms.
_RELOAD_POLL = re.compile(r"/livereload/[0-9]{1,20}/[0-9]{1,20}")


def add_serve_command(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve", help="网站实时预览：改了课程，浏览器里马上看到 (live preview of the catalogue site)",
        description="Build the catalogue site into the cache and serve it on localhost; every change to "
                    "courses/, site/, mkdocs.yml or weike.yml rebuilds it and reloads the browser. Videos "
                    "come from dist/media (run weike build for them, in another terminal: the preview "
                    "shows them by itself). Stop with Ctrl-C.")
    parser.add_argument("path", nargs="?", default=".", help="repository (folder with courses/) or one course folder")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.set_defaults(func=cmd_serve)


class PreviewBuilder:
    """Load, check and build the preview; called once at start and after every change."""

    def __init__(self, project: Project, *, stream=None) -> None:
        if not project.is_repository:
            raise NotACourseRepository(project.root)
        self.project = project
        self.root = project.root
        self.plugin_manager = project.plugin_manager
        self.paths = BuildPaths.for_root(self.root)
        self.preview_dir = self.paths.cache / "site" / "preview"
        self.site_dir = self.preview_dir / "site"
        self.stream = stream or sys.stderr
        self._lock = threading.Lock()
        #: Errors of the latest rebuild, shown in the browser; replaced whole (read by server threads).
        self.problems: tuple = ()
        #: Each course as last loaded: a save reads again only the course whose folder changed.
        self.courses = CourseReloader()
        #: What the file watcher reported changed: while it runs, a course folder nothing was
        #: reported under is not even walked.
        self.saved = SavedPaths()
        #: Each course's findings as last checked: a save checks again only the course read again.
        self.checks = CourseChecks()
        #: Each course's site key and what the site made from it, kept between rebuilds.
        self.site_kept = KeptCourses()
        #: What the media stage had delivered, per course: (course, media identities, entries).
        self._delivered_kept: dict[str, tuple[Course, tuple, dict[str, DeliveredMedia]]] = {}

    def _context(self, repository) -> BuildContext:
        return BuildContext(config=repository.config, paths=self.paths, plugin_manager=self.plugin_manager,
                            progress=Progress())

    def _delivered(self, repository, courses) -> dict[str, DeliveredMedia]:
        """What the media stage has delivered so far for ``courses`` (``weike_media_delivered``),
        asked again only for a course loaded again since, or whose ``dist/media`` folder or the
        media manifest changed (a ``weike build`` in another terminal)."""
        manifest = _identity(self.paths.media / "manifest.json")
        kept: dict[str, tuple[Course, tuple, dict[str, DeliveredMedia]]] = {}
        delivered: dict[str, DeliveredMedia] = {}
        asked: list[tuple[Course, tuple]] = []
        for course in courses:
            media = (manifest, _identity(self.paths.media / course.slug))
            earlier = self._delivered_kept.get(course.slug)
            if earlier is not None and earlier[0] is course and earlier[1] == media:
                kept[course.slug] = earlier
                delivered.update(earlier[2])
            else:
                asked.append((course, media))
        if asked:
            context = self._context(repository)
            found = dict(self.plugin_manager.hook.weike_media_delivered(
                context=context, courses=[course for course, _ in asked]) or {})
            delivered.update(found)
            for course, media in asked:
                keys = {lecture.key for lecture in course.lectures}
                kept[course.slug] = (course, media, {key: value for key, value in found.items() if key in keys})
        self._delivered_kept = kept
        return delivered

    def watched(self) -> list[Path]:
        """What to watch: the authored files, and the media stage's output (``dist/media`` and its
        manifest), which is made now if no build has made it yet: a folder that does not exist
        cannot be watched, and the preview would miss the videos of a ``weike build`` run in
        another terminal until some course file was saved."""
        try:
            self.paths.media.mkdir(parents=True, exist_ok=True)
        except OSError:
            pass  # a read-only checkout: no build will deliver media into it either
        candidates = [self.root / "courses", self.root / "centres", self.root / "site", self.root / "mkdocs.yml", self.root / "weike.yml",
                      self.paths.media]
        return [path for path in candidates if path.exists()]

    def __call__(self) -> None:
        with self._lock:
            clock = _PhaseClock()
            self.courses.loaded.clear()
            self.courses.walked.clear()
            self.courses.reported(self.saved.take())
            repository = self.project.load(course_loader=self.courses)
            clock.lap("load")
            # Only the courses read again are checked again; what their rules made (the rendered
            # notes) goes to the site in ``made``, as in weike build.
            self.checks.begin(repository.courses, repository.config)
            made = Made()
            diagnostics = check_repository(repository, self.plugin_manager, paths=self.paths, made=made,
                                           memo=self.checks)
            clock.lap("check")
            failing = {course_of(d) for d in diagnostics if d.is_error}
            failing_centres = {centre_of(d) for d in diagnostics if d.is_error}
            errors = [d for d in diagnostics if d.is_error]
            for diagnostic in errors:
                print(format_text(diagnostic), file=self.stream)
            courses = [course for course in repository.courses if course.slug not in failing]
            centres = [c for c in repository.centres if c.slug not in failing_centres]
            delivered = self._delivered(repository, courses)
            clock.lap("media")
            plugin_pages, page_diagnostics = collect_site_pages(
                self.plugin_manager, root=self.root, context=self._context(repository), courses=courses,
                delivered=delivered, centres=centres)
            plugin_assets, asset_diagnostics = collect_site_assets(
                self.plugin_manager, root=self.root, context=self._context(repository), courses=courses,
                delivered=delivered)
            page_diagnostics = [*page_diagnostics, *asset_diagnostics]
            clock.lap("pages")
            errors.extend(d for d in page_diagnostics if d.is_error)
            for diagnostic in page_diagnostics:
                print(format_text(diagnostic), file=self.stream)
            try:
                result = build_website(
                    root=self.root, site_url=site_url(repository.config), courses=courses,
                    delivered=delivered, site_dir=self.site_dir, work_dir=self.preview_dir / "build",
                    cache_dir=self.paths.cache / "site", preview=True, centres=centres,
                    publish_centres=publish_centres(repository.config), plugin_pages=plugin_pages,
                    withheld=len(repository.courses) - len(courses),
                    plugin_assets=plugin_assets, made=made, kept=self.site_kept)
            except SiteBuildFailed as exc:
                print(format_text(exc.diagnostic), file=self.stream)
                self.problems = (*errors, exc.diagnostic)
                self.site_dir.mkdir(parents=True, exist_ok=True)
                return
            for diagnostic in result.diagnostics:
                print(format_text(diagnostic), file=self.stream)
            self.problems = (*errors, *(d for d in result.diagnostics if d.is_error))
            left_out = sorted(slug for slug in failing if slug)
            note = f"，{len(left_out)} 门有错误未显示 ({', '.join(left_out)})" if left_out else ""
            clock.lap("site")
            state = "已更新 (rebuilt)" if result.rebuilt else "无变化 (unchanged)"
            # What the save cost, and what was redone: the work should follow the change.
            print(f"预览{state}：{len(result.published)} 门课程{note} ({clock.total:.2f} s: {clock}; "
                  f"{len(self.courses.walked)} walked, {len(self.courses.loaded)} read, {len(self.checks.checked_again)} checked, "
                  f"{result.rendered} of {result.pages} pages rendered)", file=self.stream, flush=True)


class _PhaseClock:
    """Seconds of each phase of a rebuild, for its line on the terminal."""

    def __init__(self) -> None:
        self._last = self._start = time.perf_counter()
        self.phases: dict[str, float] = {}

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.phases[phase] = self.phases.get(phase, 0.0) + now - self._last
        self._last = now

    @property
    def total(self) -> float:
        return self._last - self._start

    def __str__(self) -> str:
        return " ".join(f"{phase} {seconds:.2f}" for phase, seconds in self.phases.items())


def _identity(path: Path) -> tuple | None:
    """A file's or folder's stat identity (a folder's changes with every entry added or removed)."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)


def cmd_serve(project: Project, args: argparse.Namespace) -> int:
    if not 0 <= args.port <= 65535:
        raise UsageError("--port 必须在 0 到 65535 之间 (--port must be 0-65535)")
    rebuild = PreviewBuilder(project)
    server = _preview_server(rebuild, host=args.host, port=args.port)
    for path in rebuild.watched():
        server.watch(str(path))
    # The watches are in place before the first build reads a file: a save during that build sets
    # off a rebuild, and the first save after it is reported, not found by a walk of every course.
    server.observer.start()
    try:
        rebuild()
        # What the first build loaded lives on (every course, its findings, its pages' memo): out of
        # the cyclic collector's sight, which otherwise walks all of it again every few rebuilds
        # (tenths of a second at 1,000 courses, in the middle of a save's rebuild).
        gc.collect()
        gc.freeze()
        # Said once the server listens (MkDocs' serve binds, then starts the watcher it already has).
        server.ready = lambda: print(f"预览地址 (preview at) {server.url}  — 按 Ctrl-C 停止 (Ctrl-C stops)",
                                     flush=True)
        server.serve()
    except KeyboardInterrupt:
        print("已停止预览 (preview stopped)")
    finally:
        server.shutdown()
    return 0


def _preview_server(rebuild: PreviewBuilder, *, host: str, port: int,
                    limits: ConnectionLimits = ConnectionLimits()):
    """MkDocs' live-reload server, showing the preview's current errors in the browser (MkDocs is
    imported here, when serving, not whenever the command line is read).

    A local server is still reachable by every page the author has open and every program on the
    machine, so it holds what ``weike share`` holds (:class:`~weike.plugins.site.share.LimitedConnections`,
    :class:`~weike.plugins.site.share.RequestDeadline`): a request head complete within 30 s and
    64 KB (else 431), at most 256 connections; and it answers only its own host names and, for
    anything but GET and HEAD, only its own pages (403; the preview is read-only: 405).
    """
    from mkdocs.livereload import LiveReloadServer, _Handler

    # On the loopback address (the default) only this machine's names for it may be asked: a page
    # whose host name an attacker points at 127.0.0.1 (DNS rebinding) reads no draft course.
    loopback = host in ("127.0.0.1", "localhost", "::1")

    class PreviewHandler(RequestDeadline, _Handler):
        def handle(self) -> None:
            self.within_limits(super().handle)  # one request per connection (HTTP/1.0): no idle keep-alive

    PreviewHandler.limits = limits

    class PreviewServer(LimitedConnections, LiveReloadServer):
        #: Called once the server listens: what ``weike serve`` prints then (the author's cue to open it).
        ready = None

        def server_activate(self) -> None:
            super().server_activate()
            if self.ready is not None:
                self.ready()

        def _serve_request(self, environ, start_response):
            own = {f"{name}:{self.server_address[1]}" for name in ("127.0.0.1", "localhost", "[::1]")}
            if loopback and environ.get("HTTP_HOST", "").strip().lower() not in own:
                return _refusal(start_response, "421 Misdirected Request",
                                "421 这个地址不是 weike 预览 (Host is not this preview: request refused)")
            if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
                # A page of another site the author has open may send a form here: refused unread.
                if not same_site(origin=environ.get("HTTP_ORIGIN"), fetch_site=environ.get("HTTP_SEC_FETCH_SITE"),
                                 host=environ.get("HTTP_HOST")):
                    return _refusal(start_response, "403 Forbidden",
                                    "403 别的网站不能向预览发送请求 (another site may not send requests here)")
                return _refusal(start_response, "405 Method Not Allowed", "405 预览是只读的 (the preview is read-only)",
                                allow="GET, HEAD")
            # MkDocs turns the poll's epoch into a number: over 4,300 digits Python refuses, and
            # the request ended in a traceback on the console. No real epoch is that long.
            path = environ.get("PATH_INFO", "")
            if path.startswith("/livereload/") and not _RELOAD_POLL.fullmatch(path):
                return None
            return super()._serve_request(environ, start_response)

        def _inject_js_into_html(self, content: bytes, epoch: int) -> bytes:
            content = super()._inject_js_into_html(content, epoch)
            problems = rebuild.problems
            if not problems:
                return content
            match = re.search(rb"<body[^>]*>", content)
            at = match.end() if match else 0
            return content[:at] + problems_banner(problems).encode("utf-8") + content[at:]

        def error_page(self, code: int) -> bytes | None:
            """A missing page: the list of problems while there are any (the page is most likely
            missing because of them), else the site's own 404 page; live-reloading either way."""
            problems = rebuild.problems
            if problems:
                page = problems_page(problems).encode("utf-8")
            else:
                not_found = rebuild.site_dir / "404.html"
                if code != 404 or not not_found.is_file():
                    return None
                page = not_found.read_bytes()
            return super()._inject_js_into_html(page, self._visible_epoch)

    server = PreviewServer(builder=rebuild, host=host, port=port, root=str(rebuild.site_dir), limits=limits)
    server.RequestHandlerClass = PreviewHandler
    server.error_handler = server.error_page
    # Before any watch() schedules on MkDocs' own observer.
    server.observer = FileWatcher(polling_interval=0.5, saved=getattr(rebuild, "saved", None))
    return server


def _refusal(start_response, status: str, text: str, *, allow: str | None = None) -> list[bytes]:
    body = f"{text}\n".encode("utf-8")
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
    if allow:
        headers.append(("Allow", allow))
    start_response(status, headers)
    return [body]


class FileWatcher:
    """What MkDocs' live-reload server asks of its observer (schedule, unschedule, start, stop,
    join), served by the system's file events (inotify, FSEvents, ReadDirectoryChangesW) and, where
    they cannot be had (too few inotify watches for every folder), by MkDocs' own poll.

    MkDocs polls: every half second it stats every file below every watched folder (26,000
    files in ``courses/`` and as many in ``dist/media`` for 1,000 courses), a core's worth of
    work that also delays each save by up to a poll and its walk. Events arrive as the file is
    saved and cost nothing in between.
    """

    def __init__(self, *, polling_interval: float, saved: SavedPaths | None = None) -> None:
        self.polling_interval = polling_interval
        #: Where the paths of changes are reported (the preview builder's), if anywhere.
        self.saved = saved
        self._scheduled: dict[int, tuple] = {}
        self._watches: dict[int, object] = {}
        self._refs = itertools.count(1)
        self._observer = None
        #: "events" or "polling", once started.
        self.kind: str | None = None

    def schedule(self, handler, path: str, *, recursive: bool = True) -> int:
        ref = next(self._refs)
        handler = _ChangesOnly(handler, self.saved)
        self._scheduled[ref] = (handler, path, recursive)
        if self._observer is not None:
            self._watches[ref] = self._observer.schedule(handler, path, recursive=recursive)
        return ref

    def unschedule(self, ref: int) -> None:
        self._scheduled.pop(ref, None)
        watch = self._watches.pop(ref, None)
        if watch is not None and self._observer is not None:
            self._observer.unschedule(watch)

    def start(self) -> None:
        """Set the watches and start watching; once only (``weike serve`` starts it before its
        first build, MkDocs' ``serve`` asks again)."""
        from watchdog.observers import Observer
        from watchdog.observers.polling import PollingObserver

        if self._observer is not None:
            return
        try:
            self._observer, self.kind = self._started(Observer()), "events"
        except OSError:  # e.g. the inotify watch limit: MkDocs' poll still sees every change
            self._observer, self.kind = self._started(PollingObserver(timeout=self.polling_interval)), "polling"
        if self.saved is not None:
            self.saved.watching(True)  # its watches are in place: every change from now on is reported

    def _started(self, observer):
        try:
            watches = {ref: observer.schedule(handler, path, recursive=recursive)
                       for ref, (handler, path, recursive) in self._scheduled.items()}
            observer.start()
        except OSError:
            observer.stop()  # the emitters that did start
            raise
        self._watches = watches
        return observer

    def stop(self) -> None:
        if self.saved is not None:
            self.saved.watching(False)
        if self._observer is not None:
            self._observer.stop()

    def join(self, timeout: float | None = None) -> None:
        if self._observer is not None:
            self._observer.join(timeout)


#: Events of a file being read, not changed: inotify reports every open. A rebuild reads the saved
#: course's files, and those reads set off a second, useless rebuild that held every page request
#: (MkDocs serves no page while it builds) for its whole length.
_READS = frozenset({"opened", "closed_no_write"})


class _ChangesOnly:
    """A watchdog handler passing on the events of files changed, added, moved or removed, not read,
    their paths reported to ``saved`` first (the rebuild they set off takes them)."""

    def __init__(self, handler, saved: SavedPaths | None) -> None:
        self._handler = handler
        self._saved = saved

    def dispatch(self, event) -> None:
        if event.event_type in _READS:
            return
        if self._saved is not None:
            if event.event_type == "events_lost":
                self._saved.lost()
            elif not (event.is_directory and event.event_type == "modified"):
                # (A folder "modified" is an entry added or removed: that entry is reported itself.)
                self._saved.saw(os.fsdecode(event.src_path), os.fsdecode(getattr(event, "dest_path", "") or ""))
        self._handler.dispatch(event)


def _problem_items(problems) -> str:
    items = []
    for diagnostic in problems:
        where = str(diagnostic.location)
        hint = f'<br><span style="color:#1b5e20">提示：{html.escape(diagnostic.hint)}</span>' if diagnostic.hint else ""
        items.append(f'<li style="margin:.6em 0"><code style="font-weight:bold">{html.escape(where)}</code> '
                     f'{html.escape(diagnostic.code)} {html.escape(diagnostic.message)}{hint}'
                     f'<br><small style="color:#555">{html.escape(diagnostic.message_en)}</small></li>')
    return "\n".join(items)


def _heading(problems) -> str:
    return (f"课程里有 {len(problems)} 个错误，有错误的课程暂时不显示。"
            "改好并保存后，这一页会自动刷新。")


def problems_banner(problems) -> str:
    """The block put at the top of every preview page while there are errors."""
    return ('<div id="weike-preview-problems" role="alert" lang="zh-CN" style="background:#fff3e0;color:#000;'
            'border-bottom:4px solid #e65100;padding:1em;font-size:18px;line-height:1.5;position:relative;'
            f'z-index:1000"><strong>⚠ {_heading(problems)}</strong>'
            f'<ol style="margin:.5em 0 0 1.2em;padding:0">{_problem_items(problems)}</ol></div>')


def problems_page(problems) -> str:
    """The page served instead of a "404" while there are errors."""
    return ('<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<title>课程有错误 · weike 预览</title></head>'
            '<body style="font-family:sans-serif;font-size:18px;line-height:1.5;margin:0;padding:1em;color:#000">'
            f'<h1 style="font-size:1.4em;color:#b71c1c">⚠ {_heading(problems)}</h1>'
            f'<ol id="weike-preview-problems">{_problem_items(problems)}</ol>'
            '<p><a href="/">回到首页</a></p></body></html>')
