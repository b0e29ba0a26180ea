"""Cover thumbnails for the catalogue's cards, and the notes' pictures at a size for phones: made
once per distinct picture.

Authors drop in phone photos of several megabytes; a card on a slow rural link needs tens of
kilobytes, and a 50-megapixel photo in the notes made a phone's browser decode all of it. Both
are cached by the SHA-256 of the source bytes, so a rebuild (or a second course with the same
picture) costs a hash, not a decode.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from weike.builder.keeping.memo import FileMemo
from weike.builder.keeping.prune import CacheItem, CachePart
from weike.builder.keeping.fingerprint import Fingerprint, code_digest, package_versions
from weike.builder.keeping.outputs import TEMP_PREFIX, write_atomic_with
from weike.plugins.pictures import (PHONE_PICTURE_RECIPE, draft_for_fitting, fitted_with_fill, open_picture,
                                    picture_for_phones)

#: Card images are shown at most ~21 rem wide; 640 px covers a 2x phone screen.
THUMBNAIL_WIDTH = 640
THUMBNAIL_HEIGHT = 360
THUMBNAIL_QUALITY = 80
#: Fewer covers to make than this per process are not worth a fork.
COVERS_PER_PROCESS = 16
#: The last two bytes of every whole JPEG file (EOI).
_JPEG_END = b"\xff\xd9"


@functools.cache
def _thumbnail_recipe() -> str:
    """What makes a thumbnail: one made otherwise (an older fill, another Pillow) has another name,
    so a cache kept across an upgrade gives what a cold build gives."""
    return Fingerprint(f"{THUMBNAIL_WIDTH}x{THUMBNAIL_HEIGHT} fit, JPEG quality {THUMBNAIL_QUALITY} progressive",
                       package_versions("pillow"), code_digest("weike.plugins.pictures")).hexdigest()[:12]


def thumbnail_name(digest: str) -> str:
    """File name of a cover's thumbnail ("fit": shown whole with a fill, unlike the old crops)."""
    return f"{digest}-{THUMBNAIL_WIDTH}x{THUMBNAIL_HEIGHT}-fit-{_thumbnail_recipe()}.jpg"


class CoverError(Exception):
    """A cover could not be turned into a thumbnail (unreadable or not an image)."""


@dataclass(frozen=True, kw_only=True)
class Thumbnail:
    path: Path
    width: int
    height: int
    #: Hash of the source bytes: part of the site's input hash.
    source_sha256: str


#: Where the site's cache folder keeps the thumbnails, and the hashes of the covers they came from.
COVERS_FOLDER = "covers"
COVERS_MEMO_FILE = "covers-memo.sqlite"
#: Where the site's cache folder keeps the notes' pictures as published.
NOTE_PICTURES_FOLDER = "pictures"


@functools.cache
def _phone_recipe() -> str:
    """What makes a published notes picture: a copy made otherwise has another name."""
    return Fingerprint(PHONE_PICTURE_RECIPE, package_versions("pillow"),
                       code_digest("weike.plugins.pictures")).hexdigest()[:12]


def note_picture_name(digest: str, source: Path) -> str:
    """File name of the published copy of a notes picture (its format follows the source's name)."""
    return f"{digest}-phone-{_phone_recipe()}{source.suffix.lower()}"


@dataclass(frozen=True, kw_only=True)
class WorkBeside:
    """Work a cold build does while it makes its covers' thumbnails, so that both cores are busy
    until the courses are made (:meth:`CoverCache.make_missing_thumbnails`).

    ``items`` (each about a cover's worth of CPU) are done by ``work`` in whichever process gets
    them (after the covers: by another process when the covers are shared), their results (JSON
    values) handed to ``done`` in their order, here; ``meanwhile`` is this process's own work
    (what only it can do, such as loading what the processes forked later share), done while the
    other process makes covers, its share of them smaller by ``meanwhile_covers`` (as many
    covers' worth). A process that fails has its items done here (``workers.share_work``)."""

    items: Sequence = ()
    work: Callable[[object], object] = lambda item: None
    done: Callable[[list], None] = lambda results: None
    meanwhile: Callable[[], None] | None = None
    meanwhile_covers: float = 0.0


class CoverCache:
    """Thumbnails by source hash, in ``<site cache>/covers``; the hashes are remembered in a
    :class:`FileMemo` (by path, size, mtime and inode), so unchanged covers are not re-read.

    Usable in a process forked from the one that opened it (a cold build's courses are made in
    worker processes, their notes' pictures with them): each process asks the memo through a
    connection of its own, since an SQLite connection must not be used across a fork. The facts a
    worker learns go to the memo's file, where the next build finds them."""

    def __init__(self, site_cache: Path) -> None:
        self.folder = site_cache / COVERS_FOLDER
        self._memo_file = site_cache / COVERS_MEMO_FILE
        self._memos = {os.getpid(): FileMemo(self._memo_file)}
        #: What :meth:`make_missing_thumbnails` learnt, for :meth:`thumbnail` (a thousand covers, a
        #: few hundred distinct: each hashed, or its thumbnail opened for its size, once): each
        #: source's hash as it hashed it, and the thumbnails by hash, once made or opened.
        self._digests: dict[Path, str] = {}
        self._thumbnails: dict[str, Thumbnail] = {}

    @property
    def _memo(self) -> FileMemo:
        """This process's memo, opened the first time a forked process asks. (The one it inherited
        stays referenced and untouched: closing it there, even by the collector, would act on the
        parent's connection.)"""
        memo = self._memos.get(os.getpid())
        if memo is None:
            memo = self._memos[os.getpid()] = FileMemo(self._memo_file)
        return memo

    def digest(self, source: Path) -> str:
        """SHA-256 of ``source``, from the memo while the file is unchanged."""
        try:
            return self._memo.sha256(source)
        except OSError as exc:
            raise CoverError(f"{type(exc).__name__}: {exc}") from exc

    def thumbnail(self, source: Path) -> Thumbnail:
        digest = self._digests.pop(source, None) or self.digest(source)
        thumbnail = self._thumbnails.get(digest)
        if thumbnail is None:
            thumbnail = self._thumbnails[digest] = make_thumbnail(source, self.folder, digest=digest)
        return thumbnail

    def make_missing_thumbnails(self, sources: Sequence[Path], *, beside: WorkBeside | None = None) -> int:
        """Make the thumbnails of ``sources`` not in the cache yet, shared among processes (a cold
        build's covers: decoding, scaling, blurring and encoding each is 2-3 ms of CPU); returns how many
        were missing. A cover that fails here is left to :meth:`thumbnail`, which reports it.

        ``beside``: other work of a cold build shared with the covers (:class:`WorkBeside`), done
        with them whether or not any is missing."""
        from weike.plugins.site.workers import render_processes, share_work

        missing: dict[str, str] = {}
        with self._memo.batch():  # a cold build's covers: their hashes remembered in one write
            for source in sources:
                try:
                    digest = self._digests[source] = self.digest(source)
                except Exception:  # noqa: BLE001 (the course's own thumbnail() reports it, for that course only)
                    continue
                if digest not in missing and not thumbnail_path(self.folder, digest).is_file():
                    missing[digest] = str(source)
        covers = list(missing.items())
        if beside is None:
            processes = render_processes(len(covers), per_process=COVERS_PER_PROCESS)
            if processes > 1:
                self._made(covers, share_work(covers, self._try_thumbnail, processes=processes))
            return len(covers)
        # The covers first and the other items after them: the shares are contiguous and this
        # process's is the first, so another process makes those items (this one does its own
        # work meanwhile, its share of covers smaller by its weight).
        items = [*((True, cover) for cover in covers), *((False, item) for item in beside.items)]

        def work(item: tuple[bool, object]):
            is_cover, what = item
            return self._try_thumbnail(what) if is_cover else beside.work(what)

        processes = render_processes(len(items) + round(beside.meanwhile_covers), per_process=COVERS_PER_PROCESS)
        done = share_work(items, work, processes=processes, meanwhile=beside.meanwhile,
                          meanwhile_weight=beside.meanwhile_covers)
        self._made(covers, done[:len(covers)])
        beside.done(done[len(covers):])
        return len(covers)

    def _try_thumbnail(self, item: tuple[str, str]) -> list[int] | None:
        """The size of the thumbnail made of ``item`` (hash, source), None when it failed."""
        digest, source = item
        try:
            made = make_thumbnail(Path(source), self.folder, digest=digest)
        except Exception:  # noqa: BLE001 (as above: reported by thumbnail(), for its course only)
            return None
        return [made.width, made.height]

    def _made(self, covers: Sequence[tuple[str, str]], sizes: Sequence[list[int] | None]) -> None:
        """Remember the thumbnails made of ``covers`` (hash, source) with their ``sizes``."""
        for (digest, _), size in zip(covers, sizes, strict=True):
            if size is not None:
                self._thumbnails[digest] = Thumbnail(path=thumbnail_path(self.folder, digest), width=size[0],
                                                     height=size[1], source_sha256=digest)

    def note_picture(self, source: Path) -> Path:
        """The copy of a notes picture the site publishes (:func:`~weike.plugins.pictures.picture_for_phones`),
        made now if missing; raises :class:`CoverError`."""
        digest = self.digest(source)
        target = self.folder.parent / NOTE_PICTURES_FOLDER / digest[:2] / note_picture_name(digest, source)
        if target.is_file():
            return target
        try:
            data = picture_for_phones(source)
        except (UnidentifiedImageError, OSError, ValueError) as exc:  # PictureTooLarge is a ValueError
            raise CoverError(f"{type(exc).__name__}: {exc}") from exc
        write_atomic_with(target, lambda handle: handle.write(data))
        return target

    def close(self) -> None:
        memo = self._memos.get(os.getpid())
        if memo is not None:
            memo.close()

    def __enter__(self) -> CoverCache:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def thumbnail_path(cache: Path, digest: str) -> Path:
    """Where the thumbnail of the cover whose bytes hash to ``digest`` is kept."""
    return cache / f"{digest[:2]}/{thumbnail_name(digest)}"


#: The bytes of a thumbnail read for its frame header (which PIL writes before the scan's tables).
_JPEG_HEAD = 2048
#: Start-of-frame markers (every SOFn but DHT, JPG and DAC, which share the range).
_JPEG_FRAMES = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def jpeg_size(head: bytes) -> tuple[int, int] | None:
    """(width, height) from the frame header of the JPEG whose first bytes are ``head``; None when
    ``head`` is no JPEG's start or holds no frame header."""
    if head[:2] != b"\xff\xd8":
        return None
    at = 2
    while at + 9 <= len(head):
        if head[at] != 0xFF:
            return None
        marker = head[at + 1]
        if marker == 0xFF:  # a fill byte
            at += 1
            continue
        if marker in _JPEG_FRAMES:
            height, width = int.from_bytes(head[at + 5:at + 7], "big"), int.from_bytes(head[at + 7:at + 9], "big")
            return (width, height) if width and height else None
        if marker == 0xDA or 0xD0 <= marker <= 0xD9:  # the scan, or a marker without a length: no frame before it
            return None
        at += 2 + int.from_bytes(head[at + 2:at + 4], "big")
    return None


def make_thumbnail(source: Path, cache: Path, *, digest: str) -> Thumbnail:
    """The cached thumbnail of ``source``, whose bytes hash to ``digest`` (made now if missing);
    raises :class:`CoverError`."""
    target = thumbnail_path(cache, digest)
    if target.is_file():
        try:
            with target.open("rb") as handle:
                head = handle.read(_JPEG_HEAD)
                # Written without fsync: a power cut may leave one empty, cut short or with a
                # zeroed tail, never with the JPEG's end marker, so it is made again.
                handle.seek(-2, os.SEEK_END)
                if handle.read(2) == _JPEG_END:
                    # Its size from its frame header (a thousand covers each build: PIL's
                    # opening of each was most of collecting the courses); PIL's where not found.
                    size = jpeg_size(head)
                    if size is None:
                        handle.seek(0)
                        with Image.open(handle) as done:
                            size = done.size
                    return Thumbnail(path=target, width=size[0], height=size[1], source_sha256=digest)
        except (UnidentifiedImageError, OSError):
            pass  # a damaged cache entry is simply made again
    try:
        with open_picture(source) as image:
            # A JPEG decoded at a reduced scale straight away (the size shown still):
            # 4-8x faster than a full decode of a phone photo.
            draft_for_fitting(image, (THUMBNAIL_WIDTH, THUMBNAIL_HEIGHT))
            # Turned in place, converted by fitted_with_fill only when not RGB yet: each copy of
            # the decoded picture was a millisecond of a cover's ~15.
            ImageOps.exif_transpose(image, in_place=True)
            # Always 16:9, the picture whole inside it: the cards' 16:9 frame then crops nothing.
            image = fitted_with_fill(image, (THUMBNAIL_WIDTH, THUMBNAIL_HEIGHT))
            # No fsync (a cover of a cold build is ~10 ms of CPU, its fsync as much again on a
            # busy disk): a thumbnail torn by a power cut has no end marker and is made again.
            write_atomic_with(target, lambda handle: image.save(handle, "JPEG", quality=THUMBNAIL_QUALITY,
                                                                optimize=True, progressive=True), sync=False)
            return Thumbnail(path=target, width=image.width, height=image.height, source_sha256=digest)
    except (UnidentifiedImageError, OSError, ValueError) as exc:  # PictureTooLarge is a ValueError
        raise CoverError(f"{type(exc).__name__}: {exc}") from exc


# --------------------------------------------------------------------------------------------
# `weike cache`: which thumbnails the current courses still use
# --------------------------------------------------------------------------------------------

#: A temp file this old was left by a killed build (a thumbnail takes well under a second).
_STALE_TEMP_SECONDS = 3600


class CoversPart(CachePart):
    """The thumbnail cache: a thumbnail is needed while a current course's cover has its hash."""

    def __init__(self, folder: Path, covers: list[Path], *, name: str, title: str,
                 made_name: Callable[[str, Path], str] = lambda digest, _: thumbnail_name(digest)) -> None:
        super().__init__(name=name, title=title, path=folder)
        self._covers = covers
        #: The name of what is made from a picture (by its hash and path) in this folder.
        self._made_name = made_name

    def items(self) -> list[CacheItem]:
        if not self.path.is_dir():
            return []
        wanted = set()
        with CoverCache(self.path.parent) as cache:
            for cover in self._covers:
                try:
                    wanted.add(self._made_name(cache.digest(cover), cover))
                except CoverError:
                    continue  # unreadable now: the site build reports it (E4xx), nothing here to keep
        items = []
        for file in sorted(self.path.glob("*/*")):
            if not file.is_file():
                continue
            size = file.stat().st_size
            if file.name.startswith(TEMP_PREFIX):
                needed = time.time() - file.stat().st_mtime < _STALE_TEMP_SECONDS
            else:
                needed = file.name in wanted
            items.append(CacheItem(name=file.relative_to(self.path.parent).as_posix(), size=size, needed=needed,
                                   path=file))
        return items
