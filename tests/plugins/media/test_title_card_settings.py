"""Title card settings: weike.yml, course.yml overrides, bad values, the 15-minute rule,
``weike preview-card`` and ``weike doctor``. The delivered files themselves: test_title_cards.py."""

from __future__ import annotations

import json
import os

from PIL import Image

from weike.plugins.media import runner as ffmpeg
from weike.builder.cli import main
from weike.builder.repository.loading import load_repository
from weike.builder.running.checking import run_check
from weike.plugins.media.profile import DEFAULT_PROFILE
from weike.builder.running.project import Project
from weike.plugins.media.titlecards import TitleCardSettings
from weike.plugins.media import plan_lecture, shared_memo, title_card_settings


def settings(root, slug="c") -> TitleCardSettings:
    repository = Project.open(root).load()  # title_cards is the media plugin's declared setting
    return title_card_settings(repository.config, repository.course(slug))


def test_cards_are_off_by_default_and_course_yml_overrides_weike_yml(make_repo):
    root = make_repo(valid_courses=("c", "d"))
    assert settings(root) == TitleCardSettings() and not settings(root).enabled
    (root / "weike.yml").write_text("title_cards:\n  opening: true\n  opening_seconds: 5\n  mark: 是\n",
                                    encoding="utf-8")
    with (root / "courses/d/course.yml").open("a", encoding="utf-8") as handle:
        handle.write("title_cards: {opening_seconds: 2.4, closing: 是}\n")
    assert settings(root, "c") == TitleCardSettings(opening=True, opening_seconds=5.0, mark=True)
    # The course's keys win one by one; the rest comes from weike.yml.
    assert settings(root, "d") == TitleCardSettings(opening=True, closing=True, opening_seconds=2.4, mark=True)


def test_bad_card_settings_are_reported_at_their_line(make_repo):
    root = make_repo({"weike.yml": "profile: default\ntitle_cards:\n  opening: maybe\n  opening_seconds: 12\n"
                                   "  closing_seconds: 0\n  colour: red\n"}, valid_courses=("c",))
    with (root / "courses/c/course.yml").open("a", encoding="utf-8") as handle:
        handle.write("title_cards:\n  closing_seconds: 三秒\n")
    course_lines = (root / "courses/c/course.yml").read_text(encoding="utf-8").count("\n")
    found = {(d.code, d.location.file, d.location.line) for d in run_check(root).diagnostics}
    assert {("E005", "weike.yml", 3), ("E222", "weike.yml", 4), ("E222", "weike.yml", 5),
            ("W006", "weike.yml", 6), ("E005", "courses/c/course.yml", course_lines)} <= found
    messages = {d.code: d.message for d in run_check(root).diagnostics if d.location.line == 4}
    assert "10" in messages["E222"]


def test_existing_deliveries_keep_their_cache_keys(make_repo):
    """Cards off (the default) plans exactly as before; cards on leaves the content's key without card text."""
    root = make_repo(valid_courses=("c",))
    repository = load_repository(root)
    course = repository.course("c")
    memo = shared_memo(root / ".weike" / "cache")
    store = root / ".weike" / "cache" / "media"

    def plan(lecture, cards=None):
        return plan_lecture(course, lecture, root=root, memo=memo, profile=DEFAULT_PROFILE, store_root=store,
                            cards=cards)

    off = plan(course.lectures[0])
    assert off.card_job is None and off.delivered_key == off.job.key
    assert plan(course.lectures[0], TitleCardSettings()).job.key == off.job.key
    on = plan(course.lectures[0], TitleCardSettings(opening=True, closing=True))
    other = plan(course.lectures[1], TitleCardSettings(opening=True, closing=True))
    # Same source, other title: one content encode, two different card entries.
    assert on.job.key == other.job.key and on.card_job.key != other.card_job.key
    assert on.card_job.content_key == on.job.key and on.subtitle_shift_ms == 4000


def test_a_card_that_pushes_a_lecture_over_15_minutes_is_an_error_that_says_so(make_repo, tmp_path):
    source = tmp_path / "almost.mp3"  # 14:58, cheap: 8 kHz mono
    ffmpeg.run(["-hide_banner", "-nostdin", "-v", "error", "-f", "lavfi", "-i",
                "sine=frequency=200:duration=898:sample_rate=8000", "-ac", "1", "-c:a", "libmp3lame", "-b:a", "8k",
                str(source)])
    root = make_repo(valid_courses=("c",))
    (root / "courses/c/01-lecture-1/video.mp4").unlink()
    os.link(source, root / "courses/c/01-lecture-1/almost.mp3")
    found = {d.code: d for d in run_check(root).diagnostics}
    assert "E223" not in found and "E203" not in found  # no cards: 14:58 is allowed (over 7: W204)
    (root / "weike.yml").write_text("title_cards: {opening: true, closing: true}\n", encoding="utf-8")
    found = {d.code: d for d in run_check(root).diagnostics}
    assert found["E223"].location.file == "courses/c/01-lecture-1/almost.mp3"
    assert "片头片尾" in found["E223"].message and "15:05" in found["E223"].message


def test_preview_card_writes_the_cards_and_prints_what_they_say(make_repo, capsys, tmp_path):
    root = make_repo(valid_courses=("c",))
    assert main(["preview-card", str(root / "courses/c/01-lecture-1"), "-o", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "第1讲" in out and "公益" in out and "title cards are off" in out
    for name in ("opening", "closing"):
        with Image.open(tmp_path / f"01-lecture-1-{name}.png") as picture:
            assert picture.size == (1280, 720)
    assert main(["preview-card", str(root / "courses/c")]) == 2  # a course, not a lecture


def test_doctor_reports_the_card_font(make_repo, capsys):
    root = make_repo(valid_courses=("c",))
    capsys.readouterr()
    main(["doctor", str(root), "--format", "json"])
    check = next(c for c in json.loads(capsys.readouterr().out) if c["name"] == "title card font")
    assert check["status"] == "ok" and "Noto Sans SC" in check["detail"] and "OFL" in check["detail"]
    assert "as Noto publishes it" in check["detail"]


def test_card_lengths_beyond_any_number_are_e222_not_a_crash(make_repo):
    """A length too large for a float, infinite or not a number is refused like 12 s (E222)."""
    root = make_repo({"weike.yml": "title_cards:\n  opening_seconds: " + "9" * 400 + "\n  closing_seconds: .nan\n"},
                     valid_courses=("c",))
    with (root / "courses/c/course.yml").open("a", encoding="utf-8") as handle:
        handle.write("title_cards:\n  opening_seconds: -.inf\n  closing_seconds: 1.0e+400\n")
    lines = (root / "courses/c/course.yml").read_text(encoding="utf-8").count("\n")
    found = {(d.code, d.location.file, d.location.line) for d in run_check(root).diagnostics}
    assert {("E222", "weike.yml", 2), ("E222", "weike.yml", 3), ("E222", "courses/c/course.yml", lines - 1),
            ("E222", "courses/c/course.yml", lines)} <= found
    assert main(["check", str(root)]) == 1
