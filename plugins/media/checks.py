"""The media rules of ``weike check``: every lecture's source and subtitles, before any build.

A source must be readable media (E211) and last at most 15 minutes, with its title cards
(E203, E223; over 7 minutes W204); what the title cards and the mark draw must fit their safe
area (E225) in characters the font has (W226); SRT subtitles must be readable (E214) and start within the
video (W219). Only headers are probed, and only the fields the rules read: cheap. Before the
first course is checked, :func:`probe_sources` probes every source of the repository not remembered
yet, ``jobs`` at a time, once per file (paths linking one file share its probe); the probes are remembered in the media memo (by path, size, mtime, inode
and ctime), which each course's check then reads back in order, so a later check or build probes
nothing twice. Within one build the check hands each lecture's header probe to the media stage
as a value (:data:`PROBES_MADE` in the build's ``made``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from weike.builder.contracts.context import BuildPaths, Made
from weike.builder.contracts.errors import MissingTool
from weike.builder.keeping.memo import FileMemo, shared_file_memo
from weike.builder.running.executor import available_cores, make_executor
from weike.builder.contracts.model import (
    repository_path,
    Repository,
    Course,
    Diagnostic,
    Lecture,
    MediaInfo,
    Severity,
    SourceLocation,
    WeikeConfig,
)
from weike.plugins.media.cards import title_card_settings
from weike.plugins.media.probe import PROBE_VERSION, ProbeError, ProbeProblem, info_from_dict, info_to_dict, probe_media
from weike.plugins.media.subtitles import SubtitleError, cues_after, decode_subtitles, parse_srt, read_subtitle_file
from weike.builder.contracts.diagnostics import printable
from weike.plugins.media.titlecards import (
    CARD_HEIGHT,
    CARD_WIDTH,
    MIN_CARD_SCALE,
    CardLine,
    CardTextDoesNotFit,
    TitleCardSettings,
    card_layout,
    closing_lines,
    mark_layout,
    mark_line,
    opening_lines,
    safe_area,
    undrawable_characters,
)

#: The call's duration rule (时长在 7 分钟以内为宜、最长不超过 15 分钟).
MAX_LECTURE_SECONDS = 15 * 60
RECOMMENDED_LECTURE_SECONDS = 7 * 60

#: The hash and probe memo, in the cache folder: it lets a later process (the next check, the
#: next build) skip the probes this one made. Within one build the check hands its probes to the
#: media stage as values (:data:`PROBES_MADE`), not through this file.
MEMO_FILE = "media-memo.sqlite"
#: The kind under which the check hands each lecture's header probe on to the media stage
#: (:class:`weike.builder.contracts.context.Made`), by ``Lecture.key``: a :class:`ProbedSource`.
PROBES_MADE = "media-probe"


@dataclass(frozen=True, kw_only=True)
class ProbedSource:
    """A source's header probe as the check made it, with the file's size and mtime then."""

    path: Path
    identity: tuple[int, int]
    info: MediaInfo

    def current(self, path: Path) -> bool:
        """Still the file that was probed (same path, size and modification time)."""
        try:
            return path == self.path and file_identity(path) == self.identity
        except OSError:
            return False


def file_identity(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def probed_sources(made: Made | None) -> Mapping[str, ProbedSource]:
    """The header probes the check handed on, by ``Lecture.key`` (none without ``made``), each
    taken from ``made`` when asked for: those of the courses the course memo gave back are read
    back only then (the media stage asks for the lectures it plans, a few in an edit)."""
    return _HandedOnProbes(made) if made is not None else {}


class _HandedOnProbes(Mapping):
    """The probes in ``made`` by lecture key, each looked up there (:meth:`Made.get`) when asked for."""

    def __init__(self, made: Made) -> None:
        self._made = made

    def __getitem__(self, key: str) -> ProbedSource:
        found = self._made.get(PROBES_MADE, key)
        if found is None:
            raise KeyError(key)
        return found  # type: ignore[return-value]

    def __iter__(self):
        return iter(self._made.of(PROBES_MADE))

    def __len__(self) -> int:
        return len(self._made.of(PROBES_MADE))


# --------------------------------------------------------------------------------------------
# Diagnostics
# --------------------------------------------------------------------------------------------



def _clock(seconds: float) -> str:
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes}:{rest:02d}"


def media_file_location(lecture: Lecture, root: Path) -> SourceLocation:
    """Where a problem with the lecture's media file is shown: the file itself."""
    if lecture.media is not None and lecture.media.path is not None:
        return SourceLocation(file=repository_path(lecture.media.path, root))
    return SourceLocation(file=lecture.file, line=1, column=1)


def probe_problem(error: ProbeError, location: SourceLocation, name: str, *, source: Path | None = None) -> Diagnostic:
    """E211 for a source that is empty, unreadable, cut short or not media; ``source``, the path the
    file was probed at, is named in ffprobe's words as the location names it (relative to the repository)."""
    if source is not None and str(source) in error.detail:
        error = ProbeError(error.kind, error.detail.replace(str(source), location.file))
    zh, en, hint = {
        ProbeProblem.EMPTY: (f"媒体文件“{name}”是空的（0 字节）", f"media file '{name}' is empty (0 bytes)",
                             "重新导出或重新复制这个文件，确认文件大小不是 0。"),
        ProbeProblem.UNREADABLE: (f"媒体文件“{name}”无法读取，可能已损坏或不是视频/音频",
                                  f"media file '{name}' cannot be read ({error.detail})",
                                  "用手机或电脑的播放器打开试试；打不开就重新导出或重新复制。"),
        ProbeProblem.TRUNCATED: (f"媒体文件“{name}”不完整（复制或上传中断了）",
                                 f"media file '{name}' is truncated ({error.detail})",
                                 "从手机或相机重新复制一次完整的文件。"),
        ProbeProblem.NOT_MEDIA: (f"文件“{name}”不是视频或音频", f"'{name}' is not audio or video ({error.detail})",
                                 "请放入视频（如 .mp4、.mov）或音频（如 .mp3、.m4a）文件。"),
    }[error.kind]
    return Diagnostic(code="E211", severity=Severity.ERROR, location=location, message=zh, message_en=en, hint=hint)


def duration_problems(seconds: float, location: SourceLocation) -> list[Diagnostic]:
    """E203 over 15:00, W204 over 7:00 (the call's duration rule)."""
    if seconds > MAX_LECTURE_SECONDS:
        return [Diagnostic(code="E203", severity=Severity.ERROR, location=location,
                           message=f"时长 {_clock(seconds)} 超过 15 分钟上限",
                           message_en=f"duration {_clock(seconds)} is over the 15-minute limit",
                           hint="把内容拆成两个微课，或剪短到 15 分钟以内。")]
    if seconds > RECOMMENDED_LECTURE_SECONDS:
        return [Diagnostic(code="W204", severity=Severity.WARNING, location=location,
                           message=f"时长 {_clock(seconds)} 超过建议的 7 分钟",
                           message_en=f"duration {_clock(seconds)} is over the recommended 7 minutes",
                           hint="微课时长在 7 分钟以内为宜，可以考虑拆分。")]
    return []


def subtitle_problem(error: SubtitleError, file: str) -> Diagnostic:
    return Diagnostic(code="E214", severity=Severity.ERROR, location=SourceLocation(file=file, line=error.line),
                      message=f"字幕文件无法使用：{error.message}", message_en=f"subtitles unusable: {error.message_en}",
                      hint="用记事本另存为 UTF-8 编码的 .srt；每条字幕是编号、时间轴、文字，条与条之间空一行。")


# --------------------------------------------------------------------------------------------
# Memoised probing
# --------------------------------------------------------------------------------------------


def probe_kind(*, packets: bool = False) -> str:
    """The memo kind under which probes of this depth are remembered."""
    return f"probe-v{PROBE_VERSION}-{'packets' if packets else 'headers'}"


def probe_memoised(memo: FileMemo | None, path: Path, *, packets: bool = False) -> MediaInfo:
    """:func:`probe_media` through the memo; a remembered failure raises the same ProbeError."""
    kind = probe_kind(packets=packets)

    def compute(file: Path) -> dict:
        try:
            return {"info": info_to_dict(probe_media(file, packets=packets))}
        except ProbeError as exc:
            return {"error": [exc.kind.value, exc.detail]}

    if memo is None:
        record = compute(path)
    else:
        record = memo.remember(kind, path, compute)
    if "error" in record:
        raise ProbeError(*record["error"])
    return info_from_dict(record["info"])


def shared_memo(cache_folder: Path) -> FileMemo:
    """The media memo of ``cache_folder``, one open for the whole process."""
    return shared_file_memo(Path(cache_folder) / MEMO_FILE)


# --------------------------------------------------------------------------------------------
# Check: media rules for `weike check`
# --------------------------------------------------------------------------------------------


def cards_problems(seconds: float, added: float, location: SourceLocation) -> list[Diagnostic]:
    """E223 when the source fits in 15:00 but not with its title cards (the rule is for the delivered file)."""
    if seconds <= MAX_LECTURE_SECONDS < seconds + added:
        return [Diagnostic(code="E223", severity=Severity.ERROR, location=location,
                           message=f"加上片头片尾（{added:g} 秒）后时长 {_clock(seconds + added)} 超过 15 分钟上限",
                           message_en=f"with its title cards ({added:g} s) the lecture lasts "
                                      f"{_clock(seconds + added)}, over the 15-minute limit",
                           hint="剪短视频，或在 course.yml 的 title_cards 里缩短或关闭片头片尾。")]
    return duration_problems(seconds + added, location)  # over 7:00 with the cards: W204


def check_lecture_media(lecture: Lecture, *, root: Path, memo: FileMemo | None,
                        cards: TitleCardSettings | None = None, made: Made | None = None) -> list[Diagnostic]:
    """E211 / E203 / W204 for the lecture's source, E214 for its subtitles (headers only: cheap).

    With title cards the duration rules are for the delivered whole: source + cards (E223).
    """
    problems: list[Diagnostic] = []
    duration = None
    if lecture.media is not None and lecture.media.path is not None:
        location = media_file_location(lecture, root)
        try:
            identity = file_identity(lecture.media.path) if made is not None and made.handed_on else None
            info = probe_memoised(memo, lecture.media.path)
        except ProbeError as exc:
            problems.append(probe_problem(exc, location, lecture.media.path.name, source=lecture.media.path))
        except OSError as exc:  # vanished since loading
            problems.append(probe_problem(ProbeError(ProbeProblem.UNREADABLE, exc.strerror or str(exc)), location,
                                          lecture.media.path.name, source=lecture.media.path))
        else:
            if identity is not None:  # the media stage plans from this probe instead of probing again
                made.add(PROBES_MADE, lecture.key, ProbedSource(path=lecture.media.path, identity=identity, info=info))
            duration = info.duration
            added = cards.added_seconds if cards is not None else 0.0
            if added and (info.duration or 0.0) <= MAX_LECTURE_SECONDS:
                problems.extend(cards_problems(info.duration or 0.0, added, location))
            else:
                problems.extend(duration_problems(info.duration or 0.0, location))
    if lecture.subtitles is not None and lecture.subtitles.path is not None \
            and lecture.subtitles.path.suffix.lower() == ".srt":
        try:
            cues = parse_srt(decode_subtitles(read_subtitle_file(lecture.subtitles.path)))
        except SubtitleError as exc:
            problems.append(subtitle_problem(exc, repository_path(lecture.subtitles.path, root)))
        except OSError as exc:
            problems.append(subtitle_problem(SubtitleError("文件无法读取", f"cannot read the file ({exc.strerror})"),
                                             repository_path(lecture.subtitles.path, root)))
        else:
            if duration and (late := cues_after(cues, duration)):
                problems.append(Diagnostic.warning(
                    "W219", SourceLocation(file=repository_path(lecture.subtitles.path, root), line=late[0].line),
                    f"有 {len(late)} 条字幕在视频结束（{_clock(duration)}）之后才开始，不会显示",
                    f"{len(late)} cue(s) start after the video ends at {_clock(duration)} and are never shown",
                    hint="字幕多半是给另一个版本的视频做的；请按现在的视频重新对时间轴。"))
    return problems


# --------------------------------------------------------------------------------------------
# Check: what the title cards draw
# --------------------------------------------------------------------------------------------

_CARD_NAMES = {"opening": ("片头", "opening card"), "closing": ("片尾", "closing card"), "mark": ("机构标识", "mark")}
_FIELD_LABELS = {"title": "名称", "instructors": "授课人", "provider.name": "开课机构名称"}


def _card_location(course: Course, lecture: Lecture | None, line: CardLine | None) -> SourceLocation:
    if line is None or line.field is None:
        return lecture.where("title") if lecture is not None else course.where("provider.name")
    owner, key = line.field
    return lecture.where(key) if owner == "lecture" and lecture is not None else course.where(key)


def _does_not_fit(card: str, line: CardLine | None, rows: int, location: SourceLocation) -> Diagnostic:
    """E225 with the limit: how many Chinese characters the line holds at the smallest size."""
    zh_card, en_card = _CARD_NAMES[card]
    if line is None:
        return Diagnostic.error("E225", location, f"{zh_card}上的文字合起来太多，缩小到 {MIN_CARD_SCALE:.0%} 也放不进画面的安全区",
                                f"the {en_card}'s lines together do not fit its safe area even at "
                                f"{MIN_CARD_SCALE:.0%} size", hint="缩短课程名称、微课名称、授课人或机构名称。")
    left, _, right, _ = safe_area((CARD_WIDTH, CARD_HEIGHT))
    scale = 0.7 if card == "mark" else MIN_CARD_SCALE
    width = (right - left) * (0.5 if card == "mark" else 1.0)
    limit = int(width // round(line.points * scale)) * line.rows
    label = _FIELD_LABELS.get(line.field[1] if line.field else "", "文字")
    return Diagnostic.error("E225", location, f"{zh_card}上的{label}缩小、换行后仍要 {rows} 行，超过 {line.rows} 行："
                                              f"最多约 {limit} 个汉字",
                            f"the {en_card} cannot fit this text in {line.rows} row(s) of its safe area even at the "
                            f"smallest size (it needs {rows}): about {limit} Chinese characters at most",
                            hint=f"缩短到约 {limit} 字以内（英文字母、数字约可多一半）。")


def _cannot_draw(text: str, location: SourceLocation) -> Diagnostic | None:
    """W226 for the characters the font has no glyph for (they are left off the card)."""
    missing = undrawable_characters(text)
    if not missing:
        return None
    shown = "、".join(f"“{printable(char)}”(U+{ord(char):04X})" for char in missing[:8])
    more = f" 等 {len(missing)} 个" if len(missing) > 8 else ""
    return Diagnostic.warning("W226", location, f"片头片尾的字体不能显示 {shown}{more}，它们不会出现在片头片尾和机构标识上",
                              f"the title cards' font cannot draw {', '.join(f'U+{ord(c):04X}' for c in missing[:8])}"
                              f"{' and more' if len(missing) > 8 else ''}: they are left off the card",
                              hint="表情符号、生僻字（扩展 B 区以后）、希伯来文、阿拉伯文等画不出来；"
                                   "片头片尾只显示思源黑体能显示的字。")


def check_course_cards(course: Course, cards: TitleCardSettings,
                       lectures: list[Lecture] | None = None) -> list[Diagnostic]:
    """E225 / W226 for what the course's title cards (and its mark) would draw: checked here with
    the layout the media stage draws with, so the build never meets text it cannot draw.

    ``lectures``: whose opening cards to check (default every parsed one). A fact of the course
    (its title, the provider) is reported once, at its own line, not once per lecture.
    """
    problems: dict[tuple, Diagnostic] = {}

    def add(key: tuple, diagnostic: Diagnostic | None) -> None:
        if diagnostic is not None:
            problems.setdefault(key, diagnostic)

    def judge(card: str, lines: list[CardLine], lecture: Lecture | None) -> None:
        for line in lines:
            if line.field == ("course", "instructors"):  # each name at its own line
                for index, person in enumerate(course.instructors):
                    location = course.where(f"instructors.{index}.name")
                    add(("W226", location), _cannot_draw(person.name or "", location))
            elif line.field is not None:
                location = _card_location(course, lecture, line)
                add(("W226", location), _cannot_draw(line.text, location))
        try:
            card_layout(lines) if card != "mark" else mark_layout(lines[0], (CARD_WIDTH, CARD_HEIGHT))
        except CardTextDoesNotFit as exc:
            location = _card_location(course, lecture, exc.line)
            add(("E225", card, location), _does_not_fit(card, exc.line, exc.rows, location))

    if cards.opening:
        for lecture in lectures if lectures is not None else [item for item in course.lectures if item.parsed]:
            judge("opening", opening_lines(course, lecture), lecture)
    if cards.closing:
        judge("closing", closing_lines(course), None)
    if cards.mark and (line := mark_line(course)) is not None:
        judge("mark", [line], None)
    return list(problems.values())


def probe_sources(repository: Repository, paths: BuildPaths, jobs: int) -> None:
    """Probe every lecture source of ``repository`` not in the memo yet, ``jobs`` at a time, into the memo.

    The per-course check then finds every probe remembered (failures too) and reports them in
    its own order, whatever ``jobs`` is. Probes run on weike's executor, across courses: a
    catalogue's cold check is one ffprobe per file, and a course holds too few files to keep the
    cores busy on its own.
    """
    memo = shared_memo(paths.cache)
    if not memo.usable:  # nothing could be remembered: each course's check probes its own sources
        return
    kind = probe_kind()
    sources = dict.fromkeys(lecture.media.path for course in repository.courses for lecture in course.lectures
                            if lecture.parsed and lecture.media is not None and lecture.media.path is not None)
    unknown = [path for path in sources if not is_memoised(memo, kind, path)]
    if not unknown:
        return
    # One probe per file, not per path: links to one file (a clip several lectures share) are
    # probed once, and the others are told the same (see same_file_probes).
    files = same_files(unknown)

    def probe(paths: list[tuple[Path, FileIdentity]]) -> None:
        try:
            probe_memoised(memo, paths[0][0])
        except MissingTool:
            raise  # no ffprobe on this machine: the command line names the fix
        except Exception:  # noqa: BLE001 - a vanished file, a plugin's bug: the course's own check meets
            return         # it again, where it is reported at that course (and one course never stops others)
        same_file_probes(memo, kind, paths)

    with make_executor(jobs=min(jobs, len(files))) as executor:
        for _ in executor.map(probe, files):
            pass


#: A file as :func:`same_files` tells files apart: device, inode, size, mtime_ns, ctime_ns.
FileIdentity = tuple[int, int, int, int, int]


def same_files(paths: list[Path]) -> list[list[tuple[Path, FileIdentity]]]:
    """``paths`` grouped by the file they reach (hard links, symlinks), in order of first path,
    each with its identity as taken now; a path that cannot be read is a group of its own."""
    groups: dict[object, list[tuple[Path, FileIdentity]]] = {}
    for path in paths:
        try:
            stat = os.stat(path)
        except OSError:
            groups[path] = [(path, (0, 0, 0, 0, 0))]
            continue
        identity = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
        groups.setdefault(identity, []).append((path, identity))
    return list(groups.values())


def same_file_probes(memo: FileMemo, kind: str, paths: list[tuple[Path, FileIdentity]]) -> None:
    """Remember the probe of ``paths[0]`` for the other paths to the same file, each under its own
    name, as probing it would have given (the probe names its path); a failure is not shared (its
    detail names the path ffprobe was given). Each path's probe is filed under the identity
    :func:`same_files` took before the probe: a file changed meanwhile no longer has it, so no
    check takes that probe back, and each path is simply probed by its own check."""
    first, _ = paths[0]
    record = memo.get(kind, first)
    if record is None or "info" not in record:
        return
    for path, other in paths[1:]:
        memo.put(kind, path, {**record, "info": {**record["info"], "path": str(path)}},
                 identity=(os.path.abspath(path), other[2], other[3], other[1], other[4]))


def check_course_media(course: Course, config: WeikeConfig, paths: BuildPaths,
                       made: Made | None = None) -> list[Diagnostic]:
    """The media rules for every parsed lecture of ``course`` (the probes not remembered yet, a few at once)."""
    root = paths.root
    lectures = [lecture for lecture in course.lectures if lecture.parsed]
    cards = title_card_settings(config, course)
    card_problems = check_course_cards(course, cards, lectures) if course.parsed else []
    if not lectures:
        return card_problems
    memo = shared_memo(paths.cache)
    kind = probe_kind()
    # Remembered probes are answered here, in order; only the rest need ffprobe, a process per
    # file, where a few at once hide its start-up time. (Threads for memo hits would only add
    # overhead: at national scale most checks are hits.)
    hits = [lecture.media is None or lecture.media.path is None or is_memoised(memo, kind, lecture.media.path)
            for lecture in lectures]
    known = [lecture for lecture, hit in zip(lectures, hits) if hit]
    unknown = [lecture for lecture, hit in zip(lectures, hits) if not hit]
    found = [check_lecture_media(lecture, root=root, memo=memo, cards=cards, made=made) for lecture in known]
    if unknown:
        with ThreadPoolExecutor(max_workers=min(len(unknown), available_cores() * 2)) as pool:
            found.extend(pool.map(lambda lecture: check_lecture_media(lecture, root=root, memo=memo, cards=cards,
                                                                      made=made),
                                  unknown))
    return [*card_problems, *(diagnostic for problems in found for diagnostic in problems)]


def is_memoised(memo: FileMemo, kind: str, path: Path) -> bool:
    """Whether ``memo`` remembers ``kind`` for the file as it is now."""
    try:
        return memo.get(kind, path) is not None
    except OSError:  # vanished: the check itself reports it
        return False
