"""The media stage on a real Dask cluster (``distributed.LocalCluster``, worker processes on 127.0.0.1).

No mocks: the workers are separate processes that import weike and run ffmpeg themselves, the
same as on a cluster of machines sharing storage.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import dask.config
import distributed
import psutil
import pytest

from weike.builder.cli import main
from weike.builder.running.executor import CLUSTER_TIMEOUT_SETTING
from weike.plugins.media.cluster import readiness_problems, worker_readiness
from weike.plugins.media.encoding import RECIPE_VERSION
from tests.conftest import REPO_ROOT, course_files, write_tree
from tests.plugins.media_sources import assert_delivery_spec, make_source

pytestmark = pytest.mark.slow


#: Long enough (4 s, upscaled to 720p) that a worker can be caught in the middle of encoding it.
SLOW_CLIP = ["-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=4",
             "-f", "lavfi", "-i", "sine=frequency=440:duration=4:sample_rate=48000",
             "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"]


def local_cluster(**kwargs):
    """Two single-thread worker processes: the same parallelism as ``--jobs 2`` on this machine."""
    options = dict(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address="127.0.0.1:0",
                   silence_logs=logging.ERROR)
    return distributed.LocalCluster(**{**options, **kwargs})


@pytest.fixture(scope="module")
def scheduler():
    with local_cluster() as cluster:
        yield cluster.scheduler_address


@pytest.fixture
def mixed_course(tmp_path, media, cover_jpeg):
    """``mixed_course(name)``: the same course in a fresh repository each call.

    Four jobs of four kinds (a transcode, a pass-through, pure audio, a silent animation), each
    source used by several lectures.
    """
    sources = {
        1: media("landscape.mp4"), 2: make_source(media, "conforming.mp4"), 3: media("tone.mp3"),
        4: make_source(media, "no-audio.mp4"),
    }

    def make(name: str) -> Path:
        root = tmp_path / name
        write_tree(root, course_files("c", media_file=media("landscape.mp4"), cover=cover_jpeg))
        for number in range(1, 11):
            folder = root / f"courses/c/{number:02d}-lecture-{number}"
            (folder / "video.mp4").unlink()
            source = sources[number % 4 + 1]
            shutil.copyfile(source, folder / f"source{source.suffix}")
        return root

    return make


def build(root: Path, *extra: str) -> int:
    return main(["build", str(root), "--only", "media", *extra])


def manifest(root: Path) -> dict:
    return json.loads((root / "dist/media/manifest.json").read_text(encoding="utf-8"))


def store_entries(root: Path) -> dict[str, bytes]:
    """Every committed cache entry's files by path inside the store (the bytes themselves)."""
    store = root / ".weike/cache/media"
    return {p.relative_to(store).as_posix(): p.read_bytes() for p in sorted(store.glob("*/*/*")) if p.is_file()}


def temps(root: Path) -> list[Path]:
    return sorted((root / ".weike/cache/media").glob(".tmp-*"))


def test_cluster_build_matches_a_local_build(mixed_course, scheduler, capsys):
    local, remote = mixed_course("local"), mixed_course("remote")
    assert build(local, "--jobs", "2") == 0
    capsys.readouterr()

    assert build(remote, "--scheduler", scheduler) == 0
    out, err = capsys.readouterr()
    assert "10/10" in out and "3 transcoded, 1 passed through" in out
    # No live bars from a worker, but a line per finished job: which host, how long it took there.
    done = [line for line in err.splitlines() if line.startswith("[转码 transcode")]
    assert len(done) == 4 and all(" ok " in line and ", on " in line for line in done), err
    assert not any("(0.0 s)" in line for line in done), done

    # Same manifest, same cache entries, byte for byte: the cluster is only another place to run.
    assert manifest(remote) == manifest(local)
    assert store_entries(remote) == store_entries(local)
    assert temps(remote) == []
    for lecture in manifest(remote)["lectures"].values():
        delivered = (remote / "dist/media" / lecture["file"]).read_bytes()
        assert delivered == (local / "dist/media" / lecture["file"]).read_bytes()


def test_unchanged_rebuild_needs_no_cluster(make_repo, capsys):
    root = make_repo(valid_courses=("c",))
    assert build(root, "--jobs", "2") == 0
    capsys.readouterr()
    # Nothing to encode: the scheduler is never contacted, so a cluster that is down is no problem,
    # whether the whole build is replayed or (--force) the media stage runs and finds everything cached.
    assert build(root, "--scheduler", "tcp://127.0.0.1:9") == 0
    assert "nothing changed" in capsys.readouterr()[0]
    assert build(root, "--scheduler", "tcp://127.0.0.1:9", "--force") == 0
    out, _ = capsys.readouterr()
    assert "缓存 10" in out and "E218" not in out


def test_unreachable_scheduler_is_one_clear_error(make_repo, capsys):
    root = make_repo(valid_courses=("c",))
    with dask.config.set({CLUSTER_TIMEOUT_SETTING: "1s"}):
        assert build(root, "--scheduler", "tcp://127.0.0.1:9") == 1
    out, err = capsys.readouterr()
    line = next(line for line in out.splitlines() if " E218 " in line)
    assert line.startswith("weike.yml:") and "tcp://127.0.0.1:9" in line and "--scheduler" in line
    assert "Traceback" not in out + err
    assert "集群 tcp://127.0.0.1:9 不可用" in out and "courses/c: 在媒体阶段失败" in out
    assert not (root / "dist/media/c").exists()


def test_scheduler_in_weike_yml_is_used_and_located(make_repo, capsys):
    root = make_repo({"weike.yml": "province: 示范省\nscheduler: tcp://127.0.0.1:9\n"}, valid_courses=("c",))
    with dask.config.set({CLUSTER_TIMEOUT_SETTING: "1s"}):
        assert build(root) == 1
    out, _ = capsys.readouterr()
    assert any(line.startswith("weike.yml:2:") and " E218 " in line and "weike.yml scheduler" in line
               for line in out.splitlines()), out


def test_a_worker_without_ffmpeg_stops_the_build_before_any_job(make_repo, capsys):
    root = make_repo(valid_courses=("c",))
    with local_cluster(n_workers=1, env={"WEIKE_FFMPEG": "/nonexistent/ffmpeg"}) as cluster:
        assert build(root, "--scheduler", cluster.scheduler_address) == 1
    out, err = capsys.readouterr()
    line = next(line for line in out.splitlines() if " E218 " in line)
    assert "ffmpeg" in line and cluster.scheduler_address.rsplit(":", 1)[0] in line
    assert "[转码 transcode" not in err  # nothing was sent
    assert temps(root) == []


def test_worker_readiness_reports_what_it_cannot_see(tmp_path, media):
    clip = media("landscape.mp4")
    report = worker_readiness(str(tmp_path / "store"), [(str(clip), clip.stat().st_size),
                                                        (str(tmp_path / "gone.mp4"), 10),
                                                        (str(clip), clip.stat().st_size + 1)])
    assert report["unseen_count"] == 2 and report["unseen"] == [str(tmp_path / "gone.mp4"), str(clip)]
    assert report["ffmpeg"] and report["store_error"] is None and report["recipe"] == RECIPE_VERSION
    assert list((tmp_path / "store").iterdir()) == []  # the write test leaves nothing behind

    expected = {"weike": report["weike"], "recipe": RECIPE_VERSION, "ffmpeg": report["ffmpeg"], "store": "/s"}
    problems = readiness_problems(report, expected=expected)
    assert len(problems) == 1 and "2 source file(s)" in problems[0][1]
    older = dict(report, unseen_count=0, unseen=[], weike="0.0.1", ffmpeg="ffmpeg version 5.1")
    assert [en.split()[0] for _, en in readiness_problems(older, expected=expected)] == ["weike", "ffmpeg"]
    assert "installed" in readiness_problems(ModuleNotFoundError("No module named 'plugins'"),
                                             expected=expected)[0][1]


def _encoding_child(worker_pids: dict[str, int]) -> tuple[int, int, Path] | None:
    """``(worker pid, ffmpeg pid, partial output)`` once a worker's ffmpeg has written part of a file."""
    for pid in worker_pids.values():
        try:
            children = psutil.Process(pid).children(recursive=True)
        except psutil.NoSuchProcess:
            continue
        for child in children:
            try:
                command = child.cmdline()
            except psutil.Error:
                continue
            outputs = [Path(arg) for arg in command if arg.endswith("video.mp4") and "/.tmp-" in arg]
            if outputs and outputs[0].is_file() and outputs[0].stat().st_size > 0:
                return pid, child.pid, outputs[0]
    return None


def test_a_worker_killed_mid_job_leaves_no_half_file_and_the_job_reruns(tmp_path, media, cover_jpeg, capsys):
    clip = media("slow.mp4", SLOW_CLIP)
    roots = {name: write_tree(tmp_path / name, course_files("c", media_file=clip, cover=cover_jpeg))
             for name in ("local", "remote")}
    assert build(roots["local"], "--jobs", "2") == 0

    with local_cluster() as cluster, distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        worker_pids = client.run(os.getpid)
        outcome: dict[str, int] = {}
        builder = threading.Thread(target=lambda: outcome.setdefault(
            "exit", build(roots["remote"], "--scheduler", cluster.scheduler_address)))
        builder.start()
        killed = None
        while builder.is_alive() and killed is None:
            killed = _encoding_child(worker_pids)
            if killed:
                # SIGKILL: no clean-up code runs in the worker, as when a machine loses power.
                os.kill(killed[0], signal.SIGKILL)
            time.sleep(0.02)
        builder.join(timeout=300)
    assert killed is not None, "the job finished before a worker could be killed in the middle of it"
    _, ffmpeg_pid, partial = killed

    assert outcome == {"exit": 0}
    assert "10/10" in capsys.readouterr().out
    # The encoder died with its worker, its half-written temp folder is gone, and the job ran again
    # elsewhere into a complete entry: the same bytes as a local build.
    deadline = time.monotonic() + 5
    while psutil.pid_exists(ffmpeg_pid) and psutil.Process(ffmpeg_pid).status() != psutil.STATUS_ZOMBIE \
            and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not psutil.pid_exists(ffmpeg_pid) or psutil.Process(ffmpeg_pid).status() == psutil.STATUS_ZOMBIE
    assert not partial.parent.exists() and temps(roots["remote"]) == []
    assert manifest(roots["remote"]) == manifest(roots["local"])
    assert store_entries(roots["remote"]) == store_entries(roots["local"])
    assert_delivery_spec(roots["remote"] / "dist/media/c/01-lecture-1.mp4")


def test_losing_the_scheduler_mid_build_fails_the_lectures_cleanly(tmp_path, media, cover_jpeg):
    root = write_tree(tmp_path / "repo", course_files("c", media_file=media("slow.mp4", SLOW_CLIP), cover=cover_jpeg))
    cluster = local_cluster()
    try:
        with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
            worker_pids = client.run(os.getpid)
        # A real `weike build` process: what an author's terminal shows, logging set up by the CLI.
        process = subprocess.Popen([sys.executable, "-m", "weike.builder", "build", str(root), "--only", "media",
                                    "--scheduler", cluster.scheduler_address], cwd=REPO_ROOT,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   env={**os.environ, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "5s"})
        deadline = time.monotonic() + 120
        while process.poll() is None and _encoding_child(worker_pids) is None and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        cluster.close()  # scheduler and workers gone while the job runs
    out, err = process.communicate(timeout=300)
    assert process.returncode == 1, out + err
    assert " E215 " in out and "connection to the scheduler" in out and "courses/c: 在媒体阶段失败" in out
    # Dask's own tracebacks about the lost connection stay out of the author's terminal.
    assert "Traceback" not in out + err, err
    assert temps(root) == []


def test_scheduler_without_dask_installed_is_e217(make_repo):
    root = make_repo(valid_courses=("c",))
    # A Python where distributed cannot be imported, as after a plain `pip install weike`.
    script = ("import sys; sys.modules['distributed'] = None\n"
              "from weike.builder.cli import main\n"
              f"sys.exit(main(['build', {str(root)!r}, '--only', 'media', '--scheduler', 'tcp://127.0.0.1:9']))")
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO_ROOT,
                               timeout=300, check=False)
    assert completed.returncode == 1, completed.stdout + completed.stderr
    line = next(line for line in completed.stdout.splitlines() if " E217 " in line)
    assert line.startswith("weike.yml:") and "weike[cluster]" in completed.stdout
    assert "Traceback" not in completed.stdout + completed.stderr
