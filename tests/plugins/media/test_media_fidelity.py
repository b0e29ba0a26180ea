"""Nothing lost in delivery: every path keeps the whole source, to its last second of sound.

The corpus and the measurements are benchmarks/fidelity.py's (``python benchmarks/fidelity.py``
prints the same figures for the default profile through ``weike build``). Sources are >= 12 s,
tiny in pixels; each is delivered once per session. The delivered files are measured against the
SOURCE's own facts (ffprobe container and stream durations, its sound decoded and counted) and by
MediaInfo, with code the media stage does not use for its own check.

Delivered here with the default profile shrunk to 320x180 (every other rule and encoder setting
the same): what is tested is timing and sound, which do not depend on the frame size, and small
frames keep the suite fast.
"""

from __future__ import annotations

import dataclasses

import pytest
from PIL import Image

from benchmarks.fidelity import (
    CORPUS,
    DURATION_TOLERANCE,
    LEVEL_TOLERANCE,
    circle_aspect,
    compare,
    make_source,
    rotated_circle_jpeg,
)
from weike.plugins.media import runner as ffmpeg
from weike.plugins.media.probe import probe_media
from weike.plugins.media.profile import DEFAULT_PROFILE
from weike.plugins.media.encoding import DeliveryJob, deliver_to_store
from weike.plugins.media.planning import choose_method

pytestmark = pytest.mark.slow

SMALL_PROFILE = dataclasses.replace(DEFAULT_PROFILE, name="fidelity-320x180", width=320, height=180)


@pytest.fixture(scope="session")
def fidelity_deliveries(tmp_path_factory):
    """path name -> (source, delivered mp4, facts): the corpus, each source delivered once."""
    folder = tmp_path_factory.mktemp("fidelity")
    cover = folder / "cover.jpg"
    Image.new("RGB", (640, 360), (40, 110, 170)).save(cover)
    rotated = rotated_circle_jpeg(folder / "circle.jpg")
    deliveries = {}
    for case in CORPUS:
        source = make_source(case, folder / "sources", size=f"{SMALL_PROFILE.width}x{SMALL_PROFILE.height}")
        info = probe_media(source, packets=True)
        method = choose_method(info, SMALL_PROFILE)
        still = (rotated if case.rotated_image else cover) if method == "still" else None
        job = DeliveryJob(key=f"fidelity-{case.file}", source=source, info=info, profile=SMALL_PROFILE,
                          store_root=folder / "store", method=method, still=still, threads=2)
        facts = deliver_to_store(job)
        deliveries[case.path] = (source, folder / "store" / job.key[:2] / job.key / "video.mp4", facts)
    return deliveries


@pytest.mark.parametrize("case", CORPUS, ids=[case.file for case in CORPUS])
def test_every_delivery_path_keeps_the_whole_source(fidelity_deliveries, case):
    source, delivered, facts = fidelity_deliveries[case.path]
    assert facts["method"] == case.method
    fidelity = compare(case.path, source, delivered)
    assert fidelity.source_seconds >= 12
    # ffprobe's container, video and audio durations, the decoded sound and MediaInfo's duration
    # of the delivered file, each against every duration the source gives of itself.
    assert fidelity.worst_difference <= DURATION_TOLERANCE, (fidelity.source, fidelity.delivered)
    assert fidelity.delivered.mediainfo is not None
    assert abs(fidelity.delivered.mediainfo - fidelity.source_seconds) <= DURATION_TOLERANCE
    # The source's last second of sound is there, as loud (relative to the whole) as in the source.
    if case.path == "silent animation":
        assert fidelity.source_final is None and fidelity.delivered_final is None
        assert fidelity.delivered.integrated is not None  # a track, silent
    else:
        assert fidelity.source_final is not None and fidelity.delivered_final is not None, fidelity
        assert abs(fidelity.delivered_final - fidelity.source_final) <= LEVEL_TOLERANCE
    # What the build records (site durations, 学时, the spreadsheets) is the full length too.
    assert abs(facts["duration"] - fidelity.source_seconds) <= DURATION_TOLERANCE


def test_a_delivery_missing_the_end_of_the_sound_is_refused(fidelity_deliveries, tmp_path):
    """The check holds the output against the source's own length: a file cut short fails it,
    even one that is cut consistently (picture, sound and container all end together)."""
    from weike.plugins.media.encoding import SourceLength

    source, delivered, _ = fidelity_deliveries["still picture + MP3"]
    length = SourceLength.of(probe_media(source))
    assert length.mismatch(probe_media(delivered)) is None
    cut = tmp_path / "cut.mp4"
    ffmpeg.run(["-hide_banner", "-y", "-i", str(delivered), "-t", "17.12", "-c", "copy", str(cut)])
    problem = length.mismatch(probe_media(cut))
    assert problem is not None and "the source's 20.00 s" in problem[1] and "duration 17." in problem[1]


def test_exif_rotated_still_picture_is_uprighted_not_stretched(media, tmp_path):
    """A phone photo stored sideways (EXIF orientation 6) as a pure-audio lecture's picture: the
    circle in it stays round in the delivered video (it came out a 3.2x ellipse)."""
    picture = rotated_circle_jpeg(tmp_path / "circle.jpg")
    source = media("tone.mp3")
    info = probe_media(source)
    job = DeliveryJob(key="exif-rotated", source=source, info=info, profile=DEFAULT_PROFILE,
                      store_root=tmp_path / "store", method="still", still=picture, threads=2)
    deliver_to_store(job)
    entry = tmp_path / "store" / "ex" / "exif-rotated"
    assert sorted(p.name for p in entry.iterdir()) == ["entry.json", "poster.jpg", "video.mp4"]
    frame = tmp_path / "frame.png"
    ffmpeg.run(["-hide_banner", "-y", "-ss", "0.5", "-i", str(entry / "video.mp4"), "-frames:v", "1", str(frame)])
    assert abs(circle_aspect(frame) - 1) <= 0.03
