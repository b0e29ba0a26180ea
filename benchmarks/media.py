"""Media stage benchmark: weike against a plain sequential ffmpeg loop, in the same run.

    python benchmarks/media.py                 # timings (about 3-5 minutes on 2 cores)
    python benchmarks/media.py --quality       # + VMAF and bitrate of the default profile
    python benchmarks/media.py --sweep         # + VMAF/bitrate for other CRF values and presets

It generates a 12-lecture course of mixed synthetic sources (camera-like grain, graphics,
portrait phone video, rotation flag, 60 fps, interlaced 4:3, variable frame rate, pure audio,
audio with cover art, a silent animation, an already-conforming file and a lecture that reuses
another's file), then measures:

* the plain loop: every lecture through the same ffmpeg commands weike uses (same filters, same
  encoder settings, two-pass loudness), one after another, ffmpeg using every core;
* ``weike build --only media`` with a cold cache, and the ratio to the loop (target <= 0.8);
* a no-change rebuild and its ratio to the first build (target <= 2 %);
* pass-through: delivering the conforming file, against transcoding that same file.

Figures depend on the machine and on what else runs on it: compare ratios, taken in one run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import ffmpeg as ffmpeg_python  # noqa: E402

from benchmarks.catalogue import course_yml  # noqa: E402
from weike.plugins.media import runner as ffmpeg  # noqa: E402
from weike.builder.running.executor import available_cores  # noqa: E402
from weike.plugins.media.probe import probe_media  # noqa: E402
from weike.plugins.media.profile import DEFAULT_PROFILE, DeliveryProfile  # noqa: E402
from weike.plugins.media.encoding import (  # noqa: E402
    DeliveryJob,
    SourceLength,
    _fit_video,
    analyse_loudness,
    build_command,
    deliver_to_store,
)

SECONDS = 10
GRAIN = "noise=alls=14:allf=t+u"
SPEECH = ("aevalsrc='0.3*sin(2*PI*220*t)*(0.55+0.45*sin(2*PI*3*t))+0.1*sin(2*PI*660*t)*(0.5+0.5*sin(2*PI*1.3*t))'"
          ":s=44100:d={d}")


def _video(src: str, *, audio: bool = True, vf: str | None = None, extra: tuple[str, ...] = ()) -> list[str]:
    args = ["-f", "lavfi", "-i", src]
    if audio:
        args += ["-f", "lavfi", "-i", SPEECH.format(d=SECONDS)]
    if vf:
        args += ["-vf", vf]
    args += ["-t", str(SECONDS), "-c:v", "libx264", "-preset", "veryfast", "-crf", "16", "-pix_fmt", "yuv420p", *extra]
    args += ["-c:a", "aac", "-b:a", "96k"] if audio else ["-an"]
    return args


#: lecture folder -> (file name, ffmpeg arguments, what it stands for)
SOURCES: dict[str, tuple[str, list[str], str]] = {
    "01-camera": ("camera.mp4", _video("testsrc2=size=1920x1080:rate=30", vf=f"{GRAIN},gblur=sigma=0.6"),
                  "1080p30 camera-like (grain)"),
    "02-phone": ("phone.mp4", _video("testsrc2=size=720x1280:rate=30", vf=GRAIN), "portrait phone 720x1280"),
    "03-rotated": ("rotated.mp4", _video("testsrc2=size=1280x720:rate=30", vf=GRAIN), "phone, rotation flag 90"),
    "04-sixty": ("sixty.mp4", _video("testsrc2=size=1280x720:rate=60"), "720p60 screen capture"),
    "05-camcorder": ("camcorder.mp4", _video("testsrc=size=720x576:rate=50",
                                             vf="tinterlace=mode=interleave_top,setfield=tff,setsar=16/15",
                                             extra=("-flags", "+ildct+ilme", "-x264opts", "tff=1")),
                     "576i 4:3 camcorder"),
    "06-vfr": ("vfr.mp4", _video("mandelbrot=size=1280x720:rate=30",
                                 vf="select='lt(mod(n,7),5)'", extra=("-fps_mode", "vfr")), "variable frame rate"),
    "07-voice": ("voice.mp3", ["-f", "lavfi", "-i", SPEECH.format(d=SECONDS), "-ac", "1", "-ar", "22050",
                               "-c:a", "libmp3lame", "-b:a", "48k"], "pure audio, mono 22 kHz"),
    "08-podcast": ("podcast.mp3", ["-f", "lavfi", "-i", SPEECH.format(d=SECONDS), "-i", "{cover}",
                                   "-map", "0:a", "-map", "1:v", "-c:a", "libmp3lame", "-b:a", "64k",
                                   "-c:v", "mjpeg", "-disposition:v", "attached_pic"], "audio with cover art"),
    "09-animation": ("animation.mp4", _video("life=size=640x360:rate=25:mold=10:ratio=0.2", audio=False),
                     "silent noise-like animation (cap-bound)"),
    "10-conforming": ("conforming.mp4", _video("smptehdbars=size=1280x720:rate=25", vf="format=yuv420p",
                                               extra=("-g", "50", "-maxrate", "1500k", "-bufsize", "3000k",
                                                      "-movflags", "+faststart", "-ar", "48000")),
                      "already conforming 720p25"),
    "11-slides": ("slides.mp4", _video("testsrc=size=1024x768:rate=25", vf="setpts=PTS"), "4:3 slides 1024x768"),
    "12-again": ("camera.mp4", [], "same file as 01 (reused)"),
}



def make_course(workdir: Path) -> Path:
    """Write the benchmark repository (sources generated with lavfi) and return its root."""
    from PIL import Image

    root = workdir / "repo"
    course = root / "courses" / "bench"
    course.mkdir(parents=True, exist_ok=True)
    (course / "course.yml").write_text(course_yml(title="基准测试课程"), encoding="utf-8")
    Image.new("RGB", (1280, 720), (40, 110, 170)).save(course / "cover.jpg", quality=90)
    made: dict[str, Path] = {}
    for folder, (name, args, _kind) in SOURCES.items():
        target = course / folder / name
        target.parent.mkdir(exist_ok=True)
        (target.parent / "lecture.md").write_text(f"---\ntitle: {folder}\nknowledge_point: 测量\n---\n\n讲义。\n",
                                                  encoding="utf-8")
        if not args:  # reuses an earlier lecture's file, byte for byte
            shutil.copyfile(made[name], target)
            continue
        args = [a.replace("{cover}", str(course / "cover.jpg")) for a in args]
        ffmpeg.run(["-hide_banner", "-y", *args, str(target)])
        if folder == "03-rotated":
            flagged = target.with_name("flagged.mp4")
            ffmpeg.run(["-hide_banner", "-y", "-display_rotation", "90", "-i", str(target), "-c", "copy", str(flagged)])
            flagged.replace(target)
        made[name] = target
    return root


def lecture_sources(root: Path) -> list[Path]:
    course = root / "courses" / "bench"
    return [course / folder / name for folder, (name, _args, _kind) in SOURCES.items()]


def plain_loop(sources: list[Path], workdir: Path, profile: DeliveryProfile) -> float:
    """Every source through weike's ffmpeg commands, one after another, no cache, no pass-through."""
    cover = sources[0].parent.parent / "cover.jpg"
    out = workdir / "loop"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    jobs = []
    for index, source in enumerate(sources):
        info = probe_media(source, packets=True)
        method = "still" if info.is_audio_only else "transcode"
        jobs.append(DeliveryJob(key=str(index), source=source, info=info, profile=profile, store_root=out,
                                method=method, still=cover if method == "still" else None,
                                threads=available_cores()))
    started = time.monotonic()
    for job in jobs:
        # The same passes as weike: the source's own length (its sound decoded), the loudness pass.
        duration = SourceLength.of(job.info).expected
        measured = analyse_loudness(job.source, profile, timeout=None) if job.info.audio_streams else None
        args, _ = build_command(job, out / f"{job.key}.mp4", measured=measured, duration=duration)
        ffmpeg.run(["-hide_banner", "-nostdin", "-y", *args])
    return time.monotonic() - started


def weike_build(root: Path, jobs: int) -> tuple[float, list[str]]:
    from weike.builder.running.pipeline import build
    from weike.builder.running.progress import Progress

    started = time.monotonic()
    result = build(root, progress=Progress(), only="media", jobs=jobs)
    elapsed = time.monotonic() - started
    if result.failed:
        raise SystemExit(f"weike build failed: {result.failed} {[str(d.location) + ' ' + d.message_en for d in result.diagnostics]}")
    return elapsed, result.summary_lines


def cli_rebuild(root: Path, jobs: int) -> float:
    """A whole `weike build --only media` process on an unchanged repository."""
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "weike.builder", "build", str(root), "--only", "media", "--jobs", str(jobs),
                    "--quiet"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - started


def passthrough_speed(source: Path, workdir: Path, profile: DeliveryProfile) -> tuple[float, float, float]:
    """(seconds to deliver by pass-through, seconds to transcode the same file, its duration)."""
    info = probe_media(source, packets=True)
    shutil.rmtree(workdir / "speed", ignore_errors=True)
    timings = []
    for method in ("passthrough", "transcode"):
        job = DeliveryJob(key=f"speed-{method}", source=source, info=info, profile=profile,
                          store_root=workdir / "speed", method=method, threads=available_cores())
        started = time.monotonic()
        deliver_to_store(job)
        timings.append(time.monotonic() - started)
    return timings[0], timings[1], info.duration


# --------------------------------------------------------------------------------------------
# Quality: VMAF of delivered files against the source put through the same geometry, unencoded
# --------------------------------------------------------------------------------------------


def vmaf(delivered: Path, source: Path, profile: DeliveryProfile, workdir: Path) -> float:
    """Mean VMAF (v0.6.1) of ``delivered`` against ``source`` fitted into the frame without loss."""
    info = probe_media(source)
    reference = ffmpeg_python.input(str(source))["V:0"]
    if info.interlaced:
        reference = reference.filter("bwdif", mode="send_frame", parity="auto", deint="interlaced")
    reference = reference.filter("fps", profile.frame_rate)
    reference = _fit_video(reference, info.display_width, info.display_height, profile).filter("format", "yuv420p")
    distorted = ffmpeg_python.input(str(delivered))["v:0"].filter("format", "yuv420p")
    log_path = workdir / f"vmaf-{delivered.stem}.json"
    graph = ffmpeg_python.filter([distorted, reference], "libvmaf", log_fmt="json", log_path=str(log_path),
                                 n_threads=available_cores(), shortest=1)
    ffmpeg.run(["-hide_banner", "-nostdin", *ffmpeg_python.output(graph, "-", f="null").get_args()])
    data = json.loads(log_path.read_text())
    return float(data["pooled_metrics"]["vmaf"]["mean"])


def quality_report(sources: list[Path], workdir: Path, profiles: list[DeliveryProfile]) -> None:
    videos = []
    for source in dict.fromkeys(sources):
        info = probe_media(source, packets=True)
        if not info.is_audio_only and source.parent.name not in ("10-conforming", "12-again"):
            videos.append((source, info))
    print("\nquality: VMAF v0.6.1 against the source fitted into 1280x720 without loss (pass-through and still "
          "pictures left out)")
    header = f"  {'profile':34s}" + "".join(f"{s.parent.name:>16s}" for s, _ in videos) + "      min    mean  kbit/s"
    print(header)
    for profile in profiles:
        scores, bitrates = [], []
        for source, info in videos:
            job = DeliveryJob(key=f"q-{profile.fingerprint()[:12]}-{source.parent.name}", source=source, info=info,
                              profile=profile, store_root=workdir / "quality", method="transcode",
                              threads=available_cores())
            facts = deliver_to_store(job)
            delivered = workdir / "quality" / job.key[:2] / job.key / "video.mp4"
            scores.append(vmaf(delivered, source, profile, workdir))
            bitrates.append(facts["info"]["video_bitrate"] / 1000)
        label = f"{profile.encoder_preset} crf {profile.encoder_crf}"
        cells = "".join(f"{score:9.1f}/{rate:5.0f}" for score, rate in zip(scores, bitrates))
        print(f"  {label:34s}{cells}  {min(scores):7.1f} {sum(scores) / len(scores):7.1f} "
              f"{sum(bitrates) / len(bitrates):7.0f}")
    print("  (cells: VMAF / video kbit/s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=available_cores(), help="weike --jobs (default: cores)")
    parser.add_argument("--quality", action="store_true", help="also report VMAF and bitrate of the default profile")
    parser.add_argument("--sweep", action="store_true", help="also try other CRF values and presets (slow)")
    parser.add_argument("--skip-timing", action="store_true", help="only the quality report")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temp folder)")
    args = parser.parse_args(argv)

    workdir = args.keep or Path(tempfile.mkdtemp(prefix="weike-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    os.environ["WEIKE_CACHE_DIR"] = str(workdir / "cache")
    shutil.rmtree(workdir / "cache", ignore_errors=True)
    try:
        root = make_course(workdir)
        sources = lecture_sources(root)
        total = sum(probe_media(s).duration for s in sources)
        print(f"weike media benchmark: {len(sources)} lectures, {total:.0f} s of media, {available_cores()} cores, "
              f"{ffmpeg.version()}")
        for folder, (_name, _args, kind) in SOURCES.items():
            print(f"  {folder:14s} {kind}")
        profile = DEFAULT_PROFILE
        if not args.skip_timing:
            loop = plain_loop(sources, workdir, profile)
            print(f"\nplain sequential ffmpeg loop (same commands, all cores per run): {loop:7.1f} s")
            first, lines = weike_build(root, args.jobs)
            print(f"weike build --only media --jobs {args.jobs} (cold cache):           {first:7.1f} s   "
                  f"ratio {first / loop:.2f} x the loop (target <= 0.8)")
            for line in lines:
                print(f"    {line}")
            again, lines = weike_build(root, args.jobs)
            print(f"no-change rebuild:                                            {again:7.2f} s   "
                  f"ratio {100 * again / first:.1f} % of the first build (target <= 2 %)")
            command = cli_rebuild(root, args.jobs)
            print(f"no-change rebuild as a new `weike build` process:             {command:7.2f} s   "
                  f"ratio {100 * command / first:.1f} % (includes Python start-up and plugin loading)")
            copy, encode, seconds = passthrough_speed(root / "courses/bench/10-conforming/conforming.mp4", workdir,
                                                      profile)
            print(f"pass-through of {seconds:.0f} s of conforming 720p25: {copy:.2f} s ({seconds / copy:.0f}x real "
                  f"time, incl. verification); transcoding it instead: {encode:.2f} s ({encode / copy:.1f}x longer)")
        if args.quality or args.sweep:
            profiles = [profile]
            if args.sweep:
                profiles = [dataclasses.replace(profile, encoder_crf=crf) for crf in (21, 23, 25, 26, 27)]
                profiles += [dataclasses.replace(profile, encoder_preset=preset)
                             for preset in ("veryfast", "faster", "slow")]
            quality_report(sources, workdir, profiles)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
