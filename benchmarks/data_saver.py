"""Data-saver (省流量) rendition benchmark: size and VMAF against the delivered 1280×720 file.

    python benchmarks/data_saver.py            # about 5-10 minutes on 2 cores

Three 10-second synthetic sources (camera-like grain, a talking-head-like slow scene, a busy
animation) are delivered with weike's default profile, as ``weike build`` would. Each candidate
rendition is then encoded from the *delivered* file with :func:`weike.plugins.media.saver.saver_arguments`
and scored with VMAF v0.6.1 against that delivered file, the rendition upscaled (bicubic) to
1280×720 the way a phone's player does. The baseline, measured in the same run, is the
delivered file itself: its size is 100 %.

The recipe weike uses (``weike.plugins.media.saver.DEFAULT_RECIPE``) is marked with ``*``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from weike.plugins.media import runner as ffmpeg  # noqa: E402
from weike.builder.running.executor import available_cores  # noqa: E402
from weike.plugins.media.probe import probe_media  # noqa: E402
from weike.plugins.media.profile import DEFAULT_PROFILE  # noqa: E402
from weike.plugins.media.encoding import DeliveryJob, deliver_to_store  # noqa: E402
from weike.plugins.media.saver import DEFAULT_RECIPE, SaverRecipe, saver_arguments  # noqa: E402

SECONDS = 10
SPEECH = ("aevalsrc='0.3*sin(2*PI*220*t)*(0.55+0.45*sin(2*PI*3*t))+0.1*sin(2*PI*660*t)*(0.5+0.5*sin(2*PI*1.3*t))'"
          ":s=48000:d={d}")
#: name -> (lavfi video source, filters, what it stands for)
SOURCES = {
    "camera": ("testsrc2=size=1920x1080:rate=30", "noise=alls=14:allf=t+u,gblur=sigma=0.6",
               "1080p30 camera-like (grain)"),
    "speaker": ("smptehdbars=size=1280x720:rate=25", "noise=alls=6:allf=t,drawbox=x='200+80*sin(t)':y=200:w=240:h=320:"
                "color=0xc08060@1:t=fill", "slow scene: a figure moving before a still background"),
    "busy": ("mandelbrot=size=1280x720:rate=25", "", "busy animation (zooming fractal)"),
}
CANDIDATES = [
    SaverRecipe(crf=24, max_video_kbps=600, buffer_kbps=1200),
    SaverRecipe(crf=26, max_video_kbps=500, buffer_kbps=1000),
    DEFAULT_RECIPE,
    SaverRecipe(crf=30, max_video_kbps=250, buffer_kbps=500),
    SaverRecipe(width=480, height=270, crf=28, max_video_kbps=250, buffer_kbps=500),
    SaverRecipe(width=854, height=480, crf=28, max_video_kbps=500, buffer_kbps=1000),
]


def make_delivered(workdir: Path) -> dict[str, Path]:
    """Each source, generated with lavfi, then delivered with weike's default profile."""
    delivered = {}
    for name, (video, filters, _kind) in SOURCES.items():
        source = workdir / f"{name}-source.mp4"
        args = ["-hide_banner", "-y", "-f", "lavfi", "-i", video, "-f", "lavfi", "-i", SPEECH.format(d=SECONDS)]
        if filters:
            args += ["-vf", filters]
        args += ["-t", str(SECONDS), "-c:v", "libx264", "-preset", "veryfast", "-crf", "16", "-pix_fmt", "yuv420p",
                 "-c:a", "aac", "-b:a", "128k", str(source)]
        ffmpeg.run(args)
        job = DeliveryJob(key=f"saver-bench-{name}", source=source, info=probe_media(source, packets=True),
                          profile=DEFAULT_PROFILE, store_root=workdir / "store", method="transcode",
                          threads=available_cores())
        deliver_to_store(job)
        delivered[name] = workdir / "store" / job.key[:2] / job.key / "video.mp4"
    return delivered


def vmaf_against(reference: Path, distorted: Path, workdir: Path) -> float:
    """Mean VMAF v0.6.1 of ``distorted`` upscaled to the reference's 1280×720."""
    log = workdir / f"vmaf-{distorted.stem}.json"
    graph = (f"[0:v]scale=1280:720:flags=bicubic,format=yuv420p[d];[1:v]format=yuv420p[r];"
             f"[d][r]libvmaf=log_fmt=json:log_path={log}:n_threads={available_cores()}:shortest=1")
    ffmpeg.run(["-hide_banner", "-nostdin", "-i", str(distorted), "-i", str(reference),
                "-filter_complex", graph, "-f", "null", "-"])
    return float(json.loads(log.read_text())["pooled_metrics"]["vmaf"]["mean"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temp folder)")
    args = parser.parse_args(argv)
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="weike-saver-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        print(f"data-saver benchmark: {len(SOURCES)} sources x {SECONDS} s, {available_cores()} cores, "
              f"{ffmpeg.version()}")
        for name, (_video, _filters, kind) in SOURCES.items():
            print(f"  {name:8s} {kind}")
        delivered = make_delivered(workdir)
        baseline = {name: path.stat().st_size for name, path in delivered.items()}
        total_baseline = sum(baseline.values())
        print(f"\nbaseline: the delivered 1280x720 files, {total_baseline / 1000:.0f} kB "
              f"({8 * total_baseline / 1000 / (SECONDS * len(SOURCES)):.0f} kbit/s on average) = 100 %")
        cells = "".join(f"{name:>18s}" for name in SOURCES)
        print(f"\n  {'candidate':34s}{cells}    min VMAF   size    of delivered  kbit/s")
        for recipe in CANDIDATES:
            scores, sizes = [], []
            for name, reference in delivered.items():
                out = workdir / f"{name}-{recipe.width}-{recipe.crf}-{recipe.max_video_kbps}.mp4"
                ffmpeg.run(saver_arguments(reference, out, recipe))
                scores.append(vmaf_against(reference, out, workdir))
                sizes.append(out.stat().st_size)
            mark = "*" if dataclasses.asdict(recipe) == dataclasses.asdict(DEFAULT_RECIPE) else " "
            row = "".join(f"{score:9.1f}/{size / 1000:6.0f}kB" for score, size in zip(scores, sizes))
            total = sum(sizes)
            print(f"{mark} {recipe.label:34s}{row}    {min(scores):6.1f}  {total / 1000:6.0f} kB  "
                  f"{100 * total / total_baseline:6.1f} %  {8 * total / 1000 / (SECONDS * len(SOURCES)):6.0f}")
        print("  (cells: VMAF / size; kbit/s = video + 64 kbit/s audio, averaged over the three files)")
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
