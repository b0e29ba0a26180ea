"""Fidelity benchmark: every delivery path keeps the whole source, to its last second of sound.

    python benchmarks/fidelity.py            # about 1 minute on 2 cores
    python benchmarks/fidelity.py --keep DIR # keep the repository, the cache and dist/ in DIR

It writes a course with one lecture per delivery path, each source generated with lavfi and at
least 12 s long, its sound a test-tone pattern of tone and silence that ends on tone:

* video transcode (160x90 H.264 + AAC 44.1 kHz),
* pass-through with the sound redone (video already at the profile, sound 5 LU too quiet),
* still picture + MP3 (20 s, the length of the MP3 that an earlier weike cut to 17.12 s),
* still picture + M4A with embedded cover art (15 s), its lecture ``image`` a photo stored
  sideways with EXIF orientation 6 (a circle, measured in the delivered picture),
* silent animation (no sound: a silent track is added),

runs ``weike build --only media`` on it (default profile, cold cache) and measures every
delivered file against its SOURCE's own facts, with tools weike's media stage does not use
for its own check: ffprobe's container and stream durations, MediaInfo's duration, the sound
decoded to raw PCM and counted here, and the EBU R128 loudness (ffmpeg ``ebur128``) of the
source's final second, taken at the same place in the delivered file, relative to each file's
integrated loudness (so the normalisation gain cancels out). It prints per path the source and
delivered durations, the largest difference and the final-second levels, and exits 1 when a
delivered file differs from its source by more than 0.2 s or its final second by more than 1 LU.

The tests (tests/plugins/media/test_media_fidelity.py) deliver the same corpus and assert the same
figures, in the suite.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make weike's packages importable
    sys.path.insert(0, str(ROOT))

from weike.plugins.media import runner as ffmpeg  # noqa: E402

#: A delivered file must last as long as its source within this many seconds...
DURATION_TOLERANCE = 0.2
#: ...and its final second be as loud, relative to the whole, within this many LU.
LEVEL_TOLERANCE = 1.0
#: Below this a final second counts as silence (the EBU R128 absolute gate is -70 LUFS).
SILENCE_LUFS = -60.0


# --------------------------------------------------------------------------------------------
# The corpus
# --------------------------------------------------------------------------------------------


def tone_pattern(*spans: float, frequency: int = 440, sample_rate: int = 44100, gain_db: float = 0.0) -> str:
    """A lavfi source of alternating tone and silence: ``tone_pattern(4, 2, 4)`` = 4 s tone,
    2 s silence, 4 s tone. Starts and ends on tone, so the final second has sound."""
    total = sum(spans)
    silences, at = [], 0.0
    for index, span in enumerate(spans):
        if index % 2:
            silences.append(f"between(t,{at:g},{at + span:g})")
        at += span
    chain = f"sine=frequency={frequency}:sample_rate={sample_rate}:duration={total:g}"
    if gain_db:
        chain += f",volume={gain_db:g}dB"
    if silences:
        chain += f",volume=volume=0:enable='{'+'.join(silences)}'"
    return chain


@dataclass(frozen=True, kw_only=True)
class FidelityCase:
    """One source of the corpus: the delivery path it takes and how it is made."""

    #: The delivery path, as printed.
    path: str
    #: What weike's media stage is expected to do with it ("transcode", "passthrough", "still").
    method: str
    file: str
    #: ffmpeg arguments between ``-y`` and the output file; ``{size}`` = the profile's frame,
    #: ``{art}`` = a picture to embed as cover art.
    recipe: tuple[str, ...]
    #: A lecture ``image`` stored sideways with EXIF orientation 6 (pure audio only).
    rotated_image: bool = False


_X264_SMALL = ("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")

CORPUS: tuple[FidelityCase, ...] = (
    FidelityCase(
        path="video transcode", method="transcode", file="talk.mp4",
        recipe=("-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration=13",
                "-f", "lavfi", "-i", tone_pattern(4, 2, 7), *_X264_SMALL, "-c:a", "aac", "-b:a", "64k",
                "-shortest")),
    FidelityCase(
        # Video at the profile (size, 25 fps CFR, 2 s GOP, under the cap, fast start), sound
        # AAC 48 kHz stereo but ~5 LU under the target: the video is copied, the sound redone.
        path="pass-through, sound redone", method="passthrough", file="ready.mp4",
        recipe=("-f", "lavfi", "-i", "testsrc2=size={size}:rate=25:duration=12",
                "-f", "lavfi", "-i", tone_pattern(4, 2, 6, sample_rate=48000),
                *_X264_SMALL, "-crf", "30", "-maxrate", "1500k", "-bufsize", "3000k", "-g", "50",
                "-c:a", "aac", "-b:a", "128k", "-ac", "2", "-shortest", "-movflags", "+faststart")),
    FidelityCase(
        path="still picture + MP3", method="still", file="voice.mp3",
        recipe=("-f", "lavfi", "-i", tone_pattern(4, 2, 4, 2, 8), "-c:a", "libmp3lame", "-b:a", "64k")),
    FidelityCase(
        path="still picture + M4A with cover art", method="still", file="voice.m4a",
        recipe=("-f", "lavfi", "-i", tone_pattern(4, 2, 9, frequency=550), "-i", "{art}",
                "-map", "0:a", "-map", "1:v", "-c:a", "aac", "-b:a", "64k", "-c:v", "mjpeg",
                "-disposition:v:0", "attached_pic"),
        rotated_image=True),
    FidelityCase(
        path="silent animation", method="transcode", file="animation.mp4",
        recipe=("-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration=12", *_X264_SMALL, "-an")),
)


def rotated_circle_jpeg(target: Path) -> Path:
    """A white circle on black, stored as 360x640 pixels flagged EXIF orientation 6 (turn 90°
    clockwise): shown upright it is 640x360 with a round circle, as a phone photo is."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (360, 640), (0, 0, 0))
    ImageDraw.Draw(image).ellipse((80, 220, 280, 420), fill=(255, 255, 255))
    exif = Image.Exif()
    exif[0x0112] = 6
    image.save(target, "JPEG", exif=exif.tobytes(), quality=95)
    return target


def make_source(case: FidelityCase, folder: Path, *, size: str = "1280x720") -> Path:
    """Generate ``case``'s source into ``folder`` (once: an existing file is kept)."""
    target = folder / case.file
    if target.exists():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    art = folder / "album-art.jpg"
    if "{art}" in case.recipe and not art.exists():
        ffmpeg.run(["-hide_banner", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x320:rate=1:duration=1",
                    "-frames:v", "1", str(art)])
    args = [arg.replace("{size}", size).replace("{art}", str(art)) for arg in case.recipe]
    temp = target.with_name("tmp-" + target.name)
    ffmpeg.run(["-hide_banner", "-y", *args, str(temp)])
    temp.replace(target)
    return target


# --------------------------------------------------------------------------------------------
# Measuring, independently of the media stage's own check
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Measured:
    """What a file says about its length, by several independent readers, and its final second."""

    container: float | None
    video: float | None
    audio: float | None
    #: The first audio track decoded to raw PCM and counted (None without sound).
    sound: float | None
    #: MediaInfo's general duration (None when pymediainfo is not installed).
    mediainfo: float | None
    #: Integrated loudness of the whole file (LUFS; None without sound).
    integrated: float | None

    def lengths(self) -> dict[str, float]:
        return {name: value for name, value in (("container", self.container), ("video", self.video),
                                                ("audio", self.audio), ("sound", self.sound),
                                                ("mediainfo", self.mediainfo)) if value is not None}


def _stream_durations(path: Path) -> tuple[float | None, float | None, float | None]:
    data = ffmpeg.probe_json(path)
    streams = data.get("streams") or []

    def first(kind: str) -> float | None:
        for stream in streams:
            if stream.get("codec_type") == kind and not (stream.get("disposition") or {}).get("attached_pic"):
                value = stream.get("duration")
                return float(value) if value not in (None, "N/A") else None
        return None

    container = (data.get("format") or {}).get("duration")
    return (float(container) if container not in (None, "N/A") else None), first("video"), first("audio")


def decoded_sound_seconds(path: Path) -> float | None:
    """The first audio track decoded to 48 kHz mono 16-bit PCM, its bytes counted."""
    if not any(s.get("codec_type") == "audio" for s in ffmpeg.probe_json(path).get("streams") or ()):
        return None
    completed = ffmpeg.run(["-hide_banner", "-nostdin", "-v", "error", "-i", str(path), "-map", "0:a:0",
                            "-ac", "1", "-ar", "48000", "-f", "s16le", "-"], capture_stdout=True)
    return len(completed.stdout) / 2 / 48000


def mediainfo_duration(path: Path) -> float | None:
    try:
        from pymediainfo import MediaInfo
    except ImportError:
        return None
    general = MediaInfo.parse(str(path)).general_tracks[0]
    return float(general.duration) / 1000 if general.duration is not None else None


_INTEGRATED = re.compile(r"Summary:.*?I:\s*(-?[\d.]+|-inf)\s*LUFS", re.S)


def loudness(path: Path, *, start: float | None = None, end: float | None = None) -> float | None:
    """EBU R128 integrated loudness (LUFS) of the first audio track, or of ``start``-``end`` s
    of it (positions counted in samples, so a leading encoder delay does not shift them);
    -70 for silence, None without an audio track."""
    if not any(s.get("codec_type") == "audio" for s in ffmpeg.probe_json(path).get("streams") or ()):
        return None
    chain = "asetpts=N/SR/TB"
    if start is not None:
        chain += f",atrim=start={max(0.0, start):.4f}" + (f":end={end:.4f}" if end is not None else "")
    chain += ",ebur128=framelog=quiet"
    completed = ffmpeg.run(["-hide_banner", "-nostdin", "-nostats", "-i", str(path), "-map", "0:a:0",
                            "-af", chain, "-f", "null", "-"])
    found = _INTEGRATED.findall(completed.stderr)
    if not found:
        return -70.0  # nothing in that window: the file ends before it
    return -70.0 if found[-1] == "-inf" else max(-70.0, float(found[-1]))


def measure(path: Path) -> Measured:
    container, video, audio = _stream_durations(path)
    return Measured(container=container, video=video, audio=audio, sound=decoded_sound_seconds(path),
                    mediainfo=mediainfo_duration(path), integrated=loudness(path))


@dataclass(frozen=True, kw_only=True)
class Fidelity:
    """A delivered file against its source."""

    path: str
    source: Measured
    delivered: Measured
    #: The source's length: its decoded sound for pure audio, else its container duration.
    source_seconds: float
    #: Largest difference between any of the delivered file's lengths and any of the source's.
    worst_difference: float
    #: Loudness of the source's final second relative to its integrated loudness, and of the
    #: same second in the delivered file relative to the delivered file's (None: silence).
    source_final: float | None
    delivered_final: float | None

    @property
    def duration_ok(self) -> bool:
        return self.worst_difference <= DURATION_TOLERANCE

    @property
    def level_ok(self) -> bool:
        if self.source_final is None:  # silent source: the delivered final second is silent too
            return self.delivered_final is None
        return self.delivered_final is not None and abs(self.delivered_final - self.source_final) <= LEVEL_TOLERANCE

    @property
    def ok(self) -> bool:
        return self.duration_ok and self.level_ok


def _final_second(path: Path, measured: Measured, at: float) -> float | None:
    """Loudness of ``at - 1`` .. ``at`` s relative to the whole file; None when it is silence."""
    if measured.integrated is None or measured.integrated <= SILENCE_LUFS:
        return None
    level = loudness(path, start=at - 1.0, end=at)
    return None if level is None or level <= SILENCE_LUFS else level - measured.integrated


def compare(path: str, source_file: Path, delivered_file: Path) -> Fidelity:
    source, delivered = measure(source_file), measure(delivered_file)
    pure_audio = source.video is None and source.sound is not None
    source_seconds = source.sound if pure_audio else source.container
    # Every reader of the delivered file against every figure the source gives of itself.
    worst = max(abs(mine - theirs) for mine in delivered.lengths().values() for theirs in source.lengths().values())
    # The source's final second of sound, and the same span in the delivered file: a delivered
    # file that lost its end has nothing (or the wrong part) there.
    end = source.sound if source.sound is not None else source_seconds
    return Fidelity(path=path, source=source, delivered=delivered, source_seconds=source_seconds,
                    worst_difference=worst, source_final=_final_second(source_file, source, end),
                    delivered_final=_final_second(delivered_file, delivered, end))


def circle_aspect(picture: Path) -> float:
    """Width over height of the bright shape in ``picture`` (1.0 = a round circle)."""
    from PIL import Image

    with Image.open(picture) as image:
        mask = image.convert("L").point(lambda value: 255 if value > 128 else 0)
        left, top, right, bottom = mask.getbbox()
    return (right - left) / (bottom - top)


# --------------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------------


def make_course(root: Path) -> dict[str, FidelityCase]:
    """A repository with one lecture per corpus case; returns lecture folder -> case."""
    from PIL import Image

    from benchmarks.catalogue import course_yml

    course = root / "courses" / "fidelity"
    course.mkdir(parents=True, exist_ok=True)
    (root / "weike.yml").write_text("min_lectures: 1\n", encoding="utf-8")
    (course / "course.yml").write_text(course_yml(title="保真测试课程"), encoding="utf-8")
    Image.new("RGB", (1280, 720), (40, 110, 170)).save(course / "cover.jpg", quality=90)
    lectures = {}
    for number, case in enumerate(CORPUS, start=1):
        folder = course / f"{number:02d}-{Path(case.file).stem}"
        make_source(case, folder)
        image = ""
        if case.rotated_image:
            rotated_circle_jpeg(folder / "circle.jpg")
            image = "image: circle.jpg\n"
        (folder / "lecture.md").write_text(
            f"---\ntitle: {case.path}\nknowledge_point: 保真\n{image}---\n\n讲义。\n", encoding="utf-8")
        lectures[folder.name] = case
    return lectures


def main(argv: list[str] | None = None) -> int:
    import os

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temp folder)")
    args = parser.parse_args(argv)

    from weike.builder.running.pipeline import build
    from weike.builder.running.progress import Progress
    from weike.plugins.media.manifest import MANIFEST_FILE

    workdir = args.keep or Path(tempfile.mkdtemp(prefix="weike-fidelity-"))
    workdir.mkdir(parents=True, exist_ok=True)
    os.environ["WEIKE_CACHE_DIR"] = str(workdir / "cache")
    shutil.rmtree(workdir / "cache", ignore_errors=True)
    root = workdir / "repo"
    try:
        lectures = make_course(root)
        print(f"weike fidelity benchmark: {len(lectures)} sources of >= 12 s, default profile, {ffmpeg.version()}")
        result = build(root, progress=Progress(), only="media", force=True)
        if result.failed:
            for diagnostic in result.diagnostics:
                print(f"  {diagnostic.location} {diagnostic.code} {diagnostic.message_en}")
            print("weike build failed")
            return 1
        manifest = json.loads((root / "dist" / "media" / MANIFEST_FILE).read_text(encoding="utf-8"))
        rows: list[tuple[Fidelity, dict, FidelityCase]] = []
        for key, record in sorted(manifest["lectures"].items()):
            case = lectures[key.split("/", 1)[1]]
            fidelity = compare(case.path, root / record["source"], root / "dist" / "media" / record["file"])
            rows.append((fidelity, record, case))
        print(f"\n{'path':36s} {'method':11s} {'source s':>9s} {'delivered s':>12s} {'MediaInfo s':>11s} "
              f"{'worst diff s':>12s} {'final 1 s LU (src / out)':>25s}  verdict")

        def level(value: float | None) -> str:
            return "silent" if value is None else f"{value:+.2f}"

        failures = 0
        for fidelity, record, case in rows:
            delivered = fidelity.delivered
            verdict = "ok" if fidelity.ok and record["method"] == case.method else "FAIL"
            failures += verdict != "ok"
            print(f"{fidelity.path:36s} {record['method']:11s} {fidelity.source_seconds:9.3f} "
                  f"{delivered.container:12.3f} {delivered.mediainfo or float('nan'):11.3f} "
                  f"{fidelity.worst_difference:12.3f} {level(fidelity.source_final):>12s} / "
                  f"{level(fidelity.delivered_final):>10s}  {verdict}")
            if case.rotated_image:
                aspect = circle_aspect(root / "dist" / "media" / record["poster"])
                failures += abs(aspect - 1) > 0.05
                print(f"{'':36s} circle in the EXIF-rotated lecture image, as delivered: width/height {aspect:.3f} "
                      f"(a round circle is 1.000)")
        print(f"\nsource s: decoded sound for pure audio, else the container; worst diff: every reader of the "
              f"delivered file (ffprobe container/video/audio, decoded sound, MediaInfo) against every figure of "
              f"the source; limits {DURATION_TOLERANCE} s and {LEVEL_TOLERANCE} LU")
        print("all delivery paths keep the whole source" if not failures else f"{failures} problem(s)")
        return 1 if failures else 0
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
