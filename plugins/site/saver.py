"""The 省流量 (data-saver) rendition of each lecture video: 640×360 at a few hundred kbit/s.

Rural links are slow and mobile data costs money. With ``extra.weike.data_saver: true`` in
``mkdocs.yml`` the site stage makes, from each *delivered* 1280×720 file, a smaller one that the
lecture page offers as "省流量" and that the offline edition can carry instead of the full file
(``extra.weike.offline.data_saver``). The delivered file stays what the bundles carry; this
rendition exists for the website only.

The settings were chosen by measurement (``python benchmarks/data_saver.py``, figures in the
README): the smallest candidate whose VMAF against the delivered file, upscaled to 1280×720 the
way a phone's player does, stays above 80 on camera-like footage (82.2; 85.1 for a speaker before
a still background) at about a fifth of the delivered size (~255 kbit/s for the whole file).

Renditions are cached like the delivery: content-addressed by the delivered file's SHA-256, the
recipe and the ffmpeg version (``.weike/cache/site/savers/``), written into a temp folder and
committed in one rename, so a killed build never leaves a half file that looks finished.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from weike.plugins.media import FfmpegError, ffmpeg_version, probe_json, run_ffmpeg
from weike.builder.contracts.model import DeliveredMedia, Diagnostic
from weike.builder.keeping.memo import sha256_file
from weike.builder.keeping.store import ContentStore, cache_key

#: Where renditions live, below the site's cache folder.
SAVERS_FOLDER = "savers"
#: The keys the last build used (what ``weike cache prune`` keeps).
SAVERS_USED_FILE = "savers-used.json"
VIDEO_FILE = "saver.mp4"


@dataclass(frozen=True, kw_only=True)
class SaverRecipe:
    """How the data-saver file is encoded (H.264 + AAC in MP4, fast start)."""

    width: int = 640
    height: int = 360
    frame_rate: int = 25
    #: Constant quality, capped: still pictures and slides cost far less than the cap.
    crf: int = 28
    max_video_kbps: int = 350
    buffer_kbps: int = 700
    audio_kbps: int = 64
    preset: str = "medium"
    #: Main profile, level 3.0: what every phone sold in the last decade decodes in hardware.
    profile: str = "main"
    level: str = "3.0"

    @property
    def label(self) -> str:
        return f"{self.width}x{self.height} crf {self.crf} max {self.max_video_kbps}k"


DEFAULT_RECIPE = SaverRecipe()


class SaverFailed(Exception):
    """ffmpeg could not make the rendition, or it came out wrong."""


@dataclass(frozen=True, kw_only=True)
class SaverRendition:
    """A lecture's data-saver file in the cache."""

    lecture_key: str
    path: Path
    size: int
    sha256: str
    cache_key: str


def saver_arguments(source: Path, output: Path, recipe: SaverRecipe = DEFAULT_RECIPE, *,
                    threads: int = 0) -> list[str]:
    """ffmpeg arguments that encode ``source`` (a delivered file) into ``output``."""
    scale = (f"scale={recipe.width}:{recipe.height}:force_original_aspect_ratio=decrease:flags=bicubic,"
             f"pad={recipe.width}:{recipe.height}:(ow-iw)/2:(oh-ih)/2,setsar=1,fps={recipe.frame_rate},format=yuv420p")
    return [
        "-hide_banner", "-nostdin", "-y", "-i", str(source),
        "-map", "0:v:0", "-map", "0:a:0?", "-vf", scale,
        "-c:v", "libx264", "-preset", recipe.preset, "-crf", str(recipe.crf),
        "-maxrate", f"{recipe.max_video_kbps}k", "-bufsize", f"{recipe.buffer_kbps}k",
        "-profile:v", recipe.profile, "-level:v", recipe.level,
        # A keyframe every 2 s: seeking on a slow link fetches little before the picture shows.
        "-g", str(2 * recipe.frame_rate), "-threads", str(threads),
        "-c:a", "aac", "-b:a", f"{recipe.audio_kbps}k", "-ac", "2",
        "-movflags", "+faststart", "-map_metadata", "-1", str(output),
    ]


def saver_key(media: DeliveredMedia, recipe: SaverRecipe) -> str:
    return cache_key(kind="site-saver", delivered=media.sha256, recipe=asdict(recipe), ffmpeg=ffmpeg_version())


def _verify(path: Path, recipe: SaverRecipe, duration: float) -> None:
    """The rendition is what the page promises: the recipe's size, and (nearly) the whole lecture."""
    probe = probe_json(path)
    video = next((s for s in probe.get("streams", []) if s.get("codec_type") == "video"), None)
    got = float(probe.get("format", {}).get("duration") or 0)
    if video is None or (video.get("width"), video.get("height")) != (recipe.width, recipe.height):
        raise SaverFailed(f"{path.name}: not {recipe.width}x{recipe.height}")
    if abs(got - duration) > max(0.5, 0.02 * duration):
        raise SaverFailed(f"{path.name}: lasts {got:.2f} s, the delivered file {duration:.2f} s")


def make_saver(media: DeliveredMedia, lecture_key: str, store: ContentStore,
               recipe: SaverRecipe = DEFAULT_RECIPE, *, threads: int = 0) -> SaverRendition:
    """The cached rendition of ``media``, encoded now when the cache has none."""
    key = saver_key(media, recipe)
    entry = store.get(key)
    if entry is None:
        with store.writing() as temp:
            output = temp / VIDEO_FILE
            try:
                run_ffmpeg(saver_arguments(media.path, output, recipe, threads=threads))
            except FfmpegError as exc:
                raise SaverFailed(str(exc)) from exc
            _verify(output, recipe, media.duration)
            entry = store.commit(key, temp, {"recipe": asdict(recipe), "delivered": media.sha256,
                                             "sha256": sha256_file(output)})
    path = entry.file(VIDEO_FILE)
    return SaverRendition(lecture_key=lecture_key, path=path, size=path.stat().st_size,
                          sha256=str(entry.facts.get("sha256", "")), cache_key=key)


def make_savers(delivered: Mapping[str, DeliveredMedia], lecture_keys: Iterable[str], cache_dir: Path, *,
                jobs: int = 1, recipe: SaverRecipe = DEFAULT_RECIPE) -> tuple[dict[str, SaverRendition], list[Diagnostic]]:
    """Renditions of every lecture in ``lecture_keys`` that has a delivered video, ``jobs`` at a time.

    A lecture whose rendition fails gets a warning (W409) and keeps only its full video.
    """
    store = ContentStore(cache_dir / SAVERS_FOLDER)
    wanted = [key for key in lecture_keys if key in delivered]
    threads = max(1, (os.cpu_count() or 1) // max(1, jobs))
    made: dict[str, SaverRendition] = {}
    diagnostics: list[Diagnostic] = []
    # Lectures that share a delivered file share its rendition: encoded once, not once per lecture
    # (two threads missing the cache together would both encode it).
    first_of: dict[str, str] = {}
    for key in wanted:
        first_of.setdefault(saver_key(delivered[key], recipe), key)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        encoded = {rendition_key: pool.submit(make_saver, delivered[key], key, store, recipe, threads=threads)
                   for rendition_key, key in first_of.items()}
        for key in wanted:
            try:
                rendition = encoded[saver_key(delivered[key], recipe)].result()
                made[key] = dataclasses.replace(rendition, lecture_key=key)
            except (SaverFailed, OSError) as exc:
                media = delivered[key]
                diagnostics.append(Diagnostic.warning(
                    "W409", _lecture_location(media), "没能生成省流量视频，网页只提供原视频",
                    f"the data-saver rendition could not be made: {exc}",
                    hint="原视频不受影响；重新运行 weike build 再试。"))
    (cache_dir / SAVERS_USED_FILE).write_text(json.dumps(sorted(r.cache_key for r in made.values())),
                                              encoding="utf-8")
    return made, diagnostics


def _lecture_location(media: DeliveredMedia):
    from weike.builder.contracts.model import SourceLocation

    return SourceLocation(file=f"courses/{media.course_slug}/{media.lecture_slug}/lecture.md")


def used_keys(cache_dir: Path) -> set[str] | None:
    """The keys the last build used, or None when it is not known (then every entry is kept)."""
    try:
        return set(json.loads((cache_dir / SAVERS_USED_FILE).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None
