"""The media capability's commands: ``weike probe FILE...`` (is this file usable, and what would
the build do with it?) and ``weike preview-card LECTURE`` (the title cards as pictures)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from weike.builder.contracts.errors import UsageError
from weike.builder.contracts.model import MediaInfo, SourceLocation
from weike.builder.keeping.outputs import write_atomic
from weike.builder.running.project import Project
from weike.plugins.media.cards import title_card_settings
from weike.builder.contracts.diagnostics import format_text, printable
from weike.plugins.media.checks import (
    MAX_LECTURE_SECONDS,
    RECOMMENDED_LECTURE_SECONDS,
    _clock,
    check_course_cards,
    probe_problem,
)
from weike.plugins.media.planning import PICTURE_RULES, choose_method
from weike.plugins.media.probe import ProbeError, info_to_dict, probe_media
from weike.plugins.media.settings import profile_name
from weike.plugins.media.profile import (
    DeliveryProfile,
    DuplicateProfile,
    RuleCheck,
    UnknownProfile,
    conforms,
    resolve_profile,
    verify_media,
)
from weike.plugins.media.titlecards import (
    CARD_HEIGHT,
    CARD_WIDTH,
    CardFontMissing,
    CardTextDoesNotFit,
    TitleCardSettings,
    card_png,
    card_text,
    closing_lines,
    opening_lines,
)


# --------------------------------------------------------------------------------------------
# weike probe FILE...
# --------------------------------------------------------------------------------------------


def _duration_check(info: MediaInfo) -> RuleCheck:
    seconds = info.duration or 0.0
    note = " (over 7:00: warning)" if RECOMMENDED_LECTURE_SECONDS < seconds <= MAX_LECTURE_SECONDS else ""
    return RuleCheck(rule="duration", label="时长 duration (call rule)", expected="<= 15:00",
                     actual=_clock(seconds) + note, passed=seconds <= MAX_LECTURE_SECONDS)


def probe_verdict(path: Path, profile: DeliveryProfile, *, loudness: bool = True) -> dict:
    """What ``weike probe`` reports for one file: facts, a verdict per rule, what the build would do."""
    if not Path(path).is_file():
        # Not "damaged": a teacher's first probe is often a mistyped name or the wrong folder.
        missing = "不是文件（是文件夹）" if Path(path).is_dir() else "找不到这个文件"
        summary = f"不能使用，因为{missing}：请检查文件名和所在的文件夹。"
        missing_en = "a folder, not a file" if Path(path).is_dir() else "no such file"
        return {"file": str(path), "conforms": False, "action": "none", "summary": summary, "rules": [],
                "info": None, "error": f"{missing} ({missing_en})", "error_en": missing_en}
    try:
        info = probe_media(path, packets=True, loudness=loudness)
    except ProbeError as exc:
        diagnostic = probe_problem(exc, SourceLocation(file=str(path)), Path(path).name)
        return {"file": str(path), "conforms": False, "error": f"{diagnostic.message} ({diagnostic.message_en})",
                "summary": f"不能使用，因为{diagnostic.message}。{diagnostic.hint}",
                "error_en": diagnostic.message_en,
                "rules": [], "action": "none", "info": None}
    checks = [*verify_media(info, profile), _duration_check(info)]
    too_long = not checks[-1].passed
    # What the build does with the picture and sound, the length aside: a too-long recording is
    # refused for its length only, and its other rules are still ones the conversion handles.
    method = choose_method(info, profile)
    action = "refused" if too_long else method
    is_conforming = conforms(checks)
    shown = checks
    if info.is_audio_only:
        # A recording has no picture to judge: "视频轨 0" says it all (the build adds a still picture).
        shown = [check for check in checks if check.rule not in PICTURE_RULES]
    return {"file": str(path), "conforms": is_conforming, "error": None, "action": action, "method": method,
            "summary": _summary(action, is_conforming),
            "rules": [check.as_dict() for check in shown],
            "info": {k: v for k, v in info_to_dict(info).items() if k != "path"}}


def _summary(action: str, is_conforming: bool) -> str:
    """The one plain sentence a teacher reads first (the rule table is for whoever wants detail)."""
    if action == "refused":
        return "不能使用，因为时长超过 15 分钟：请剪短，或拆成两个微课。"
    if is_conforming:
        return "可以直接使用：已经符合交付规格，weike 会原样采用。"
    if action == "passthrough":
        return "可以使用：画面已经符合交付规格，weike 会直接采用，其余（如声音）自动调整，您不用做什么。"
    if action == "still":
        return "可以使用：这是音频，weike 会自动配上图片生成视频，您不用做什么。"
    return "可以使用：weike 会自动转换成交付规格，您不用做什么。"


_ACTIONS = {
    "passthrough": "weike build 会直接采用视频画面（不重新编码） (build passes the video through, not re-encoded)",
    "transcode": "weike build 会自动转码为交付规格 (build transcodes it to the profile)",
    "still": "纯音频：weike build 会配上图片生成视频 (pure audio: build makes a video with a still picture)",
    "refused": "超过 15 分钟：weike build 不会交付 (over 15 minutes: build refuses it)",
    "none": "",
}


def _print_verdict(result: dict, profile: DeliveryProfile, out) -> None:
    out.write(f"{result['file']}\n")
    out.write(f"  {result['summary']}\n")
    if result["error"]:
        out.write(f"  ({result['error_en']})\n")
        return
    # Rules that the build's conversion takes care of are marked "→" (will be converted), not "✗":
    # only what makes the file unusable is a cross.
    converted = result.get("method", result["action"]) in ("transcode", "still", "passthrough")
    out.write("  详细检查 (rules of the delivery profile; → = weike 会自动转换 will be converted):\n")
    for rule in result["rules"]:
        failed_mark = "→" if converted and rule["rule"] != "duration" else "✗"
        mark = {True: "✓", False: failed_mark, None: "?"}[rule["passed"]]
        line = f"  {mark} {rule['label']}: {rule['actual']}"
        if rule["passed"] is not True:
            line += f"  (要求 expected {rule['expected']})"
        out.write(line + "\n")
    verdict = "符合交付规格 (conforms to)" if result["conforms"] else "不符合交付规格 (does not conform to)"
    out.write(f"  => {verdict} '{profile.name}'\n")
    if _ACTIONS.get(result["action"]):
        out.write(f"     {_ACTIONS[result['action']]}\n")


def cmd_probe(project: Project, args) -> int:
    name = args.profile or profile_name(project.config)
    try:
        profile = resolve_profile(project.plugin_manager, name)
    except (UnknownProfile, DuplicateProfile) as exc:
        raise UsageError(f"交付规格无效 (invalid delivery profile): {exc}") from exc
    results = [probe_verdict(Path(file), profile, loudness=not args.no_loudness) for file in args.files]
    if args.format == "json":
        sys.stdout.write(json.dumps({"profile": profile.name, "files": results}, ensure_ascii=False, indent=2) + "\n")
    else:
        for result in results:
            _print_verdict(result, profile, sys.stdout)
    return 0 if all(result["conforms"] for result in results) else 1


# --------------------------------------------------------------------------------------------
# weike preview-card LECTURE: the title cards as pictures, before any build
# --------------------------------------------------------------------------------------------


def cmd_preview_card(project: Project, args) -> int:
    """Write the lecture's opening and closing cards as PNG (1280x720) and print what they say.

    Everything printed is escaped (:func:`printable`): a title's bidi override or escape sequence
    reaches the terminal as ``\\u202e``, never as itself. Text a card cannot hold is reported as
    ``weike check`` reports it (E225, W226) and that card is not drawn (exit 1)."""
    folder = Path(args.lecture).resolve()
    if not project.is_repository:
        raise UsageError(f"不在课程仓库中 (not inside a course repository): {printable(str(folder))}")
    if not project.only or folder.parent.parent.name != "courses":
        raise UsageError(f"请给出一个微课文件夹，例如 courses/<课程>/01-xxx (give a lecture folder): {printable(args.lecture)}")
    root, config = project.root, project.config
    course = project.load().course(project.only[0])
    lecture = next((item for item in course.lectures if item.folder.resolve() == folder), None)
    if lecture is None:
        raise UsageError(f"这个文件夹不是微课（没有 lecture.md） (not a lecture folder): {printable(args.lecture)}")
    settings = title_card_settings(config, course)
    output = Path(args.output) if args.output else root / "dist" / "cards" / course.slug
    cover = course.cover.path if course.cover is not None and course.cover.problem is None else None
    state = {True: "开 on", False: "关 off"}
    try:
        # Both cards are drawn whatever the settings say: both are checked.
        problems = check_course_cards(course, TitleCardSettings(opening=True, closing=True, mark=settings.mark),
                                      [lecture])
    except CardFontMissing as exc:
        raise UsageError(f"片头片尾字体没有安装 (the title card font is missing): {exc}") from exc
    refused = False
    print(f"片头 opening card ({state[settings.opening]}, {settings.opening_seconds:g} s):")
    for name, lines in (("opening", opening_lines(course, lecture)), ("closing", closing_lines(course))):
        if name == "closing":
            print(f"片尾 closing card ({state[settings.closing]}, {settings.closing_seconds:g} s):")
        for line in lines:
            print(f"  {printable(card_text(line.text))}")
        try:
            picture = card_png(lines, cover=cover, size=(CARD_WIDTH, CARD_HEIGHT))
        except CardTextDoesNotFit:
            refused = True
            print("  -> 没有画出：文字放不下 (not drawn: the text does not fit, see E225 below)")
            continue
        target = output / f"{lecture.slug}-{name}.png"
        write_atomic(target, picture)
        print(f"  -> {printable(str(target))}")
    for problem in problems:
        print(format_text(problem))
    if not settings.enabled:
        print("weike.yml / course.yml 的 title_cards 没有打开片头片尾：weike build 不会加上它们 "
              "(title cards are off: weike build does not add them)")
    return 1 if refused or any(d.is_error for d in problems) else 0  # E225: a card cannot hold its text


def add_commands(subparsers) -> None:
    """The parsers of ``weike preview-card`` and ``weike probe``."""
    preview = subparsers.add_parser(
        "preview-card", help="把微课的片头片尾画成图片 (write a lecture's title cards as pictures)",
        description="Draw the opening and closing title cards of one lecture from its metadata (1280x720 PNG, "
                    "the fonts and design weike build uses) and print what they say. Cards are added to the "
                    "delivered video only when title_cards is on in weike.yml or course.yml.")
    preview.add_argument("lecture", metavar="LECTURE", help="the lecture folder, e.g. courses/baduanjin/01-yubei")
    preview.add_argument("-o", "--output", metavar="FOLDER",
                         help="folder for <lecture>-opening.png and <lecture>-closing.png (default dist/cards/<course>)")
    preview.set_defaults(func=cmd_preview_card, path_argument="lecture")
    parser = subparsers.add_parser(
        "probe", help="检查视频/音频文件是否符合交付规格 (check media files against the delivery profile)",
        description="先用一句话说明每个文件能否使用（可以直接使用 / weike 会自动转换 / 不能使用，因为……），"
                    "再列出交付规格的每条规则（→ 表示 weike build 会自动转换）。 "
                    "Probe each file, say in one sentence whether it can be used, then print a verdict per rule of the delivery profile (container, codec, "
                    "displayed size, SAR, scan, frame-rate mode, pixel format, tracks, loudness, fast start, "
                    "duration) and what weike build would do with it. Exit 0 when every file conforms.")
    parser.add_argument("files", nargs="+", metavar="FILE", help="media files to check")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--profile", help="delivery profile name (default: weike.yml's profile, else 'default')")
    parser.add_argument("--no-loudness", action="store_true", help="skip the loudness measurement (faster)")
    parser.set_defaults(func=cmd_probe)
