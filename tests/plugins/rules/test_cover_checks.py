"""`weike check` on covers: the skeleton's placeholder, portrait or odd-shaped photos, EXIF turns."""

from __future__ import annotations

from PIL import Image

from weike.builder.running.checking import run_check
from weike.plugins.pictures import write_placeholder_cover


def _codes(root) -> set[tuple[str, str, int]]:
    return {(d.code, d.location.file, d.location.line) for d in run_check(root).diagnostics}


def test_placeholder_cover_is_flagged_until_replaced(make_repo, tmp_path):
    placeholder = tmp_path / "placeholder.jpg"
    write_placeholder_cover(placeholder, "c")
    root = make_repo({"courses/c/cover.jpg": placeholder}, valid_courses=("c",))
    assert ("W116", "courses/c/course.yml", 4) in _codes(root)

    # The teacher's own picture in its place is not flagged.
    Image.new("RGB", (1280, 720), (200, 120, 40)).save(root / "courses/c/cover.jpg", "JPEG")
    assert not {code for code, _, _ in _codes(root)} & {"W116", "W117", "W114"}


def test_scaffold_course_cover_is_flagged(tmp_path):
    from weike.builder.cli import main

    root = tmp_path / "county"
    root.mkdir()
    assert main(["new", "course", "c1", "--path", str(root)]) == 0
    assert "W116" in {d.code for d in run_check(root).diagnostics}


def test_portrait_cover_warns_and_exif_turn_counts(make_repo, tmp_path):
    portrait = tmp_path / "portrait.jpg"
    Image.new("RGB", (720, 1280), "white").save(portrait, "JPEG")
    root = make_repo({"courses/c/cover.jpg": portrait}, valid_courses=("c",))
    assert ("W117", "courses/c/course.yml", 4) in _codes(root)

    # Stored landscape, shown portrait by its EXIF orientation (6 = turn 90° clockwise): still portrait.
    turned = tmp_path / "turned.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (1280, 720), "white").save(turned, "JPEG", exif=exif)
    (root / "courses/c/cover.jpg").write_bytes(turned.read_bytes())
    assert ("W117", "courses/c/course.yml", 4) in _codes(root)

    # A 4:3 phone photo is close enough to 16:9: no warning.
    Image.new("RGB", (1600, 1200), "white").save(root / "courses/c/cover.jpg", "JPEG")
    assert "W117" not in {code for code, _, _ in _codes(root)}
