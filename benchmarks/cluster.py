"""Cluster benchmark: media jobs locally, on a Dask cluster through shared paths, and as bytes, in one run.

    python benchmarks/cluster.py                         # about 4 minutes on 2 cores
    python benchmarks/cluster.py --lectures 8 --seconds 10 --workers 4 --repeat 1 --transfer-mb 500

One course of N lectures, each its own job (distinct camera-like 720p30 sources with grain, S
seconds each), delivered from a cold cache three ways:

* local: ``weike build --only media --jobs W`` (the thread pool);
* cluster, paths (what weike does): the same build with ``--scheduler`` on a ``LocalCluster``
  of W single-thread worker processes; sources are read and outputs written through the file
  system every worker shares;
* cluster, bytes (the alternative, implemented here only to measure it): each source's bytes
  scattered to a worker, delivered into a store in the worker's own temp folder, the delivered
  files' bytes sent back and committed into the cache by the building machine.

The three are run in turn ``--repeat`` times and the best time of each is kept, so that other
work on the machine blurs the comparison less. Then the raw cost of moving bytes: a blob of
``--transfer-mb`` sent to a worker and fetched back. On one machine the "network" is the
loopback interface, so the bytes figures are the best case; over a 1 Gbit/s LAN each MB costs
at least another 8 ms each way. Compare the ratios, taken in one run.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.catalogue import course_yml  # noqa: E402
from weike.plugins.media import runner as ffmpeg  # noqa: E402
from weike.builder.cli import main as weike  # noqa: E402
from weike.builder.keeping.store import ContentStore  # noqa: E402
from weike.builder.repository.loading import load_repository  # noqa: E402
from weike.builder.running.executor import available_cores, threads_per_job  # noqa: E402
from weike.plugins.media.profile import DEFAULT_PROFILE  # noqa: E402
from weike.plugins.media import plan_lecture, shared_memo  # noqa: E402
from weike.plugins.media.encoding import deliver_to_store  # noqa: E402
from weike.plugins.media.stage import STORE_FOLDER  # noqa: E402

GRAIN = "noise=alls=14:allf=t+u"


def make_course(workdir: Path, *, lectures: int, seconds: int) -> Path:
    """A repository with one course whose first ``lectures`` lectures have distinct 720p30 sources."""
    from PIL import Image

    root = workdir / "repo"
    shutil.rmtree(root, ignore_errors=True)
    course = root / "courses" / "bench"
    course.mkdir(parents=True)
    (course / "course.yml").write_text(course_yml(title="基准测试课程"), encoding="utf-8")
    Image.new("RGB", (1280, 720), (40, 110, 170)).save(course / "cover.jpg", quality=90)
    patterns = ["testsrc2", "smptehdbars", "rgbtestsrc", "testsrc", "mandelbrot", "cellauto", "life", "yuvtestsrc"]
    for number in range(1, max(10, lectures) + 1):
        folder = course / f"{number:02d}-l{number}"
        folder.mkdir()
        (folder / "lecture.md").write_text(f"---\ntitle: 第{number}讲\nknowledge_point: 测量\n---\n\n讲义。\n",
                                           encoding="utf-8")
        source = folder / "source.mp4"
        if number > lectures:
            # The call asks for ten lectures: the ones beyond N reuse lecture 1's file (no new job).
            shutil.copyfile(course / "01-l1/source.mp4", source)
            continue
        pattern = patterns[(number - 1) % len(patterns)]
        hue = (number - 1) // len(patterns) * 40
        ffmpeg.run(["-hide_banner", "-y", "-f", "lavfi", "-i", f"{pattern}=size=1280x720:rate=30",
                    "-f", "lavfi", "-i", f"sine=frequency={200 + 40 * number}:sample_rate=44100",
                    "-vf", f"{GRAIN},hue=h={hue}", "-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast",
                    "-crf", "18", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", str(source)])
    return root


def fresh_cache(workdir: Path, name: str) -> Path:
    cache = workdir / f"cache-{name}"
    shutil.rmtree(cache, ignore_errors=True)
    os.environ["WEIKE_CACHE_DIR"] = str(cache)
    shutil.rmtree(workdir / "repo" / "dist", ignore_errors=True)
    return cache


def timed_build(root: Path, *args: str) -> float:
    started = time.monotonic()
    with redirect_stdout(io.StringIO()) as out:
        code = weike(["build", str(root), "--only", "media", "-q", *args])
    if code != 0:
        raise SystemExit(f"weike build failed:\n{out.getvalue()}")
    return time.monotonic() - started


# --------------------------------------------------------------------------------------------
# The bytes alternative (not in weike: measured here)
# --------------------------------------------------------------------------------------------


def deliver_from_bytes(job, source: bytes, still: bytes | None) -> dict:
    """On a worker: the source from bytes into a private temp folder, delivered there, files returned as bytes."""
    with tempfile.TemporaryDirectory(prefix="weike-bytes-") as folder:
        folder = Path(folder)
        local_source = folder / f"source{job.source.suffix}"
        local_source.write_bytes(source)
        local_still = None
        if still is not None:
            local_still = folder / f"still{job.still.suffix}"
            local_still.write_bytes(still)
        local = dataclasses.replace(job, source=local_source, still=local_still, store_root=folder / "store")
        facts = deliver_to_store(local)
        entry = ContentStore(folder / "store").folder(job.key)
        return {"facts": facts, "files": {name: (entry / name).read_bytes() for name in ("video.mp4", "poster.jpg")}}


def bytes_build(root: Path, cache: Path, client, *, workers: int) -> tuple[float, int]:
    """Plan like the stage, run every job as bytes on the cluster, commit the results; (seconds, bytes moved)."""
    started = time.monotonic()
    repository = load_repository(root)
    store = ContentStore(cache / STORE_FOLDER)
    plans = {}
    memo = shared_memo(cache)
    for course in repository.courses:
        for lecture in course.lectures:
            plan = plan_lecture(course, lecture, root=root, memo=memo, profile=DEFAULT_PROFILE,
                                store_root=store.root)
            plans.setdefault(plan.job.key, plan)
    threads = threads_per_job(workers, running=len(plans))
    moved = 0
    futures = []
    for plan in sorted(plans.values(), key=lambda p: -(p.job.info.duration or 0)):
        job = dataclasses.replace(plan.job, threads=threads)
        source = job.source.read_bytes()
        still = job.still.read_bytes() if job.still else None
        moved += len(source) + len(still or b"")
        # Scattered straight to a worker: big arguments must not travel through the scheduler.
        [source_ref] = client.scatter([source], hash=False)
        futures.append(client.submit(deliver_from_bytes, job, source_ref, still, pure=False))
    from distributed import as_completed

    for future in as_completed(futures, loop=client.loop):
        result = future.result()
        facts = {k: v for k, v in result["facts"].items() if k not in ("key", "files")}
        with store.writing() as temp:
            for name, data in result["files"].items():
                (temp / name).write_bytes(data)
                moved += len(data)
            store.commit(result["facts"]["key"], temp, facts)
        future.release()
    return time.monotonic() - started, moved


def transfer_rate(client, megabytes: int) -> tuple[float, float]:
    """Seconds to send ``megabytes`` to a worker and to fetch them back."""
    blob = os.urandom(megabytes * 1_000_000)
    started = time.monotonic()
    [ref] = client.scatter([blob], hash=False)
    client.wait_for_workers(1)
    ref.result()  # resolves once the worker holds it
    sent = time.monotonic() - started
    # A copy made on the worker, so that fetching it back really moves the bytes again.
    copy = client.submit(bytes, ref, pure=False)
    copy_ready = client.gather(client.submit(len, copy, pure=False))
    assert copy_ready == len(blob)
    started = time.monotonic()
    back = copy.result()
    fetched = time.monotonic() - started
    assert len(back) == len(blob)
    return sent, fetched


def store_digest(cache: Path) -> dict[str, str]:
    """``key -> sha256 of the delivered video`` of every entry: equal stores hold equal files."""
    return {key: json.loads((folder / "entry.json").read_text())["sha256"]
            for key, folder in ContentStore(cache / STORE_FOLDER).entries()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lectures", type=int, default=4, help="distinct sources, one job each (default 4)")
    parser.add_argument("--seconds", type=int, default=5, help="length of each source (default 5)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each way, best kept (default 3)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes = local --jobs (default 2)")
    parser.add_argument("--transfer-mb", type=int, default=200, help="blob size for the transfer figure")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temp folder)")
    args = parser.parse_args(argv)

    from distributed import Client, LocalCluster

    workdir = args.keep or Path(tempfile.mkdtemp(prefix="weike-cluster-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        root = make_course(workdir, lectures=args.lectures, seconds=args.seconds)
        sources = sorted((root / "courses/bench").glob("*/source.mp4"))[:args.lectures]
        source_mb = sum(s.stat().st_size for s in sources) / 1e6
        print(f"weike cluster benchmark: {args.lectures} jobs of {args.seconds} s 720p30 "
              f"({source_mb:.1f} MB of sources), {args.workers} workers, {available_cores()} cores, "
              f"{ffmpeg.version()}")

        best = {"local": float("inf"), "paths": float("inf"), "bytes": float("inf")}
        with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR) as cluster, \
                Client(cluster.scheduler_address, set_as_default=False) as client:
            for _ in range(args.repeat):
                local_cache = fresh_cache(workdir, "local")
                best["local"] = min(best["local"], timed_build(root, "--jobs", str(args.workers)))
                paths_cache = fresh_cache(workdir, "paths")
                best["paths"] = min(best["paths"], timed_build(root, "--scheduler", cluster.scheduler_address))
                bytes_cache = fresh_cache(workdir, "bytes")
                seconds, moved = bytes_build(root, bytes_cache, client, workers=args.workers)
                best["bytes"] = min(best["bytes"], seconds)
            same = store_digest(local_cache) == store_digest(paths_cache) == store_digest(bytes_cache)
            sent, fetched = transfer_rate(client, args.transfer_mb)

        local = best["local"]
        print(f"  best of {args.repeat}, cold cache each time:")
        print(f"  local thread pool, --jobs {args.workers}:          {local:7.1f} s")
        print(f"  cluster, shared paths (weike):       {best['paths']:7.1f} s   ratio {best['paths'] / local:.2f} x local")
        print(f"  cluster, bytes through Dask:         {best['bytes']:7.1f} s   ratio {best['bytes'] / local:.2f} x local "
              f"({moved / 1e6:.1f} MB moved per run)")
        print(f"  identical cache entries in all three: {same}")
        rate = args.transfer_mb / sent
        print(f"  moving {args.transfer_mb} MB: to a worker {sent:.2f} s ({rate:.0f} MB/s), back {fetched:.2f} s "
              f"({args.transfer_mb / fetched:.0f} MB/s) over loopback")
        print(f"  => bytes mode moves {moved / 1e6:.0f} MB: >= {moved / 1e6 / rate:.1f} s here, "
              f">= {moved / 1e6 * 8 / 1000:.1f} s over 1 Gbit/s, all of it held in memory on both ends")
    finally:
        os.environ.pop("WEIKE_CACHE_DIR", None)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
