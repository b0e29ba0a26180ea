"""Source clips for the media tests: one per input class the media stage must handle.

Generated with lavfi through the session-wide ``media`` factory (tests/conftest.py), so each is
made once per test session. All are tiny (≤ 320×180, 1–4 s) except the too-long ones, which are
long but cheap (8 kHz audio).
"""

from __future__ import annotations

from pathlib import Path

from weike.plugins.media import runner as ffmpeg

_TONE = "sine=frequency=440:duration={d}:sample_rate=44100"
_X264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
_AAC = ["-c:a", "aac", "-b:a", "64k"]


def _video(size: str, rate: int | str, seconds: float, *, audio: bool = True, extra: list[str] | None = None,
           codec: list[str] | None = None, source: str = "testsrc2") -> list[str]:
    args = ["-f", "lavfi", "-i", f"{source}=size={size}:rate={rate}:duration={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", _TONE.format(d=seconds)]
    args += [*(codec or _X264), *(extra or [])]
    args += [*_AAC, "-shortest"] if audio else ["-an"]
    return args


#: name -> ffmpeg arguments (between "-y" and the output file).
RECIPES: dict[str, list[str]] = {
    # A phone held upright: the pixels are portrait.
    "portrait.mp4": _video("90x160", 30, 1),
    # Variable frame rate, as phones record in low light: frames dropped unevenly.
    "vfr.mp4": _video("160x90", 30, 2, extra=["-vf", "select='lt(n,10)+not(mod(n,3))'", "-fps_mode", "vfr"]),
    "60fps.mp4": _video("160x90", 60, 1),
    # Old PAL camcorder: interlaced (top field first), QCIF 176x144 with 12:11 pixels = 4:3 shown.
    "interlaced.mp4": _video("176x144", 50, 1, extra=[
        "-vf", "tinterlace=mode=interleave_top,setfield=tff,setsar=12/11", "-flags", "+ildct+ilme",
        "-x264opts", "tff=1"]),
    # Editing-suite master: ProRes 422 (10-bit 4:2:2) with PCM sound in a QuickTime file.
    "prores.mov": ["-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration=1",
                   "-f", "lavfi", "-i", _TONE.format(d=1), "-c:v", "prores_ks", "-profile:v", "2",
                   "-pix_fmt", "yuv422p10le", "-c:a", "pcm_s16le", "-shortest"],
    # An odd size no 4:2:0 encoder can hold: lossless FFV1 in Matroska.
    "odd.mkv": _video("160x96", 25, 1, extra=["-vf", "scale=161:97"], codec=["-c:v", "ffv1", "-pix_fmt", "yuv444p"]),
    # Already at the delivery spec, video and sound: 720p25 H.264 under the bitrate cap, 2 s GOP,
    # AAC 48 kHz near -16 LUFS, fast start.
    "conforming.mp4": ["-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25:duration=2",
                       "-f", "lavfi", "-i", "sine=frequency=440:duration=2:sample_rate=48000",
                       "-af", "volume=5dB", *_X264, "-crf", "30", "-maxrate", "1500k", "-bufsize", "3000k",
                       "-g", "50", "-c:a", "aac", "-b:a", "128k", "-ac", "2", "-shortest", "-movflags", "+faststart"],
    # Matroska keeps its duration in the header: cut short, it still promises the full length.
    "clip.mkv": _video("160x90", 25, 2),
    "no-audio.mp4": _video("160x90", 25, 1, audio=False),
    # Phone voice recorder: mono, 8 kHz.
    "mono-8k.wav": ["-f", "lavfi", "-i", "sine=frequency=300:duration=1.5:sample_rate=8000", "-ac", "1",
                    "-c:a", "pcm_s16le"],
    # Clipped and far too loud: a square-ish wave at full scale.
    "loud.mp4": ["-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration=4",
                 "-f", "lavfi", "-i", "sine=frequency=220:duration=4:sample_rate=48000",
                 "-af", "volume=30dB", *_X264, "-c:a", "aac", "-b:a", "128k", "-shortest"],
    "too-long.mp3": ["-f", "lavfi", "-i", "sine=frequency=200:duration=961:sample_rate=8000", "-ac", "1",
                     "-c:a", "libmp3lame", "-b:a", "8k"],
    "long.mp3": ["-f", "lavfi", "-i", "sine=frequency=200:duration=450:sample_rate=8000", "-ac", "1",
                 "-c:a", "libmp3lame", "-b:a", "8k"],
    # Index at the end (no fast start): cutting it short loses the index.
    "moov-at-end.mp4": _video("160x90", 25, 1),
    "faststart.mp4": _video("160x90", 25, 1, extra=["-movflags", "+faststart"]),
}


def make_source(media, name: str) -> Path:
    """Build (once per session) the source called ``name``."""
    if name == "rotated.mp4":
        # A landscape-pixel file flagged to be shown turned 90°: how phones store portrait video.
        plain = make_source(media, "rotation-base.mp4")
        target = plain.with_name(name)
        if not target.exists():
            tmp = target.with_name("tmp-" + name)
            ffmpeg.run(["-hide_banner", "-y", "-display_rotation", "90", "-i", str(plain), "-c", "copy", str(tmp)])
            tmp.replace(target)
        return target
    if name == "rotation-base.mp4":
        return media(name, _video("160x90", 25, 1))
    if name == "cover-art.mp3":
        picture = media("poster.jpg")
        return media(name, ["-f", "lavfi", "-i", "sine=frequency=500:duration=1.5", "-i", str(picture),
                            "-map", "0:a", "-map", "1:v", "-c:a", "libmp3lame", "-b:a", "32k", "-c:v", "mjpeg",
                            "-disposition:v", "attached_pic", "-id3v2_version", "3"])
    return media(name, RECIPES[name])


def truncated_copy(source: Path, target: Path, fraction: float = 0.5) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[: int(len(data) * fraction)])
    return target


def mediainfo_facts(path: Path) -> dict:
    """What MediaInfo (an independent parser, not ffmpeg) reads from a delivered file."""
    from pymediainfo import MediaInfo

    parsed = MediaInfo.parse(str(path))
    general = parsed.general_tracks[0]
    videos, audios = parsed.video_tracks, parsed.audio_tracks
    video, audio = videos[0], audios[0]
    return {
        "container": general.format,
        "streamable": general.isstreamable,
        "video_tracks": len(videos),
        "audio_tracks": len(audios),
        "video_format": video.format,
        "width": video.width,
        "height": video.height,
        "rotation": float(video.rotation or 0),
        "pixel_aspect_ratio": float(video.pixel_aspect_ratio),
        "frame_rate_mode": video.frame_rate_mode,
        "frame_rate": float(video.frame_rate),
        "chroma_subsampling": video.chroma_subsampling,
        "bit_depth": video.bit_depth,
        "scan_type": video.scan_type or "Progressive",
        "audio_format": audio.format,
        "sampling_rate": audio.sampling_rate,
        "duration": float(general.duration) / 1000,
    }


def assert_delivery_spec(path: Path) -> dict:
    """The delivered file passes the delivery spec as MediaInfo reads it; returns the facts."""
    facts = mediainfo_facts(path)
    expected = {
        "container": "MPEG-4", "streamable": "Yes", "video_tracks": 1, "audio_tracks": 1, "video_format": "AVC",
        "width": 1280, "height": 720, "rotation": 0.0, "pixel_aspect_ratio": 1.0, "frame_rate_mode": "CFR",
        "frame_rate": 25.0, "chroma_subsampling": "4:2:0", "bit_depth": 8, "scan_type": "Progressive",
        "audio_format": "AAC", "sampling_rate": 48000,
    }
    assert {key: facts[key] for key in expected} == expected
    return facts


def check_decodes(path: Path, *, timeout: float | None = None) -> None:
    """Decode every stream of ``path`` completely; any decoder error raises ``FfmpegError``.

    ``-xerror`` stops at the first error; a stream that decodes with concealed damage still
    logs at level ``error``, so any output at that level counts as a failure too.
    """
    args = ["-hide_banner", "-nostdin", "-v", "error", "-xerror", "-i", str(path), "-map", "0:v?", "-map", "0:a?",
            "-f", "null", "-"]
    completed = ffmpeg.run(args, timeout=timeout)
    if completed.stderr.strip():
        raise ffmpeg.FfmpegError(completed.args, 1, completed.stderr)
