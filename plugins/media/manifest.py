"""``dist/media``: the delivered files published there, and ``manifest.json``, which says what they are.

Each lecture gets ``<course>/<lecture>.mp4`` (linked from the content store), a poster ``.jpg``
and its subtitles as ``.vtt`` and, normalised, ``.srt``; the manifest records each one's source, hashes, probe and cache
key. Later commands read it back (``weike_media_delivered``) to know what a lecture shows
without building.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path

from weike.builder.contracts.context import BuildContext
from weike.builder.contracts.model import repository_path, Course, DeliveredMedia
from weike.builder.keeping.store import ContentStore
from weike.builder.keeping.outputs import link_file, remove_temps, write_atomic
from weike.builder.repository.loading import find_course_folders
from weike.plugins.media import runner as ffmpeg
from weike.plugins.media.ledger import record_files
from weike.plugins.media.planning import LecturePlan
from weike.plugins.media.probe import info_from_dict
from weike.plugins.media.profile import DeliveryProfile
from weike.plugins.media.subtitles import read_srt, read_subtitle_file, subrip, webvtt

MANIFEST_FILE = "manifest.json"
MANIFEST_FORMAT = "weike-media-manifest/1"


def place_delivered(item: LecturePlan, facts: dict, store: ContentStore, media_root: Path,
             root: Path) -> tuple[DeliveredMedia, dict]:
    """Link the cached files to ``dist/media/<course>/<lecture>.*`` and convert the subtitles."""
    entry = store.folder(item.delivered_key)
    folder = media_root / item.course.slug
    target = folder / f"{item.lecture.slug}.mp4"
    poster = target.with_suffix(".jpg")
    link_file(entry / "video.mp4", target)
    link_file(entry / "poster.jpg", poster)
    subtitles = subtitles_srt = None
    vtt, srt = target.with_suffix(".vtt"), target.with_suffix(".srt")
    if item.lecture.subtitles is not None and item.lecture.subtitles.path is not None:
        # Read once, handed on in both forms: the players' WebVTT, the upload forms' SubRip.
        cues = read_srt(read_subtitle_file(item.lecture.subtitles.path), shift_ms=item.subtitle_shift_ms)
        write_atomic(vtt, webvtt(cues).encode("utf-8"))
        write_atomic(srt, subrip(cues).encode("utf-8"))
        subtitles, subtitles_srt = vtt, srt
    else:
        vtt.unlink(missing_ok=True)
        srt.unlink(missing_ok=True)
    # One path for the file and its probe, as a value handed forward from its record has it.
    info = info_from_dict(facts["info"], path=target)
    media = DeliveredMedia(
        course_slug=item.course.slug, lecture_slug=item.lecture.slug, path=target, duration=facts["duration"],
        size=facts["size"], sha256=facts["sha256"], source_sha256=item.source_sha256, profile=facts["profile"],
        poster=poster, subtitles=subtitles, subtitles_srt=subtitles_srt, from_audio=facts["from_audio"], info=info,
    )
    record = {
        "course": item.course.slug,
        "lecture": item.lecture.slug,
        "file": target.relative_to(media_root).as_posix(),
        "poster": poster.relative_to(media_root).as_posix(),
        "subtitles": subtitles.relative_to(media_root).as_posix() if subtitles else None,
        "subtitles_srt": subtitles_srt.relative_to(media_root).as_posix() if subtitles_srt else None,
        "source": repository_path(item.source, root),
        "source_sha256": item.source_sha256,
        "sha256": facts["sha256"],
        "size": facts["size"],
        "duration": facts["duration"],
        # What the duration was checked against: the source's own figures.
        "source_length": facts.get("source_length"),
        "method": facts["method"],
        "from_audio": facts["from_audio"],
        "profile": facts["profile"],
        "cache_key": item.delivered_key,
        # What the cards say and how long they are (None: no cards).
        "title_cards": facts.get("title_cards"),
        "probe": {k: v for k, v in facts["info"].items() if k != "path"},
    }
    return media, record


def delivered_from_record(record: dict, media_root: Path, *, course_slug: str, lecture_slug: str,
                          present: bool = False) -> DeliveredMedia | None:
    """The lecture's delivery as its manifest ``record`` describes it (None: a record weike does not
    write any more). ``present``: its files are known to be there (else each is looked for)."""

    root = os.fspath(media_root)

    def there(name: object) -> Path | None:
        # Path of one joined string: a catalogue hands forward tens of thousands of these.
        path = Path(f"{root}/{name}") if name else None
        return path if path is not None and (present or path.is_file()) else None

    video = Path(f"{root}/{record.get('file', '')}")
    try:
        return DeliveredMedia(
            course_slug=course_slug, lecture_slug=lecture_slug, path=video, duration=float(record["duration"]),
            size=int(record["size"]), sha256=str(record["sha256"]), source_sha256=str(record["source_sha256"]),
            profile=str(record["profile"]), poster=there(record.get("poster")),
            subtitles=there(record.get("subtitles")), subtitles_srt=there(record.get("subtitles_srt")),
            from_audio=bool(record.get("from_audio")),
            info=info_from_dict(record["probe"], path=video) if record.get("probe") else None)
    except (KeyError, TypeError, ValueError):
        return None  # a manifest from an older weike: the next build rewrites it


def delivered_from_manifest(context: BuildContext, courses: Sequence[Course]) -> dict[str, DeliveredMedia]:
    """What ``dist/media/manifest.json`` says is delivered for ``courses``, from the same source file."""
    media_root = context.paths.media
    try:
        manifest = json.loads((media_root / MANIFEST_FILE).read_text(encoding="utf-8"))
        records = dict(manifest.get("lectures") or {})
    except (OSError, ValueError, AttributeError):
        return {}
    found: dict[str, DeliveredMedia] = {}
    for course in courses:
        for lecture in course.lectures:
            record = records.get(lecture.key)
            source = lecture.media.path if lecture.media is not None else None
            if not isinstance(record, dict) or source is None:
                continue
            video = media_root / str(record.get("file", ""))
            if record.get("source") != repository_path(source, context.paths.root) or not video.is_file():
                continue  # another source now, or the file is gone: not what this lecture shows
            media = delivered_from_record(record, media_root, course_slug=course.slug, lecture_slug=lecture.slug)
            if media is not None:
                found[lecture.key] = media
    return found


def read_manifest(media_root: Path) -> dict | None:
    """``dist/media/manifest.json`` as the last stage wrote it, or None (absent, damaged)."""
    try:
        payload = json.loads((media_root / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return payload if isinstance(payload, dict) and isinstance(payload.get("lectures"), dict) else None


def write_manifest(media_root: Path, entries: dict[str, dict], courses: Sequence[Course], root: Path,
                   profile: DeliveryProfile, *, previous: dict | None = None, as_written: bool = False,
                   placed: set[str] | None = None) -> tuple[Path, set[str]]:
    """``dist/media/manifest.json``: this build's lectures, plus earlier ones of courses not built now.

    Entries (and folders) of courses that no longer exist in ``courses/`` are removed; a
    course built now loses files of lectures it no longer has. A lecture it still has but that
    was not delivered now (held back by an error in its folder) keeps its earlier file.

    ``previous``: the manifest as read at the start of the stage (None: read here); ``as_written``:
    the file on disk is still the one the last stage wrote, so equal content is not written again.
    ``placed``: the courses whose lectures were placed (or failed) now, whose folders are tidied;
    None = every course built now. A course all of whose lectures were handed forward unchanged
    has nothing of this build's to tidy, unless it lost a lecture (then it is tidied too).

    Returns the manifest's path and the keys of the lectures it holds.
    """
    manifest_path = media_root / MANIFEST_FILE
    existing_slugs = {folder.name for folder in find_course_folders(root)}
    built = {course.slug: course for course in courses}
    if previous is None:
        previous, as_written = read_manifest(media_root), False
    lectures: dict[str, dict] = {}
    dropped: set[str] = set()
    folders_of: dict[str, set[str]] = {}
    if previous is not None and (previous.get("profile") or {}).get("name") == profile.name:
        for key, record in previous["lectures"].items():
            if key in entries:
                continue  # replaced below; no need to look at the earlier files
            slug = record.get("course") if isinstance(record, dict) else None
            if slug in built and slug not in folders_of:
                # Lecture folders on disk, all of them: the course given to the stage may hold
                # only the lectures to deliver now.
                folders_of[slug] = {folder.as_posix() for folder in _lecture_folders(built[slug])}
            still_there = slug not in built or key in folders_of[slug]
            if slug in existing_slugs and still_there and (media_root / record.get("file", "")).is_file():
                lectures[key] = record
            elif slug in built:
                dropped.add(slug)
    lectures.update(entries)
    tidied = set(built) if placed is None else (placed | dropped) & set(built)
    # Tidy dist/media: leftovers of killed builds, vanished courses, renamed lectures.
    if media_root.is_dir():
        # Grouped once: asking every course folder to scan every record is quadratic (2,000
        # courses x 24,000 lectures took longer than the rest of the stage).
        wanted: dict[str, set[str]] = defaultdict(set)
        for record in lectures.values():
            if record["course"] in tidied:
                wanted[record["course"]].update(record_files(record))
        for folder in media_root.iterdir():
            if not folder.is_dir() or (folder.name in existing_slugs and folder.name not in tidied):
                continue
            remove_temps(folder)
            if folder.name not in existing_slugs:
                shutil.rmtree(folder, ignore_errors=True)
            else:
                keep = wanted[folder.name]
                for file in folder.iterdir():
                    if file.is_file() and f"{folder.name}/{file.name}" not in keep:
                        file.unlink()
    payload = {
        "format": MANIFEST_FORMAT,
        # As JSON has it (lists, not tuples), so that it compares equal to what was read back.
        "profile": json.loads(json.dumps(profile.as_dict())),
        "encoder": ffmpeg.version(),
        "lectures": dict(sorted(lectures.items())),
    }
    if as_written and payload == previous:
        # The same content is on disk, as written: serialising 12,000 records again is seconds.
        return manifest_path, set(lectures)
    # The lines of records handed forward unchanged are the file's own (one edit: one line written).
    reused = _written_lines(manifest_path, previous) if as_written else {}
    write_atomic(manifest_path, manifest_text(payload, reused=reused).encode("utf-8"))
    return manifest_path, set(lectures)


def _written_lines(manifest_path: Path, previous: dict) -> dict[str, tuple[dict, str]]:
    """Each lecture's record in ``previous`` with its line in the file this code wrote (read as
    :func:`manifest_text` lays it out), or nothing when the file does not read that way."""
    try:
        lines = manifest_path.read_text(encoding="utf-8").split("\n")
    except (OSError, ValueError):
        return {}
    records = previous["lectures"]
    if len(lines) != len(records) + 3 or not records:  # head, one line a lecture, "}}", and the end
        return {}
    reused = {}
    for (key, record), line in zip(records.items(), lines[1:-2]):
        line = line.removesuffix(",")
        if not line.startswith(json.dumps(key, ensure_ascii=False) + ": "):
            return {}
        reused[key] = (record, line)
    return reused


def manifest_text(payload: dict, *, reused: dict[str, tuple[dict, str]] | None = None) -> str:
    """The manifest as JSON with one lecture per line: readable and diffable, and made by json's C
    encoder (an indented dump is pure Python: seconds for 12,000 lectures, on every media edit).

    ``reused``: lines already written, by lecture, for the record each was written from: a record
    that is that very one keeps its line instead of being encoded again."""
    reused = reused or {}
    head = json.dumps({key: value for key, value in payload.items() if key != "lectures"}, ensure_ascii=False)

    def line(key: str, record: dict) -> str:
        kept = reused.get(key)
        if kept is not None and kept[0] is record:
            return kept[1]
        return f"{json.dumps(key, ensure_ascii=False)}: {json.dumps(record, ensure_ascii=False)}"

    lines = [line(key, record) for key, record in payload["lectures"].items()]
    lectures = "{\n" + ",\n".join(lines) + "\n}" if lines else "{}"
    return f'{head[:-1]}, "lectures": {lectures}}}\n'


def _lecture_folders(course: Course) -> Iterator[Path]:
    """The lecture folders of ``course`` on disk, as ``Path("<course-slug>/<lecture-slug>")``
    (all of them: the course given to the stage may hold only the lectures to deliver now)."""
    try:
        entries = list(os.scandir(course.folder))
    except OSError:
        return
    for entry in entries:
        if entry.is_dir() and (Path(entry.path) / "lecture.md").is_file():
            yield Path(course.slug) / entry.name
