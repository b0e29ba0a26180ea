"""The media stage: the lectures' sources delivered into ``dist/media``, as the profile wants them.

For every lecture of the courses that passed the check, the stage

0. hands forward, from their manifest records, the lectures of a course whose inputs (one digest
   per course) and delivered files are as the last stage recorded them in its ledger, and in any
   other course each lecture that is so (nothing below is done for them; ``ledger.py``),
1. hashes and probes the source (both memoised by path, size and mtime),
2. decides how to deliver it: a source whose video already meets the profile is *passed
   through* (remuxed with fast start, video not re-encoded; audio re-encoded only when it is off
   target); any other video is *transcoded*; pure audio becomes a video of a still picture,
3. runs the jobs that are not in the content-addressed cache (identical sources once) on an
   executor, ``--jobs`` at a time, with a live bar per job,
4. probes every new output again and refuses it unless it passes every rule of the profile and
   lasts as long as the source says it does (within 0.2 s): the source's own container and
   stream durations, and for sound the samples its audio decodes to -- never a figure one of
   weike's own passes reported,
5. links the outputs into ``dist/media/<course>/<lecture>.mp4`` with a poster ``.jpg`` and the
   lecture's subtitles as ``.vtt``, and writes ``dist/media/manifest.json``,
6. makes the renditions other plugins asked for (``weike_media_renditions``: the site's 省流量
   one) from the delivered files, and hands them forward in ``DeliveredMedia.renditions``.

Still picture for pure audio: the lecture's ``image`` if given, else the course cover. Cover art
embedded in an audio file is deliberately ignored: nobody reviewed it (often an app's logo or an
album cover of unknown rights), while the course cover is checked and attested.

Where each step lives: planning.py (1, 2), encoding.py and cards.py (the jobs of 3 and 4),
cluster.py (the workers' readiness before jobs go to a Dask cluster), manifest.py (5), saver.py (6),
ledger.py (0).
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from weike.builder.contracts.context import BuildContext, Made, StageOutcome
from weike.builder.keeping.course_memo import collector_paused
from weike.builder.keeping.store import ContentStore
from weike.builder.keeping.disk import disk_fault
from weike.builder.running.executor import (
    ClusterExecutor,
    ClusterFuture,
    ClusterJobLost,
    ExecutorUnavailable,
    available_cores,
    job_threads,
    make_executor,
    runs_in_process,
)
from weike.builder.repository.loading import CONFIG_FILE
from weike.builder.contracts.model import (
    repository_path,
    Course,
    DeliveredMedia,
    Diagnostic,
    Lecture,
    Severity,
    SourceLocation,
    WeikeConfig,
)
from weike.plugins.media import runner as ffmpeg
from weike.plugins.media.cards import CARD_RECIPE_VERSION, CardJob, join_cards, title_card_settings
from weike.plugins.media.checks import (
    is_memoised,
    media_file_location,
    probed_sources,
    probe_kind,
    probe_problem,
    shared_memo,
    subtitle_problem,
)
from weike.plugins.media.cluster import _executor_problem, _no_cluster_summary, cluster_problems
from weike.plugins.media.encoding import RECIPE_VERSION, DeliveryFailed, deliver_to_store
from weike.plugins.media.ledger import (
    DeliveryLedger,
    course_digest,
    lecture_digest,
    lectures_digest,
    setup_digest,
)
from weike.plugins.media.manifest import (
    MANIFEST_FILE,
    delivered_from_record,
    place_delivered,
    read_manifest,
    write_manifest,
)
from weike.plugins.media.planning import LecturePlan, may_pass_through, plan_lecture
from weike.plugins.media.probe import ProbeError, ProbeProblem, info_from_dict
from weike.plugins.media.saver import make_renditions
from weike.plugins.media.settings import profile_name
from weike.plugins.media.profile import DuplicateProfile, UnknownProfile, resolve_profile
from weike.plugins.media.subtitles import SubtitleError

#: The content store of delivered media, in the cache folder (cache/media/<key>/).
STORE_FOLDER = "media"


@dataclass
class _Tally:
    transcoded: int = 0
    passed_through: int = 0
    from_cache: int = 0
    failed: list[str] = dataclasses.field(default_factory=list)


def _failure(code: str, plan_or_lecture, root: Path, message: str, message_en: str, hint: str = "") -> Diagnostic:
    lecture = plan_or_lecture.lecture if isinstance(plan_or_lecture, LecturePlan) else plan_or_lecture
    return Diagnostic(code=code, severity=Severity.ERROR, location=media_file_location(lecture, root),
                      message=message, message_en=message_en, hint=hint)


def _delivery_failure(plan: LecturePlan, root: Path, error: BaseException) -> Diagnostic:
    # A full or read-only cache or dist/ is neither the source's fault nor a bug to report.
    if (fault := disk_fault(error, root=root, writing=plan.job.store_root,
                            location=media_file_location(plan.lecture, root))) is not None:
        return fault
    if isinstance(error, DeliveryFailed):
        detail = f" — {error.detail.splitlines()[-1]}" if error.detail else ""
        return _failure("E215", plan, root, f"交付失败：{error.message}", f"delivery failed: {error.message_en}{detail}",
                        hint="用 weike probe 检查这个文件；如果播放器也打不开，请重新导出或复制。")
    if isinstance(error, ClusterJobLost):
        return _failure("E215", plan, root, f"交付失败：{error.message}", f"delivery failed: {error.message_en}",
                        hint="检查 Dask worker 的日志和内存；重新运行 weike build 会接着做未完成的微课。")
    return _failure("E215", plan, root, "交付失败：内部错误", f"delivery failed: {type(error).__name__}: {error}",
                    hint="用 weike --debug build 重新运行，并把输出报告给维护者。")


def deliver_media(context: BuildContext, courses: Sequence[Course], *, made: Made | None = None) -> StageOutcome:
    """Plan, encode (what the cache lacks), join the title cards, publish: the whole media stage.

    ``made`` holds the header probes the check made (each source probed once per build); a source
    changed since, or not probed by the check, is probed here."""
    root, paths, progress = context.paths.root, context.paths, context.progress
    try:
        profile = resolve_profile(context.plugin_manager, profile_name(context.config))
    except (UnknownProfile, DuplicateProfile) as exc:
        return StageOutcome(diagnostics=(_profile_problem(context.config, exc),))

    store_root = paths.cache / STORE_FOLDER
    store = ContentStore(store_root)
    store.remove_stale_temps()
    diagnostics: list[Diagnostic] = []
    tally = _Tally()
    every_lecture = [(course, lecture) for course in courses for lecture in course.lectures]

    # 0. A course whose inputs and delivered files are as the last stage recorded them is handed
    #    forward whole, its values unpickled from the ledger; in any other course, each lecture
    #    that is so: neither is planned, verified or placed again (ledger.py). The manifest's
    #    records are read only when the ledger lacks a value, or the manifest is written again.
    media_root = paths.media
    ledger = DeliveryLedger(paths.cache, media_root)
    trusted = not context.force and ledger.trusts(media_root / MANIFEST_FILE)
    shared = _CourseDigests(context, courses, profile)
    course_inputs = {course.slug: _course_inputs(context, shared, course) for course in courses if course.slug in shared}
    digests: dict[str, str] = {}
    kept: dict[str, DeliveredMedia] = {}
    read: list[dict | None] = []  # the manifest, once read

    def manifest_records() -> dict:
        if not read:
            read.append(read_manifest(media_root))
        return read[0]["lectures"] if read[0] is not None else {}

    def from_records(course: Course, lectures: Sequence[Lecture]) -> dict[str, DeliveredMedia] | None:
        """The lectures' values as their manifest records describe them (the ledger had none)."""
        records = manifest_records()
        handed = {}
        for lecture in lectures:
            record = records.get(lecture.key)
            media = None if not isinstance(record, dict) else delivered_from_record(
                record, media_root, course_slug=course.slug, lecture_slug=lecture.slug, present=True)
            if media is None:
                return None
            handed[lecture.key] = media
        return handed

    # Lectures made from the same inputs whose delivered files changed on disk since: their cache
    # entries are checked against the SHA-256 recorded at commit (a file edited in place through its
    # hard link would pass a check of sizes alone).
    suspects: set[str] = set()
    with collector_paused():  # the values taken back live on: nothing for the collector to free
        for course in courses:
            if course.slug not in shared:
                continue
            keys = [lecture.key for lecture in course.lectures]
            if trusted and ledger.course_unchanged(course.slug, course_inputs[course.slug], keys):
                handed = ledger.recall(course.slug, keys)
                if handed is not None:
                    ledger.keep_course(course.slug, keys)
                    kept.update((key, handed[key]) for key in keys)
                    continue
                if (handed := from_records(course, course.lectures)) is not None:
                    for key, media in handed.items():
                        ledger.keep(key, media)
                    kept.update(handed)
                    continue
            examined = {lecture.key: lecture_digest(shared[course.slug], lecture) for lecture in course.lectures}
            digests.update(examined)
            if not trusted:
                continue
            same = []
            for lecture in course.lectures:
                if not ledger.same_inputs(lecture.key, examined[lecture.key]):
                    continue
                if not ledger.unchanged(lecture.key, examined[lecture.key]):
                    suspects.add(lecture.key)
                    continue
                same.append(lecture)
            if not same:
                continue
            handed = ledger.recall(course.slug, [lecture.key for lecture in same]) or from_records(course, same) or {}
            for lecture in same:
                if (media := handed.get(lecture.key)) is not None:
                    kept[lecture.key] = media
                    ledger.keep(lecture.key, media)
    lectures = [pair for pair in every_lecture if pair[1].key not in kept]
    if lectures:
        # Until this stage ends, dist/media is being changed: a build killed meanwhile leaves no
        # ledger, and the next one looks at every lecture (and tidies every course folder).
        ledger.forget()

    # 1. Hash and probe every source (memoised), and decide how each is delivered.
    plans: list[LecturePlan] = []
    memo = shared_memo(paths.cache)
    checked = probed_sources(made)

    def probe_of(lecture: Lecture):
        found = checked.get(lecture.key)
        media = lecture.media
        if found is None or media is None or media.path is None or not found.current(media.path):
            return None
        return found.info

    # No per-lecture lines here: with the memo this takes moments, and CI logs stay short.
    progress.step("探测 probe", total=len(lectures))

    def plan(pair: tuple[Course, Lecture]):
        course, lecture = pair
        try:
            return plan_lecture(course, lecture, root=root, memo=memo, profile=profile, store_root=store_root,
                                cards=title_card_settings(context.config, course), probed=probe_of(lecture))
        except (ProbeError, DeliveryFailed) as exc:
            return exc
        except OSError as exc:  # vanished or unreadable between the check and now
            return ProbeError(ProbeProblem.UNREADABLE, exc.strerror or str(exc))

    # Sources whose hash and probes are remembered are planned in order; the rest in a pool.
    headers_kind, packets_kind = probe_kind(), probe_kind(packets=True)

    def remembered(pair: tuple[Course, Lecture]) -> bool:
        media = pair[1].media
        if media is None or media.path is None or not is_memoised(memo, "sha256", media.path):
            return False
        if is_memoised(memo, packets_kind, media.path):
            return True
        if (info := probe_of(pair[1])) is not None:
            return not may_pass_through(info, profile)
        try:
            headers = memo.get(headers_kind, media.path)
        except OSError:
            return False
        return headers is not None and ("error" in headers or not may_pass_through(
            info_from_dict(headers["info"]), profile))

    known = [remembered(pair) for pair in lectures]
    quick = [pair for pair, hit in zip(lectures, known) if hit]
    slow = [pair for pair, hit in zip(lectures, known) if not hit]
    with ThreadPoolExecutor(max_workers=available_cores() * 2) as pool:
        planned = [*zip(quick, map(plan, quick)), *zip(slow, pool.map(plan, slow))]
        for (course, lecture), result in planned:
            progress.count()
            if isinstance(result, ProbeError):
                name = lecture.media.path.name if lecture.media and lecture.media.path else lecture.slug
                diagnostics.append(probe_problem(result, media_file_location(lecture, root), name,
                                                 source=lecture.media.path if lecture.media else None))
                tally.failed.append(media_file_location(lecture, root).file)
            elif isinstance(result, DeliveryFailed):
                diagnostics.append(_failure("E215", lecture, root, f"交付失败：{result.message}",
                                            f"delivery failed: {result.message_en}"))
                tally.failed.append(media_file_location(lecture, root).file)
            else:
                plans.append(result)

    # 2. Run what the cache does not have yet: one job per distinct key, longest first.
    by_key: dict[str, list[LecturePlan]] = defaultdict(list)
    for item in plans:
        by_key[item.job.key].append(item)
    verify = {key for item in plans if item.lecture.key in suspects for key in (item.job.key, item.delivered_key)}
    results: dict[str, dict | BaseException] = {}
    pending = []
    for key, group in by_key.items():
        entry = store.get(key, verify=context.force or key in verify)
        if entry is not None:
            results[key] = dict(entry.facts)
        else:
            store.discard(key)  # damaged (--force re-hashes): made again, never trusted
            pending.append(group)
    if pending:
        try:
            executor = make_executor(jobs=context.jobs, scheduler=context.scheduler)
        except ExecutorUnavailable as exc:
            diagnostics.append(_executor_problem(context, exc))
            return StageOutcome(diagnostics=tuple(diagnostics), summary=(_no_cluster_summary(context, len(pending)),))
        # --- cluster: every worker must see the files and run the same weike and ffmpeg ---
        if isinstance(executor, ClusterExecutor):
            unready = cluster_problems(context, executor, pending, store_root)
            if unready:
                executor.shutdown(wait=False)
                diagnostics.extend(unready)
                return StageOutcome(diagnostics=tuple(diagnostics),
                                    summary=(_no_cluster_summary(context, len(pending)),))
        # --- end cluster ---
        _run_jobs(context, executor, pending, results)
        # A worker killed mid-job on this host left its temp folder: gone now, not at the next build.
        store.remove_stale_temps()
    encoded_now = {group[0].job.key for group in pending}
    # 2b. Title cards: joined to content that was delivered, a few seconds of encoding each.
    joined_now = _join_cards(context, plans, results, verify=verify)

    # 3. Publish into dist/media and describe what was delivered.
    delivered: dict[str, DeliveredMedia] = dict(kept)
    manifest_entries: dict[str, dict] = {}
    outputs: list[Path] = [p for media in kept.values() for p in _delivered_files(media)]
    tally.from_cache += len(kept)
    counted: set[str] = set()
    for key, group in by_key.items():
        for item in group:
            result = results[key]
            if item.card_job is not None and not isinstance(result, BaseException):
                result = results[item.card_job.key]
            if isinstance(result, BaseException):
                diagnostics.append(_delivery_failure(item, root, result))
                tally.failed.append(media_file_location(item.lecture, root).file)
                continue
            try:
                media, record = place_delivered(item, result, store, paths.media, root)
            except (SubtitleError, OSError) as exc:
                subtitles = item.lecture.subtitles.path if item.lecture.subtitles else None
                if isinstance(exc, SubtitleError) and subtitles is not None:
                    diagnostics.append(subtitle_problem(exc, repository_path(subtitles, root)))
                else:
                    diagnostics.append(_delivery_failure(item, root, exc))
                tally.failed.append(media_file_location(item.lecture, root).file)
                continue
            delivered[item.lecture.key] = media
            manifest_entries[item.lecture.key] = record
            if item.lecture.key in digests:
                ledger.note(item.lecture.key, digests[item.lecture.key], record, media,
                            cards=item.card_job is not None)
            outputs.extend(_delivered_files(media))
            if key in encoded_now and key not in counted:
                counted.add(key)
                if result.get("method") == "passthrough":
                    tally.passed_through += 1
                else:
                    tally.transcoded += 1
            else:
                tally.from_cache += 1

    manifest = media_root / MANIFEST_FILE
    if lectures or not ledger.names_every_record() or set(kept) != ledger.recorded_lectures():
        # Handed forward unchanged: their records stay as they are (and their files are not looked for again).
        records = manifest_records()
        if any(key not in records for key in kept):
            ledger.forget()  # not the manifest it was written with after all: the next stage looks at every lecture
        manifest_entries.update({key: records[key] for key in kept if key in records})
        placed = {course.slug for course, _ in lectures}
        manifest, written = write_manifest(paths.media, manifest_entries, courses, root, profile, previous=read[0],
                                           as_written=trusted, placed=placed if kept else None)
    else:
        # Every lecture the manifest holds was handed forward, and no other is delivered: it stays
        # as written, and is not read.
        written = set(kept)
    outputs.append(manifest)
    if shared.setup is not None:
        for course in courses:
            ledger.note_course(course.slug, course_inputs[course.slug], [lecture.key for lecture in course.lectures])
        ledger.save(manifest, complete=written == ledger.noted_lectures())
    summary = _summary_lines(tally, len(every_lecture))
    with_cards = sum(1 for item in plans if item.card_job is not None
                     and not isinstance(results.get(item.card_job.key), BaseException))
    with_cards += sum(1 for key in kept if ledger.cards(key))
    if with_cards:
        summary.append(f"片头片尾：{with_cards} 个微课（新拼接 {joined_now}） "
                       f"(title cards: {with_cards} lectures, {joined_now} joined now)")
    # 4. The renditions later stages asked for, made once here and handed forward with the delivery.
    delivered, rendition_problems = make_asked_renditions(context, delivered)
    diagnostics.extend(rendition_problems)
    return StageOutcome(diagnostics=tuple(diagnostics), outputs=tuple(outputs),
                        delivered=MappingProxyType(delivered), summary=tuple(summary))


def _delivered_files(media: DeliveredMedia) -> list[Path]:
    """Every file of a lecture in dist/media (the build stamp replays only while all are untouched)."""
    return [p for p in (media.path, media.poster, media.subtitles, media.subtitles_srt) if p is not None]


class _CourseDigests:
    """Each course's digest for the ledger (the setup, its values but its lectures, its cover, its
    title cards), by slug, made when first asked for: a course the check keyed and nothing of
    which changed needs none. None at all without an ffmpeg to name (then every lecture takes the
    full path, which reports what is missing)."""

    def __init__(self, context: BuildContext, courses: Sequence[Course], profile) -> None:
        self._config = context.config
        self._courses = {course.slug: course for course in courses}
        self._made: dict[str, str] = {}
        try:
            self.setup: str | None = setup_digest(
                profile_fingerprint=profile.fingerprint(), encoder=ffmpeg.version(),
                recipes=(RECIPE_VERSION, CARD_RECIPE_VERSION), media_root=context.paths.media,
                inputs=ffmpeg.recipe_inputs())
        except (ffmpeg.FfmpegNotFound, ffmpeg.FfmpegError):
            self.setup = None

    def __contains__(self, slug: str) -> bool:
        return self.setup is not None and slug in self._courses

    def __getitem__(self, slug: str) -> str:
        if slug not in self._made:
            course = self._courses[slug]
            self._made[slug] = course_digest(self.setup, course, title_card_settings(self._config, course))
        return self._made[slug]


def _course_inputs(context: BuildContext, shared: _CourseDigests, course: Course) -> str:
    """One digest of everything the deliveries of ``course``'s lectures are made from.

    With the check's key of the course (its folder's entries and everything outside it loading
    depends on: weike.yml, the code; the sources, subtitles, pictures and cover are files of the
    folder, and its values and title cards come from course.yml and weike.yml) it is the setup and
    that key, one hash per course, no lecture nor the course's values looked at; without one, the
    course's digest and its lectures' own parts (:func:`lectures_digest`)."""
    key = context.course_keys.get(course.slug)
    if key is None:
        return lectures_digest(shared[course.slug], course.lectures)
    return hashlib.sha256(f"{shared.setup}\0{key}\0{len(course.lectures)}".encode()).hexdigest()


def make_asked_renditions(context: BuildContext, delivered: dict[str, DeliveredMedia]):
    """``delivered`` with the renditions every plugin asked for (``weike_media_renditions``), and W409s."""
    recipes = [recipe for answer in context.plugin_manager.hook.weike_media_renditions(context=context)
               for recipe in (answer or ())]
    if not recipes:
        return make_renditions(delivered, (), context.paths.cache)
    task = context.progress.task(f"省流量视频 {len(delivered)} 个 (data-saver renditions)")
    made, problems = make_renditions(delivered, recipes, context.paths.cache, jobs=context.jobs)
    task.done(f"{sum(1 for media in made.values() if media.renditions)} 个 (made or from cache)")
    return made, problems


def _join_cards(context: BuildContext, plans: list[LecturePlan], results: dict, *, verify: set[str]) -> int:
    """Join the cards of every plan whose content was delivered; record facts or the exception per card key.

    Runs here, not on a cluster: each join is a few seconds of card and a stream copy.
    """
    pending: dict[str, CardJob] = {}
    for item in plans:
        job = item.card_job
        if job is None or job.key in results:
            continue
        if isinstance(results.get(item.job.key), BaseException):
            results[job.key] = results[item.job.key]
            continue
        entry = ContentStore(job.store_root).get(job.key, verify=context.force or job.key in verify)
        if entry is not None:
            results[job.key] = dict(entry.facts)
        else:
            ContentStore(job.store_root).discard(job.key)  # damaged: joined again, never trusted
            pending[job.key] = job
    if not pending:
        return 0
    context.progress.stage("片头片尾 title cards", total=len(pending))
    workers = max(1, min(len(pending), context.jobs or available_cores()))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(join_cards, job): key for key, job in pending.items()}
        for future in as_completed(futures):
            try:
                results[futures[future]] = future.result()
            except Exception as exc:  # noqa: BLE001 - every failure becomes that lecture's diagnostic
                results[futures[future]] = exc
    return len(pending)


def _run_jobs(context: BuildContext, executor: Executor, pending: list[list[LecturePlan]], results: dict) -> None:
    """Submit one job per group, longest first; record facts or the exception per key."""
    progress = context.progress
    in_process = runs_in_process(executor)
    pending = sorted(pending, key=lambda group: -(group[0].job.info.duration or 0.0))
    threads = job_threads(executor, jobs=context.jobs, running=len(pending))
    progress.step("转码 transcode", total=len(pending))
    futures: dict[Future, tuple[list[LecturePlan], object]] = {}
    root = context.paths.root
    try:
        for group in pending:
            first = group[0]
            job = dataclasses.replace(first.job, threads=threads)
            label = repository_path(first.source, root) + (f" (+{len(group) - 1} 相同 same)" if len(group) > 1 else "")
            task = _JobDisplay(progress, label, total=max(0.1, first.job.info.duration or 0.1))
            callback = task.update if in_process else None
            futures[executor.submit(deliver_to_store, job, callback)] = (group, task)
        for future in as_completed(futures):
            group, task = futures[future]
            key = group[0].job.key
            try:
                facts = future.result()
            except Exception as exc:  # noqa: BLE001 - every failure becomes that lecture's diagnostic
                results[key] = exc
                task.done(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, failed=True)
            else:
                results[key] = facts
                message = f"{facts['method']} {facts['duration']:.1f} s, {facts['size'] / 1e6:.1f} MB"
                if isinstance(future, ClusterFuture):  # no live bar on a cluster: say where and how long
                    task.done(f"{message}, on {future.host}", seconds=future.seconds)
                else:
                    task.done(message)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


class _JobDisplay:
    """A job's progress bar, shown from the moment the job starts running (not while it queues)."""

    def __init__(self, progress, label: str, *, total: float) -> None:
        self._progress, self._label, self._total = progress, label, total
        self._task = None
        self._lock = threading.Lock()

    def _ensure(self):
        with self._lock:
            if self._task is None:
                # Counted in seconds of video done by ffmpeg.
                self._task = self._progress.task(self._label, total=self._total, unit="秒")
            return self._task

    def update(self, seconds: float) -> None:
        self._ensure().update(min(seconds, self._total))

    def done(self, message: str = "", *, failed: bool = False, seconds: float | None = None) -> None:
        """Finish the bar; ``seconds`` = how long the job ran elsewhere (a cluster worker)."""
        task = self._ensure()
        if seconds is not None:
            # Its bar only appears now, so the display's own clock would say 0 s.
            task.started = time.monotonic() - seconds
        task.done(message, failed=failed)


def _summary_lines(tally: _Tally, total: int) -> list[str]:
    delivered = total - len(tally.failed)
    lines = [f"媒体：{delivered}/{total} 个微课已交付（转码 {tally.transcoded}，直通 {tally.passed_through}，"
             f"缓存 {tally.from_cache}） (media: {delivered}/{total} lectures delivered: {tally.transcoded} transcoded, "
             f"{tally.passed_through} passed through, {tally.from_cache} from cache)"]
    for path in tally.failed:
        lines.append(f"  媒体失败 FAILED {path}")
    return lines


def _profile_problem(config: WeikeConfig, exc: Exception) -> Diagnostic:
    location = config.locations.get("profile") or SourceLocation(file=CONFIG_FILE)
    if isinstance(exc, UnknownProfile):
        return Diagnostic(code="E216", severity=Severity.ERROR, location=location,
                          message=exc.message, message_en=str(exc),
                          hint="可用的交付规格：" + "、".join(exc.known) + "；不写 profile 就用 default。")
    return Diagnostic(code="E216", severity=Severity.ERROR, location=location,
                      message=exc.message, message_en=str(exc),
                      hint="运行 weike plugins 查看插件，删除或改名其中一个。")
