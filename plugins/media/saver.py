"""The 省流量 (data-saver) rendition of each lecture video: 640×360 at a few hundred kbit/s.

Rural links are slow and mobile data costs money. When a plugin asks for it
(``weike_media_renditions``: the site does with ``extra.weike.data_saver`` or
``extra.weike.offline.data_saver`` in ``mkdocs.yml``) the media stage makes, from each *delivered*
1280×720 file, a smaller one and hands it forward in ``DeliveredMedia.renditions`` (under the
recipe's name, ``saver``): the lecture page offers it as "省流量", the offline edition can carry it
instead of the full file. The delivered file stays what the bundles carry.

The settings were chosen by measurement (``python benchmarks/data_saver.py``, figures in the
README): the smallest candidate whose VMAF against the delivered file, upscaled to 1280×720 the
way a phone's player does, stays above 80 on camera-like footage (82.2; 85.1 for a speaker before
a still background) at about a fifth of the delivered size (~255 kbit/s for the whole file).

Renditions are cached like the delivery: content-addressed by the delivered file's SHA-256, the
recipe and the ffmpeg version (``.weike/cache/savers/``), written into a temp folder and
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
from types import MappingProxyType

from weike.builder.contracts.model import DeliveredMedia, Diagnostic, SourceLocation
from weike.builder.keeping.memo import sha256_file
from weike.builder.keeping.store import ContentStore, cache_key
from weike.plugins.media.runner import FfmpegError, probe_json
from weike.plugins.media.runner import run as run_ffmpeg
from weike.plugins.media.runner import version as ffmpeg_version

#: Where renditions live, below the cache folder.
SAVERS_FOLDER = "savers"
#: The keys the last build used (what ``weike cache prune`` keeps).
SAVERS_USED_FILE = "savers-used.json"
VIDEO_FILE = "saver.mp4"


@dataclass(frozen=True, kw_only=True)
class SaverRecipe:
    """How the data-saver file is encoded (H.264 + AAC in MP4, fast start)."""

    #: The key of ``DeliveredMedia.renditions`` it is handed forward under.
    name: str = "saver"
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
    return cache_key(kind="saver", delivered=media.sha256, recipe=asdict(recipe), ffmpeg=ffmpeg_version())


def _verify(path: Path, recipe: SaverRecipe, duration: float) -> None:
    """The rendition is what the page promises: the recipe's size, and (nearly) the whole lecture."""
    probe = probe_json(path)
    video = next((s for s in probe.get("streams", []) if s.get("codec_type") == "video"), None)
    got = float(probe.get("format", {}).get("duration") or 0)
    if video is None or (video.get("width"), video.get("height")) != (recipe.width, recipe.height):
        raise SaverFailed(f"{path.name}: not {recipe.width}x{recipe.height}")
    if abs(got - duration) > max(0.5, 0.02 * duration):
        raise SaverFailed(f"{path.name}: lasts {got:.2f} s, the delivered file {duration:.2f} s")


def make_saver(media: DeliveredMedia, store: ContentStore, recipe: SaverRecipe = DEFAULT_RECIPE, *,
               threads: int = 0) -> DeliveredMedia:
    """The cached rendition of ``media`` (encoded now when the cache has none), described as the
    lecture's video in that rendition: its own file, size and SHA-256; poster and subtitles shared."""
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
    return dataclasses.replace(media, path=path, size=path.stat().st_size, sha256=str(entry.facts.get("sha256", "")),
                               info=None, renditions=MappingProxyType({}))


def make_renditions(delivered: Mapping[str, DeliveredMedia], recipes: Iterable[SaverRecipe], cache_dir: Path, *,
                    jobs: int = 1) -> tuple[dict[str, DeliveredMedia], list[Diagnostic]]:
    """``delivered`` with every rendition of ``recipes`` in each one's ``renditions``, ``jobs`` at a time.

    A lecture whose rendition fails gets a warning (W409) and keeps only its delivered file. The
    keys used are recorded (``weike cache prune`` keeps them; none asked for: none kept).
    """
    recipes = list({recipe.name: recipe for recipe in recipes}.values())
    if not recipes:
        if (cache_dir / SAVERS_USED_FILE).exists():  # none in use now: `weike cache prune` may take them
            (cache_dir / SAVERS_USED_FILE).write_text("[]", encoding="utf-8")
        return dict(delivered), []
    store = ContentStore(cache_dir / SAVERS_FOLDER)
    threads = max(1, (os.cpu_count() or 1) // max(1, jobs))
    renditions: dict[str, dict[str, DeliveredMedia]] = {key: {} for key in delivered}
    diagnostics: list[Diagnostic] = []
    used: set[str] = set()
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for recipe in recipes:
            # Lectures that share a delivered file share its rendition: encoded once, not once per
            # lecture (two threads missing the cache together would both encode it).
            first_of: dict[str, str] = {}
            for key, media in delivered.items():
                first_of.setdefault(saver_key(media, recipe), key)
            encoded = {rendition_key: pool.submit(make_saver, delivered[key], store, recipe, threads=threads)
                       for rendition_key, key in first_of.items()}
            for key, media in delivered.items():
                rendition_key = saver_key(media, recipe)
                try:
                    made = encoded[rendition_key].result()
                except (SaverFailed, OSError) as exc:
                    diagnostics.append(Diagnostic.warning(
                        "W409", _lecture_location(media), "没能生成省流量视频，网页只提供原视频",
                        f"the data-saver rendition could not be made: {exc}",
                        hint="原视频不受影响；重新运行 weike build 再试。"))
                    continue
                used.add(rendition_key)
                renditions[key][recipe.name] = dataclasses.replace(
                    made, course_slug=media.course_slug, lecture_slug=media.lecture_slug)
    (cache_dir / SAVERS_USED_FILE).parent.mkdir(parents=True, exist_ok=True)
    (cache_dir / SAVERS_USED_FILE).write_text(json.dumps(sorted(used)), encoding="utf-8")
    return {key: _with_renditions(media, renditions[key]) if renditions[key] else media
            for key, media in delivered.items()}, diagnostics


def _with_renditions(media: DeliveredMedia, renditions: dict[str, DeliveredMedia]) -> DeliveredMedia:
    """``media`` with its renditions: the same delivery (they are no part of its identity), so the
    same digest."""
    made = dataclasses.replace(media, renditions=MappingProxyType(renditions))
    object.__setattr__(made, "digest", media.digest)
    return made


def _lecture_location(media: DeliveredMedia) -> SourceLocation:
    return SourceLocation(file=f"courses/{media.course_slug}/{media.lecture_slug}/lecture.md")


def used_keys(cache_dir: Path) -> set[str] | None:
    """The keys the last build used, or None when it is not known (then every entry is kept)."""
    try:
        return set(json.loads((cache_dir / SAVERS_USED_FILE).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None
