"""Title cards benchmark: what a lecture title edit costs, with and without cards.

    python benchmarks/cards.py                  # a 60 s 1280x720 lecture (about 1-2 minutes on 2 cores)
    python benchmarks/cards.py --seconds 300    # a longer lecture: the card cost stays the same

One course, one lecture: a camera-like 1280x720 30 fps source (so it is transcoded) with speech-like
sound, built with ``weike build --only media`` (the default profile), measuring

1. the first build, cards off: the content encode (the baseline);
2. a title edit, cards off: the delivered file does not depend on the title, nothing is encoded;
3. cards switched on: the content comes from the cache, only the cards are drawn and joined;
4. a title edit, cards on: the lecture's cards are drawn and joined again, the content is not
   re-encoded (its cache key holds no card text);

and prints each time with its ratio to the baseline. Figures depend on the machine and on what
else runs on it: compare the ratios, taken in one run.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.catalogue import course_yml  # noqa: E402
from weike.plugins.media import runner as ffmpeg  # noqa: E402

GRAIN = "noise=alls=14:allf=t+u"
SPEECH = ("aevalsrc='0.3*sin(2*PI*220*t)*(0.55+0.45*sin(2*PI*3*t))+0.1*sin(2*PI*660*t)*(0.5+0.5*sin(2*PI*1.3*t))'"
          ":s=44100:d={d}")
CARDS_ON = "min_lectures: 1\ntitle_cards:\n  opening: true\n  closing: true\n"


def write_course(root: Path, seconds: int) -> Path:
    """A one-lecture course; returns the lecture's lecture.md."""
    from PIL import Image

    course = root / "courses" / "bench"
    lecture = course / "01-edit"
    lecture.mkdir(parents=True)
    (root / "weike.yml").write_text("min_lectures: 1\n", encoding="utf-8")
    (course / "course.yml").write_text(course_yml(title="片头片尾测速课程"), encoding="utf-8")
    Image.new("RGB", (1280, 720), (40, 110, 170)).save(course / "cover.jpg", "JPEG")
    ffmpeg.run(["-hide_banner", "-nostdin", "-v", "error", "-f", "lavfi", "-i",
                f"testsrc2=s=1280x720:r=30:d={seconds}", "-f", "lavfi", "-i", SPEECH.format(d=seconds),
                "-vf", GRAIN, "-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", "-c:a", "aac",
                "-shortest", str(lecture / "video.mp4")], timeout=1200)
    page = lecture / "lecture.md"
    page.write_text("---\ntitle: 第一次的标题\nknowledge_point: 测量\n---\n\n讲义。\n", encoding="utf-8")
    return page


def timed_build(root: Path) -> tuple[float, str]:
    from weike.builder.cli import main

    output = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(io.StringIO()):
        code = main(["build", str(root), "--only", "media"])
    seconds = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"weike build failed:\n{output.getvalue()}")
    summary = next((line for line in output.getvalue().splitlines() if line.startswith("媒体：")), "")
    return seconds, summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60, help="length of the lecture (default 60)")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="weike-cards-bench-"))
    try:
        page = write_course(folder, args.seconds)
        rows = []
        baseline, summary = timed_build(folder)
        rows.append(("first build, cards off (content encode)", baseline, summary))
        page.write_text(page.read_text(encoding="utf-8").replace("第一次的标题", "改过的标题"), encoding="utf-8")
        rows.append(("title edit, cards off", *timed_build(folder)))
        (folder / "weike.yml").write_text(CARDS_ON, encoding="utf-8")
        rows.append(("cards switched on", *timed_build(folder)))
        page.write_text(page.read_text(encoding="utf-8").replace("改过的标题", "再改一次的标题"), encoding="utf-8")
        rows.append(("title edit, cards on", *timed_build(folder)))
        print(f"Title edit rebuild, one {args.seconds} s 1280x720 lecture (weike build --only media):")
        for name, seconds, line in rows:
            print(f"  {name:<42} {seconds:7.2f} s  {seconds / baseline:6.1%} of the first build")
            if line:
                print(f"      {line}")
        print(f"Title edit with cards / content encode: {rows[3][1] / baseline:.1%} "
              f"({rows[3][1]:.2f} s against {baseline:.2f} s)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
