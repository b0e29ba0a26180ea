"""Files into the site folder: the delivered media placed by hard link (copied across file systems),
and the build folder swapped into place atomically.
"""

from __future__ import annotations

import os
import shutil
from typing import TYPE_CHECKING
from pathlib import Path

from weike.builder.keeping import outputs
from weike.plugins.site.catalogue import Catalogue

if TYPE_CHECKING:
    from weike.plugins.site.workers import WorkAside

def media_files(catalogue: Catalogue) -> dict[str, Path]:
    """Site-relative path -> delivered file, for every video, poster and subtitle track."""
    files: dict[str, Path] = {}
    for item in catalogue.courses:
        for lecture in item.lectures:
            media = lecture.media
            if media is None:
                continue
            files[lecture.video_url] = media.path
            if lecture.poster_url and media.poster:
                files[lecture.poster_url] = media.poster
            if lecture.subtitles_url and media.subtitles:
                files[lecture.subtitles_url] = media.subtitles
            if lecture.saver_url and lecture.saver_file:
                files[lecture.saver_url] = lecture.saver_file
    return files


def placed_media(media_dir: Path) -> dict[str, int]:
    """Every file below a site's ``media`` folder (the site's or the offline edition's):
    site-relative path -> inode (from the folder listing: no stat per file)."""
    found: dict[str, int] = {}
    stack = [("media/", str(media_dir))]
    while stack:
        prefix, folder = stack.pop()
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append((f"{prefix}{entry.name}/", entry.path))
                    else:
                        found[prefix + entry.name] = entry.inode()
        except OSError:
            continue
    return found


def place_media(catalogue: Catalogue, site_dir: Path, placed_files: dict[str, tuple[int, int, int]] | None = None) -> int:
    """Hard-link (copy across file systems) every delivered file the site shows into ``site_dir``
    where it is missing or another file, and delete the files of lectures no longer published.

    What is there already is judged from the folder itself, so a file deleted or replaced in the
    site is placed again: a site file that is the source's inode is kept with one stat of the
    source, any other goes through :func:`~weike.builder.keeping.outputs.link_file` (a copy with the
    source's size and time is kept too). Returns how many files were placed; ``placed_files``, when
    given, receives every file the site's ``media`` holds after it: site-relative path -> (size,
    mtime_ns, inode), from the stat already taken (the offline edition lists them so, no walk).
    """
    wanted = media_files(catalogue)
    media_dir = site_dir / "media"
    present = placed_media(media_dir) if media_dir.is_dir() else {}
    device = os.stat(media_dir).st_dev if present else None
    placed = 0
    site = str(site_dir)  # (string paths: a Path made of each of 25,000 site paths was a third of the time)
    for rel, source in wanted.items():
        target = f"{site}/{rel}"
        inode = present.get(rel)
        if inode is not None:
            try:
                stat = os.stat(source)
            except OSError:
                stat = None
            if stat is not None and stat.st_ino == inode and stat.st_dev == device:
                if placed_files is not None:
                    placed_files[rel] = (stat.st_size, stat.st_mtime_ns, stat.st_ino)
                continue
        placed += outputs.link_file(source, target)
        if placed_files is not None:
            try:
                stat = os.stat(target)
            except OSError:
                continue
            placed_files[rel] = (stat.st_size, stat.st_mtime_ns, stat.st_ino)
    for rel in present.keys() - wanted.keys():  # files of courses no longer published go
        (site_dir / rel).unlink(missing_ok=True)
    return placed


#: Fewer lectures than this (about four files each) are linked by the build's own process: a fork
#: costs more than it saves. A cold build forks it before the serial work that leads to the render
#: (the second core is idle then), so a few hundred courses are worth it.
MEDIA_ASIDE = 500
#: Where a cold build's media are linked while the folder is built: MkDocs empties the folder it
#: builds into of all but hidden entries, so they are moved into ``media/`` after the render.
ASIDE_FOLDER = ".media-aside"


def placing_aside(catalogue: Catalogue) -> bool:
    """Whether a cold build links ``catalogue``'s media in a process of their own
    (:func:`place_media_aside`): enough files, a second core, and ``fork``."""
    from weike.plugins.site.workers import render_processes

    files = sum(len(item.lectures) for item in catalogue.courses)
    return render_processes(files, per_process=MEDIA_ASIDE) > 1


def place_media_aside(catalogue: Catalogue, site_dir: Path) -> WorkAside:
    """:func:`place_media` of ``catalogue`` started in a forked process, into the hidden
    :data:`ASIDE_FOLDER` of ``site_dir`` (a folder being built); :func:`media_placed_aside` waits
    for it and moves them into place. A process that fails in any way has its work done by the
    caller when it waits (:class:`~weike.plugins.site.workers.WorkAside`: linking again what it
    linked keeps the file)."""
    from weike.plugins.site.workers import WorkAside

    def place(_item: str) -> dict[str, list[int]]:
        placed: dict[str, tuple[int, int, int]] = {}
        place_media(catalogue, site_dir / ASIDE_FOLDER, placed)
        return {rel: list(values) for rel, values in placed.items()}

    return WorkAside(["media"], place)


def media_placed_aside(placing: WorkAside, catalogue: Catalogue, site_dir: Path) -> dict[str, tuple[int, int, int]]:
    """Wait for :func:`place_media_aside` into ``site_dir`` and move its ``media`` folder into
    place (a rename keeps every file's inode and time: the records stay true); what
    ``place_media``'s ``placed_files`` receives. Where the folder has a ``media`` of its own by
    then (nothing writes one), the media are placed there instead."""
    placed = {rel: tuple(values) for rel, values in placing.results()[0].items()}
    aside = site_dir / ASIDE_FOLDER
    target = site_dir / "media"
    if target.exists() or target.is_symlink():
        placed = {}
        place_media(catalogue, site_dir, placed)
    elif (aside / "media").is_dir():
        os.replace(aside / "media", target)
    shutil.rmtree(aside, ignore_errors=True)
    return placed


def swap_into_place(tmp_dir: Path, site_dir: Path) -> None:
    """Swap the freshly built ``tmp_dir`` into ``site_dir`` (two renames; never a half site)."""
    old = site_dir.with_name(outputs.temp_name(f"{site_dir.name}.old"))
    if site_dir.exists():
        os.replace(site_dir, old)
    os.replace(tmp_dir, site_dir)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


def remove_leftovers(site_dir: Path) -> None:
    """Temporary folders of builds of ``site_dir`` that were killed (and those of weike versions
    that named them ``.<site>-tmp-…`` / ``.<site>-old-…``)."""
    mine = {site_dir.name, f"{site_dir.name}.old"}
    for path in site_dir.parent.glob(f"{outputs.TEMP_PREFIX}*"):
        if outputs.temp_target(path.name) in mine:
            shutil.rmtree(path, ignore_errors=True)
    for pattern in (f".{site_dir.name}-tmp-*", f".{site_dir.name}-old-*"):
        for path in site_dir.parent.glob(pattern):
            shutil.rmtree(path, ignore_errors=True)


def make_build_folder(site_dir: Path) -> Path:
    """A new, empty temp folder beside ``site_dir`` to build into, with the usual folder mode
    (it becomes ``site_dir``: a private 0700 folder would make every page 403 for a web server
    running as another user)."""
    folder = site_dir.with_name(outputs.temp_name(site_dir.name))
    folder.mkdir(mode=outputs.folder_mode())
    folder.chmod(outputs.folder_mode())
    return folder
