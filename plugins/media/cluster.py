"""Distributed transcoding on a Dask cluster: is every worker ready for the media jobs?

Sources and outputs travel as paths: every worker must see the repository and the cache at the
same absolute paths (shared storage). Before any job is sent, every worker reports what it
sees and runs; a worker that cannot do the jobs stops the build with E218 naming it, instead of
every lecture failing one by one. Bytes were measured as the alternative (README, Cluster).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from weike.builder import __version__
from weike.builder.contracts.context import BuildContext
from weike.builder.contracts.model import Diagnostic, Severity, SourceLocation
from weike.builder.keeping.store import ContentStore
from weike.builder.repository.loading import CONFIG_FILE
from weike.builder.running.executor import ClusterExecutor, ClusterUnavailable, ExecutorUnavailable
from weike.plugins.media import runner as ffmpeg
from weike.plugins.media.encoding import RECIPE_VERSION
from weike.plugins.media.planning import LecturePlan

#: How many unseen files a worker lists (the count says how many there are in all).
_UNSEEN_SHOWN = 3


def worker_readiness(store_root: str | None, files: Sequence[tuple[str, int]]) -> dict:
    """What a Dask worker reports before it gets media jobs (runs on every worker).

    ``files`` = ``(absolute path, size)`` of every source and still picture the jobs read, as
    the building machine sees them. The worker must be able to write into ``store_root`` (when
    given); temp folders that killed workers of its host left there are removed.
    """
    report: dict = {"weike": __version__, "recipe": RECIPE_VERSION, "ffmpeg": None, "ffmpeg_error": None,
                    "store_error": None, "unseen": [], "unseen_count": 0}
    try:
        report["ffmpeg"] = ffmpeg.version()
    except (ffmpeg.FfmpegNotFound, ffmpeg.FfmpegError) as exc:
        report["ffmpeg_error"] = str(exc).splitlines()[0]
    try:
        if store_root is not None:
            store = ContentStore(Path(store_root))
            with store.writing():
                pass  # a temp folder made and removed: the worker can write entries here
            store.remove_stale_temps()
    except OSError as exc:
        report["store_error"] = f"{type(exc).__name__}: {exc.strerror or exc}"
    for path, size in files:
        try:
            seen = os.stat(path).st_size == size
        except OSError:
            seen = False
        if not seen:
            report["unseen_count"] += 1
            if len(report["unseen"]) < _UNSEEN_SHOWN:
                report["unseen"].append(path)
    return report


def readiness_problems(report: dict | BaseException, *, expected: dict) -> list[tuple[str, str]]:
    """``(中文, English)`` for each way a worker's report differs from this machine's ``expected``."""
    if isinstance(report, BaseException):
        return [("worker 无法运行 weike 的代码（weike 没有安装在 worker 上？）",
                 f"the worker cannot run weike's code (is weike installed there?): {type(report).__name__}: {report}")]
    problems = []
    for name, label in (("weike", "weike"), ("recipe", "weike 转码配方 recipe")):
        if report.get(name) != expected[name]:
            problems.append((f"{label} 版本 {report.get(name)} 与本机的 {expected[name]} 不同",
                             f"{name} version {report.get(name)} differs from this machine's {expected[name]}"))
    if report.get("ffmpeg_error"):
        problems.append(("worker 上找不到可用的 ffmpeg", f"no usable ffmpeg on the worker: {report['ffmpeg_error']}"))
    elif report.get("ffmpeg") != expected["ffmpeg"]:
        problems.append((f"ffmpeg 版本“{report.get('ffmpeg')}”与本机的“{expected['ffmpeg']}”不同",
                         f"ffmpeg '{report.get('ffmpeg')}' differs from this machine's '{expected['ffmpeg']}' "
                         "(outputs would not match their cache key)"))
    if report.get("store_error"):
        problems.append((f"worker 无法写入缓存目录 {expected['store']}",
                         f"the worker cannot write the cache {expected['store']}: {report['store_error']}"))
    if report.get("unseen_count"):
        shown = ", ".join(report["unseen"])
        problems.append((f"worker 看不到 {report['unseen_count']} 个源文件（或大小不同），例如 {shown}",
                         f"the worker cannot see {report['unseen_count']} source file(s) as this machine does, "
                         f"e.g. {shown}"))
    return problems


def cluster_problems(context: BuildContext, executor: ClusterExecutor, pending: list[list[LecturePlan]],
                     store_root: Path) -> list[Diagnostic]:
    """E218 per worker that cannot do the ``pending`` jobs; empty when every worker can."""
    files: dict[str, int] = {}
    for group in pending:
        for path in (group[0].job.source, group[0].job.still, group[0].job.mark):
            if path is not None:
                try:
                    files[str(path)] = os.stat(path).st_size
                except OSError:
                    continue  # vanished since it was probed: its job fails with E215 like locally
    expected = {"weike": __version__, "recipe": RECIPE_VERSION, "ffmpeg": ffmpeg.version(), "store": str(store_root)}
    try:
        reports = executor.run_on_workers(worker_readiness, str(store_root), sorted(files.items()))
    except Exception as exc:  # noqa: BLE001 - the cluster went away between connecting and asking
        return [_cluster_diagnostic(context, f"无法询问 Dask 集群 {executor.address} 的 worker",
                                    f"could not ask the workers of {executor.address}: {type(exc).__name__}: {exc}",
                                    hint="重新运行 weike build；如果再次出现，用 weike doctor --scheduler 检查集群。")]
    diagnostics = []
    for address, report in sorted(reports.items()):
        problems = readiness_problems(report, expected=expected)
        if problems:
            diagnostics.append(_cluster_diagnostic(
                context, f"Dask worker {address} 不能转码：" + "；".join(zh for zh, _ in problems),
                f"Dask worker {address} cannot take media jobs: " + "; ".join(en for _, en in problems),
                hint="每个 worker 都要安装同一版本的 weike（pip install weike[cluster]），并以相同的绝对路径看到课程仓库"
                     "和缓存目录（共享存储，如 NFS）；见 README 的“集群转码 Cluster”一节。"))
    return diagnostics


def _cluster_diagnostic(context: BuildContext, message: str, message_en: str, hint: str) -> Diagnostic:
    """A cluster problem concerns the whole build: shown at weike.yml's ``scheduler`` (or the file)."""
    location = context.config.locations.get("scheduler") or SourceLocation(file=CONFIG_FILE)
    return Diagnostic(code="E218", severity=Severity.ERROR, location=location, message=message,
                      message_en=message_en, hint=hint)


def _executor_problem(context: BuildContext, exc: ExecutorUnavailable) -> Diagnostic:
    """E217 without Dask installed, E218 when the cluster cannot be reached or has no worker."""
    if isinstance(exc, ClusterUnavailable):
        source = "weike.yml scheduler" if context.scheduler == context.config.scheduler else "--scheduler"
        return _cluster_diagnostic(
            context, f"{exc.message}（{source}）", f"{exc.message_en} ({source})",
            hint="确认调度器已启动（dask scheduler）、地址和端口正确、防火墙放行，并且至少有一个 dask worker 连上了它；"
                 "等待时间由 DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT 设置（默认 30s）。")
    location = context.config.locations.get("scheduler") or SourceLocation(file=CONFIG_FILE)
    return Diagnostic(code="E217", severity=Severity.ERROR, location=location,
                      message="分布式转码需要安装 dask[distributed]", message_en=str(exc),
                      hint="pip install 'weike[cluster]'，或去掉 --scheduler / weike.yml 的 scheduler。")


def _no_cluster_summary(context: BuildContext, jobs: int) -> str:
    return (f"媒体：集群 {context.scheduler} 不可用，{jobs} 个转码任务没有运行 "
            f"(media: cluster {context.scheduler} unusable, {jobs} job(s) not run)")
