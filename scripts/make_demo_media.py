"""Regenerate the demo courses' media (sources and covers) with ffmpeg lavfi and Pillow.

    python scripts/make_demo_media.py            # (re)write every demo source
    python scripts/make_demo_media.py --check    # list what would be written, with sizes

The sources deliberately cover what the media stage must handle: landscape and portrait phone
video, a rotation flag, 60 fps, interlaced 4:3, pure audio (with and without cover art) and a
silent animation. Each is a few seconds long and well under a few hundred KB, so the repository
stays small; the media stage scales them up to 1280×720.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

# weike itself comes from the install (pip install -e .): its folders are installed as weike.builder
# and weike.plugins, so no path tweak could import them from a bare checkout.
from weike.plugins.media import runner as ffmpeg

ROOT = Path(__file__).resolve().parent.parent

COURSES = ROOT / "courses"


@dataclass(frozen=True)
class Source:
    """One demo source: where it goes and the ffmpeg arguments (after ``-y``) that make it."""

    path: str
    args: tuple[str, ...]
    kind: str
    #: Display-matrix rotation (degrees counter-clockwise) stored as a flag, pixels untouched,
    #: the way phones record portrait video.
    rotation: int | None = None


def _video(src: str, seconds: int, *, audio: str | None, extra: tuple[str, ...] = (),
           codec: tuple[str, ...] = ("-c:v", "libx264", "-preset", "veryslow", "-crf", "36")) -> tuple[str, ...]:
    args = ["-f", "lavfi", "-i", src.format(d=seconds)]
    if audio:
        args += ["-f", "lavfi", "-i", audio.format(d=seconds)]
    args += [*codec, "-pix_fmt", "yuv420p", *extra]
    if audio:
        args += ["-c:a", "aac", "-b:a", "48k", "-ac", "1", "-shortest"]
    else:
        args += ["-an"]
    return tuple(args)


TONE = "sine=frequency={f}:sample_rate=44100:duration={{d}}"
SPEECHY = ("aevalsrc='0.3*sin(2*PI*220*t)*(0.55+0.45*sin(2*PI*3*t))"
           "+0.1*sin(2*PI*660*t)*(0.5+0.5*sin(2*PI*1.3*t))':s=44100:d={d}")

SOURCES: tuple[Source, ...] = (
    # 智能手机轻松学 (老年智慧生活)
    Source("zhineng-shouji/01-kaiji-guanji/kaiji.mp4",
           _video("testsrc2=size=320x180:rate=30:duration={d}", 6, audio=SPEECHY), "landscape 16:9, 30 fps"),
    Source("zhineng-shouji/02-lianjie-wifi/wifi.mp4",
           _video("testsrc2=size=180x320:rate=30:duration={d}", 6, audio=SPEECHY), "portrait phone video 9:16"),
    Source("zhineng-shouji/03-zihao-tiaoda/zihao.mp4",
           _video("testsrc2=size=320x180:rate=30:duration={d}", 5, audio=SPEECHY),
           "phone video with rotation flag (portrait)", rotation=-90),
    Source("zhineng-shouji/04-weixin-yuyin/yuyin.mp3",
           ("-f", "lavfi", "-i", SPEECHY.format(d=8), "-c:a", "libmp3lame", "-b:a", "32k", "-ac", "1",
            "-ar", "22050"), "pure audio, mono 22 kHz"),
    Source("zhineng-shouji/05-shipin-tonghua/tonghua.mp4",
           _video("testsrc2=size=320x180:rate=30:duration={d}", 7, audio=SPEECHY), "landscape with subtitles"),
    Source("zhineng-shouji/06-saoma-fukuan/saoma.mov",
           _video("testsrc2=size=320x180:rate=60:duration={d}", 4, audio=SPEECHY), "60 fps QuickTime"),
    Source("zhineng-shouji/07-chaxun-gongjiao/gongjiao.mp4",
           _video("smptehdbars=size=320x180:rate=25:duration={d}", 5, audio=TONE.format(f=330)),
           "landscape, 25 fps"),
    Source("zhineng-shouji/08-fang-zhapian/zhapian.mp4",
           _video("mandelbrot=size=320x180:rate=25", 6, audio=None, extra=("-t", "6")), "silent animation"),
    Source("zhineng-shouji/09-yuyue-guahao/guahao.mp4",
           _video("testsrc2=size=180x320:rate=30:duration={d}", 5, audio=SPEECHY), "portrait phone video"),
    Source("zhineng-shouji/10-paizhao-fenxiang/paizhao.mp4",
           _video("testsrc2=size=320x180:rate=30:duration={d}", 5, audio=SPEECHY), "landscape 16:9"),
    # 居家康养八段锦 (康养健身)
    Source("baduanjin/01-yubei-shi/yubei.mp4",
           _video("testsrc2=size=320x180:rate=25:duration={d}", 6, audio=TONE.format(f=262)), "landscape"),
    Source("baduanjin/02-liangshou-tuotian/tuotian.mp4",
           _video("testsrc=size=360x288:rate=50:duration={d}", 5, audio=TONE.format(f=294),
                  extra=("-vf", "tinterlace=mode=interleave_top,setfield=tff", "-flags", "+ildct+ilme",
                         "-x264opts", "tff=1")), "interlaced 4:3 (old camcorder)"),
    Source("baduanjin/03-zuoyou-kaigong/kaigong.mp4",
           _video("testsrc2=size=180x320:rate=30:duration={d}", 5, audio=TONE.format(f=330)), "portrait"),
    Source("baduanjin/04-tiaoli-piwei/piwei.m4a",
           ("-f", "lavfi", "-i", SPEECHY.format(d=7), "-c:a", "aac", "-b:a", "32k", "-ac", "1"), "pure audio"),
    Source("baduanjin/05-wulao-qishang/qishang.mp4",
           _video("life=size=320x180:rate=25:mold=10:ratio=0.2:death_color=#203040:life_color=#a0d0ff", 5,
                  audio=None, extra=("-t", "5")), "silent animation"),
    Source("baduanjin/06-yaotou-baiwei/baiwei.mp4",
           _video("testsrc2=size=320x180:rate=30:duration={d}", 5, audio=TONE.format(f=392)), "landscape"),
    Source("baduanjin/07-liangshou-panzu/panzu.mp4",
           _video("testsrc2=size=320x180:rate=30:duration={d}", 5, audio=TONE.format(f=440)),
           "rotation flag 90", rotation=90),
    Source("baduanjin/08-cuanquan-numu/numu.mp4",
           _video("testsrc2=size=320x180:rate=30:duration={d}", 5, audio=TONE.format(f=494)), "landscape"),
    Source("baduanjin/09-beihou-qidian/qidian.mp3",
           ("-f", "lavfi", "-i", TONE.format(f=523).format(d=6), "-i", "{cover}", "-map", "0:a", "-map", "1:v",
            "-c:a", "libmp3lame", "-b:a", "32k", "-ac", "1", "-c:v", "mjpeg", "-disposition:v", "attached_pic",
            "-id3v2_version", "3"), "audio with embedded cover art"),
    Source("baduanjin/10-shoushi/shoushi.mp4",
           _video("testsrc2=size=320x180:rate=30:duration={d}", 6, audio=TONE.format(f=587)), "landscape"),
)

COVERS = {"zhineng-shouji": (205, "智能手机轻松学"), "baduanjin": (140, "居家康养八段锦")}


def make_cover(path: Path, hue: int) -> None:
    """A 1280×720 JPEG cover: gradient, rings and bars, no text (no CJK font is assumed)."""
    import colorsys

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (1280, 720))
    draw = ImageDraw.Draw(image)
    for y in range(720):
        r, g, b = colorsys.hsv_to_rgb(hue / 360, 0.55, 0.35 + 0.5 * y / 720)
        draw.line([(0, y), (1280, y)], fill=(int(r * 255), int(g * 255), int(b * 255)))
    for i in range(6):
        draw.ellipse([840 - i * 40, 160 - i * 40, 1160 + i * 40, 480 + i * 40], outline=(255, 255, 255), width=3)
    for i in range(4):
        draw.rounded_rectangle([100, 200 + i * 90, 620 - i * 80, 250 + i * 90], radius=20, fill=(255, 255, 255))
    image.save(path, "JPEG", quality=82, optimize=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="list the sources and their sizes, write nothing")
    args = parser.parse_args(argv)

    for slug, (hue, _title) in COVERS.items():
        cover = COURSES / slug / "cover.jpg"
        if not args.check:
            cover.parent.mkdir(parents=True, exist_ok=True)
            make_cover(cover, hue)
        print(f"{cover.relative_to(ROOT)}: {cover.stat().st_size if cover.exists() else 0:,} bytes  cover")

    for source in SOURCES:
        target = COURSES / source.path
        if not args.check:
            target.parent.mkdir(parents=True, exist_ok=True)
            cover = COURSES / source.path.split("/")[0] / "cover.jpg"
            argv_ = [a.replace("{cover}", str(cover)) for a in source.args]
            tmp = target.with_name(f".tmp-{target.name}")
            ffmpeg.run(["-hide_banner", "-y", *argv_, str(tmp)])
            if source.rotation is not None:
                flagged = target.with_name(f".tmp-rot-{target.name}")
                ffmpeg.run(["-hide_banner", "-y", "-display_rotation", str(source.rotation), "-i", str(tmp),
                            "-c", "copy", str(flagged)])
                flagged.replace(tmp)
            tmp.replace(target)
        size = target.stat().st_size if target.exists() else 0
        print(f"{target.relative_to(ROOT)}: {size:,} bytes  {source.kind}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
