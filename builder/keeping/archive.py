"""Deterministic, atomic zip files: what every upload bundle (and every XLSX) is written with.

The same members give the same bytes on every machine and every run: entries are sorted by name,
carry one timestamp (the caller's *source date*, :func:`source_date`, or a fixed one) and fixed
permissions, and are *stored*, not deflated. MP4s and JPEGs
are compressed already, and the rest (manifests, subtitles, HTML) is a few kilobytes, so storing
costs almost nothing and keeps the bytes independent of the zlib version a machine happens to have.

Member names are checked before anything is written: relative POSIX paths only (no absolute
path, no ``..``, no backslash), and nothing Windows cannot extract (reserved characters or device
names, trailing dots or spaces, names that differ only in case). A file is written to a temporary
name in its folder and renamed into place, so a killed build never leaves a half zip that looks
finished.
"""

from __future__ import annotations

import datetime as _dt
import errno
import hashlib
import io
import os
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from weike.builder.keeping.outputs import write_atomic_with

#: The environment variable of https://reproducible-builds.org/specs/source-date-epoch/.
SOURCE_DATE_EPOCH = "SOURCE_DATE_EPOCH"
#: The earliest time a zip entry can carry (the DOS epoch): what an entry says when no true date is
#: given.
FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
#: The latest time a zip entry can carry (DOS dates count years from 1980 in seven bits).
_LAST_DATE_TIME = (2107, 12, 31, 23, 59, 58)
#: Regular file, rw-r--r--, as the high 16 bits of a zip entry's external attributes.
_FILE_ATTRIBUTES = (0o100000 | 0o644) << 16
_UNIX = 3
#: Name of the checksum list every bundle carries (the format ``sha256sum -c`` reads).
CHECKSUMS_NAME = "SHA256SUMS"
_CHUNK = 1 << 20
#: Whether the kernel can copy a file's bytes into a zip (Linux); elsewhere they pass through Python.
_COPY_RANGE = hasattr(os, "copy_file_range") and hasattr(os, "sendfile")

#: Characters Windows refuses in file names, and the full-width forms that read the same in Chinese.
_WINDOWS_RESERVED_CHARS = str.maketrans({
    "<": "＜", ">": "＞", ":": "：", '"': "＂", "/": "／", "\\": "＼", "|": "｜", "?": "？", "*": "＊",
})
_WINDOWS_DEVICE_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL"} | {f"COM{n}" for n in range(1, 10)} | {f"LPT{n}" for n in range(1, 10)}
)
_DRIVE_RE = re.compile(r"^[A-Za-z]:")
#: Unicode categories no member name may hold: controls, and invisible format characters (bidi
#: overrides that reverse how a name reads, zero-width characters), private use, surrogates.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Zl", "Zp"})


class ArchiveError(Exception):
    """A zip could not be written as asked; the message names the member."""


class UnsafeMemberName(ArchiveError, ValueError):
    """A member name that would escape the extraction folder or break on Windows."""


class DuplicateMember(ArchiveError, ValueError):
    """Two members with the same name (or names that differ only in case)."""


class MemberChanged(ArchiveError):
    """A source file's bytes no longer match the size and SHA-256 recorded for it."""


# --------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------


#: Names made of these only need no look at each character's Unicode category (the checks below
#: still apply: components, trailing dots, device names).
_PLAIN_NAME = re.compile(r"[A-Za-z0-9._/ -]+")


def check_member_name(name: str) -> None:
    """Raise :class:`UnsafeMemberName` unless ``name`` is a relative path safe on every system."""
    if not name:
        raise UnsafeMemberName("empty member name")
    plain = _PLAIN_NAME.fullmatch(name) is not None
    if "\\" in name:
        raise UnsafeMemberName(f"member name {name!r} contains a backslash")
    if name.startswith("/") or _DRIVE_RE.match(name):
        raise UnsafeMemberName(f"member name {name!r} is an absolute path")
    for part in name.split("/"):
        if part in ("", ".", ".."):
            raise UnsafeMemberName(f"member name {name!r} has an empty, '.' or '..' component")
        if not plain and any(unicodedata.category(char) in _INVISIBLE_CATEGORIES for char in part):
            raise UnsafeMemberName(f"member name {name!r} contains a control, bidi or zero-width character")
        if not plain and part != part.translate(_WINDOWS_RESERVED_CHARS):
            raise UnsafeMemberName(f"member name {name!r} contains a character Windows refuses")
        if part[-1] in ". ":
            raise UnsafeMemberName(f"member name {name!r} ends a component with a dot or space")
        if part.split(".", 1)[0].upper() in _WINDOWS_DEVICE_NAMES:
            raise UnsafeMemberName(f"member name {name!r} uses a Windows device name")


def safe_name_component(text: str, *, max_chars: int = 50, fallback: str = "未命名") -> str:
    """``text`` (a title) made into one file-name component that every system can store.

    Characters Windows refuses become their full-width forms (``：`` for ``:``), control
    characters and runs of white space become one space, invisible format characters go (bidi
    controls such as U+202E would show ``01_发票\u202egpj.exe.mp4`` as ``01_发票4pm.exe.jpg``; zero-width
    characters make two names look alike), leading and trailing dots and spaces go, and the result
    is cut to ``max_chars`` characters. Device names get a ``_`` prefix.
    """
    text = unicodedata.normalize("NFC", text).translate(_WINDOWS_RESERVED_CHARS)
    text = "".join(" " if unicodedata.category(char) in ("Cc", "Zl", "Zp") else char for char in text
                   if unicodedata.category(char) not in ("Cf", "Co", "Cs"))
    text = re.sub(r"\s+", " ", text).strip(" .")
    text = text[:max_chars].rstrip(" .")
    if not text:
        text = fallback
    if text.split(".", 1)[0].upper() in _WINDOWS_DEVICE_NAMES:
        text = "_" + text
    return text


# --------------------------------------------------------------------------------------------
# Members
# --------------------------------------------------------------------------------------------


def _identity(stat: os.stat_result) -> tuple[int, int, int, int]:
    return stat.st_size, stat.st_mtime_ns, stat.st_ino, stat.st_ctime_ns


#: (absolute path, size, mtime_ns, inode, ctime_ns) -> (SHA-256, CRC-32) of the bytes read under
#: that identity in this process. One poster, subtitle or video goes into every target's zip of
#: its course (three), and the SCORM schemas into every SCORM zip: read and hashed once; the other
#: zips get the bytes copied by the kernel (:func:`_copy_known`). Any write changes mtime and
#: ctime, a replacement the inode: a changed file is read and hashed again.
_VERIFIED: dict[tuple, tuple[str, int]] = {}
_VERIFIED_MAX = 1 << 16


def _remember(key: tuple, sha256: str, crc: int) -> None:
    if len(_VERIFIED) >= _VERIFIED_MAX:  # a national catalogue's worth: start again rather than grow
        _VERIFIED.clear()
    _VERIFIED[key] = (sha256, crc)


def file_digest(path: Path) -> tuple[int, str]:
    """The size and SHA-256 of the file at ``path``, read once per identity in this process."""
    try:  # a stat, not an open, finds bytes hashed already (the copy checks the identity again)
        key = (os.path.abspath(path), *_identity(os.stat(path)))
        if (known := _VERIFIED.get(key)) is not None:
            return key[1], known[0]
    except OSError:
        pass  # the open below says what is wrong
    with open(path, "rb") as handle:
        key = (os.path.abspath(path), *_identity(os.fstat(handle.fileno())))
        digest, crc, length = hashlib.sha256(), 0, 0
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            crc = zlib.crc32(chunk, crc)
            length += len(chunk)
        after = (key[0], *_identity(os.fstat(handle.fileno())))
    sha256 = digest.hexdigest()
    if after == key and length == key[1]:  # not written to while it was read
        _remember(key, sha256, crc)
    return length, sha256


@dataclass(frozen=True, kw_only=True)
class ArchiveMember:
    """One file of a zip: its name inside, and bytes in memory or a file on disk.

    ``size`` and ``sha256`` describe the content; for a file they are checked again while it is
    copied into the zip, so a file that changed in between fails the write instead of producing
    a bundle whose checksums lie.
    """

    name: str
    size: int
    sha256: str
    data: bytes | None = None
    source: Path | None = None

    def __post_init__(self) -> None:
        check_member_name(self.name)
        if (self.data is None) == (self.source is None):
            raise ValueError(f"member {self.name!r} needs exactly one of data and source")

    @classmethod
    def from_bytes(cls, name: str, data: bytes) -> ArchiveMember:
        return cls(name=name, size=len(data), sha256=hashlib.sha256(data).hexdigest(), data=data)

    @classmethod
    def from_file(cls, name: str, path: Path, *, size: int | None = None, sha256: str | None = None) -> ArchiveMember:
        """A member copied from ``path``; pass a known ``size`` and ``sha256`` to skip hashing now."""
        if sha256 is None or size is None:
            size, sha256 = file_digest(path)
        return cls(name=name, size=size, sha256=sha256, source=Path(path))


def checksums_member(members: Iterable[ArchiveMember], *, name: str = CHECKSUMS_NAME) -> ArchiveMember:
    """A ``SHA256SUMS`` file listing ``members`` by name, readable by ``sha256sum -c``."""
    lines = [f"{member.sha256}  {member.name}\n" for member in sorted(members, key=lambda m: m.name)]
    return ArchiveMember.from_bytes(name, "".join(lines).encode("utf-8"))


def _ordered(members: Iterable[ArchiveMember]) -> list[ArchiveMember]:
    ordered = sorted(members, key=lambda member: member.name)
    seen: dict[str, str] = {}
    for member in ordered:
        # Windows and macOS folders ignore case: "A.mp4" and "a.mp4" would overwrite each other.
        folded = member.name.casefold()
        if folded in seen:
            raise DuplicateMember(f"member {member.name!r} collides with {seen[folded]!r}")
        seen[folded] = member.name
    return ordered


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def _copy_checked(member: ArchiveMember, out: BinaryIO) -> tuple | None:
    """Copy ``member`` into ``out``, checking a file's bytes against its SHA-256; returns the file's
    identity when its bytes were hashed now (the caller remembers them with the entry's CRC-32)."""
    if member.data is not None:
        out.write(member.data)
        return None
    with open(member.source, "rb") as handle:
        key = (os.path.abspath(member.source), *_identity(os.fstat(handle.fileno())))
        # Bytes this process already hashed under the same identity need no second hash: that the
        # identity still holds after the copy shows nothing wrote to the file in between.
        known = _VERIFIED.get(key)
        verified = known is not None and known[0] == member.sha256 and key[1] == member.size
        digest, length = (None if verified else hashlib.sha256()), 0
        while chunk := handle.read(_CHUNK):
            if digest is not None:
                digest.update(chunk)
            length += len(chunk)
            out.write(chunk)
        after = (key[0], *_identity(os.fstat(handle.fileno())))
    if verified:
        if after != key or length != member.size:
            raise MemberChanged(f"{member.source} changed while it was packed as {member.name!r}")
        return None
    if length != member.size or digest.hexdigest() != member.sha256:
        raise MemberChanged(f"{member.source} changed while it was packed as {member.name!r}")
    return key if after == key else None


def _known_source(member: ArchiveMember) -> tuple[tuple, int] | None:
    """The identity and CRC-32 of ``member``'s file when this process read exactly its bytes before."""
    if member.source is None or not _COPY_RANGE:
        return None
    try:
        key = (os.path.abspath(member.source), *_identity(os.stat(member.source)))
    except OSError:
        return None
    known = _VERIFIED.get(key)
    if known is None or known[0] != member.sha256 or key[1] != member.size:
        return None
    return key, known[1]


def _copy_known(archive: zipfile.ZipFile, handle: BinaryIO, info: zipfile.ZipInfo, member: ArchiveMember,
                key: tuple, crc: int) -> None:
    """Add a stored entry whose bytes are known (size, CRC-32) with the kernel copying them file to
    file (no pass through Python); the header is the one zipfile's own writer ends with
    (``_ZipWriteFile.close``), and the file's identity before and after the copy shows it is the
    one hashed."""
    info.CRC = crc
    info.compress_size = info.file_size = member.size
    handle.seek(archive.start_dir)
    info.header_offset = handle.tell()
    archive._writecheck(info)
    archive._didModify = True
    handle.write(info.FileHeader(False))
    handle.flush()
    with open(member.source, "rb") as source:
        if (key[0], *_identity(os.fstat(source.fileno()))) != key:
            raise MemberChanged(f"{member.source} changed while it was packed as {member.name!r}")
        _copy_range(source.fileno(), handle.fileno(), member.size, member)
        if (key[0], *_identity(os.fstat(source.fileno()))) != key:
            raise MemberChanged(f"{member.source} changed while it was packed as {member.name!r}")
    archive.start_dir = handle.seek(info.header_offset + len(info.FileHeader(False)) + member.size)
    archive.filelist.append(info)
    archive.NameToInfo[info.filename] = info


def _copy_range(source: int, target: int, count: int, member: ArchiveMember) -> None:
    """``count`` bytes from ``source``'s position to ``target``'s, in the kernel: copy_file_range,
    or sendfile where the file systems refuse it."""
    use_range = True
    while count:
        try:
            copied = os.copy_file_range(source, target, count) if use_range else os.sendfile(target, source, None, count)
        except OSError as exc:
            if use_range and exc.errno in (errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
                use_range = False
                continue
            raise
        if copied == 0:  # the file is shorter than it was
            raise MemberChanged(f"{member.source} changed while it was packed as {member.name!r}")
        count -= copied


def source_date(sources: Iterable[Path], *, newest: float | None = None) -> _dt.datetime:
    """When an archive's or a document's content was made, to the second (UTC, naive as zip entries
    and python-docx want it): ``SOURCE_DATE_EPOCH`` when it is a whole number of seconds (the
    reproducible-builds convention), else the newest modification time of ``sources`` (the files it
    is made from) and ``newest`` (one already known, seconds), else now."""
    epoch = os.environ.get(SOURCE_DATE_EPOCH, "").strip()
    if epoch.isdigit():
        seconds = int(epoch)
    else:
        times = [] if newest is None else [newest]
        for path in sources:
            try:
                times.append(os.stat(path).st_mtime)
            except OSError:
                continue
        seconds = int(max(times)) if times else int(_dt.datetime.now(_dt.timezone.utc).timestamp())
    return _dt.datetime.fromtimestamp(seconds, _dt.timezone.utc).replace(tzinfo=None)


def zip_date_time(moment: _dt.datetime) -> tuple[int, int, int, int, int, int]:
    """``moment`` (UTC, naive) as a zip entry's date and time: the fields as they read, seconds
    rounded down to even (the format's resolution), kept within the years a zip can say."""
    fields = (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second - moment.second % 2)
    return min(max(fields, FIXED_DATE_TIME), _LAST_DATE_TIME)


def _write_zip_to(handle: BinaryIO, members: list[ArchiveMember],
                  date_time: tuple[int, int, int, int, int, int] = FIXED_DATE_TIME) -> None:
    # A file on disk (not a buffer) can take entries the kernel copies.
    direct = handle if _COPY_RANGE and isinstance(handle, io.BufferedWriter) else None
    with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_STORED) as archive:
        for member in members:
            info = zipfile.ZipInfo(member.name, date_time=date_time)
            info.compress_type = zipfile.ZIP_STORED
            info.create_system = _UNIX
            info.external_attr = _FILE_ATTRIBUTES
            # Known in advance, so zipfile decides on ZIP64 from the real size, the same way each time.
            info.file_size = member.size
            known = None if direct is None or member.size * 1.05 > zipfile.ZIP64_LIMIT else _known_source(member)
            if known is not None:
                _copy_known(archive, direct, info, member, *known)
                continue
            with archive.open(info, "w") as out:
                hashed = _copy_checked(member, out)
            if hashed is not None:
                _remember(hashed, member.sha256, info.CRC)


def zip_bytes(members: Iterable[ArchiveMember], *, made: _dt.datetime | None = None) -> bytes:
    """The deterministic zip of ``members``, in memory (for small archives such as XLSX); every
    entry dated ``made`` (UTC, naive: a document's source date), else :data:`FIXED_DATE_TIME`."""
    ordered = _ordered(members)
    buffer = io.BytesIO()
    _write_zip_to(buffer, ordered, FIXED_DATE_TIME if made is None else zip_date_time(made))
    return buffer.getvalue()


def write_zip(path: Path, members: Iterable[ArchiveMember], *, made: _dt.datetime | None = None) -> Path:
    """Write the deterministic zip of ``members`` to ``path`` atomically, every entry dated ``made``
    (UTC, naive: its source date), else :data:`FIXED_DATE_TIME`; returns ``path``."""
    ordered = _ordered(members)  # name problems surface before any file is touched
    date_time = FIXED_DATE_TIME if made is None else zip_date_time(made)
    write_atomic_with(path, lambda handle: _write_zip_to(handle, ordered, date_time))
    return path
