"""``weike probe FILE...``: a verdict per rule for any file, text or JSON."""

from __future__ import annotations

import json

import pytest

from weike.builder.cli import main
from tests.plugins.media_sources import make_source

pytestmark = pytest.mark.slow


def test_probe_json_gives_a_verdict_per_rule(media, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not a course repository: built-in profiles only
    conforming, phone = make_source(media, "conforming.mp4"), make_source(media, "rotated.mp4")
    assert main(["probe", str(conforming), str(phone), "--format", "json"]) == 1
    payload = json.loads(capsys.readouterr().out)
    assert payload["profile"] == "default"
    good, bad = payload["files"]
    assert good["conforms"] is True and good["action"] == "passthrough"
    rules = {rule["rule"]: rule for rule in bad["rules"]}
    assert rules["display_size"] == {"rule": "display_size", "label": rules["display_size"]["label"],
                                     "expected": "1280x720", "actual": "90x160", "passed": False}
    assert rules["rotation"]["passed"] is False and rules["duration"]["passed"] is True
    assert bad["conforms"] is False and bad["action"] == "transcode"
    assert bad["info"]["rotation"] == 90


def test_probe_text_for_a_teacher(media, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["probe", str(make_source(media, "conforming.mp4"))]) == 0
    out = capsys.readouterr().out
    assert "✓ 显示尺寸 displayed size: 1280x720" in out and "符合交付规格" in out


def test_probe_refuses_unusable_files_clearly(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    assert main(["probe", str(empty), "--no-loudness"]) == 1
    out = capsys.readouterr().out
    assert "是空的" in out and "Traceback" not in out


def test_probe_unknown_profile_is_a_usage_error(media, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["probe", str(media("landscape.mp4")), "--profile", "nosuch"]) == 2
    assert "nosuch" in capsys.readouterr().err


def _lines(out: str) -> list[str]:
    return [line.strip() for line in out.splitlines() if line.strip()]


def test_probe_leads_with_one_plain_sentence(media, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    phone = make_source(media, "rotated.mp4")  # a phone's portrait video: build converts it fine
    main(["probe", str(phone), "--no-loudness"])
    lines = _lines(capsys.readouterr().out)
    assert lines[0] == str(phone)
    assert lines[1] == "可以使用：weike 会自动转换成交付规格，您不用做什么。"
    assert not any("✗" in line for line in lines)  # nothing here makes the file unusable
    assert any(line.startswith("→ ") for line in lines)  # the rules conversion takes care of

    main(["probe", str(make_source(media, "conforming.mp4"))])
    assert _lines(capsys.readouterr().out)[1].startswith("可以直接使用")


def test_probe_says_a_missing_file_is_missing(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["probe", str(tmp_path / "no-such-video.mp4"), "--no-loudness"]) == 1
    out = capsys.readouterr().out
    assert _lines(out)[1].startswith("不能使用，因为找不到这个文件")
    assert "损坏" not in out and "Traceback" not in out
    assert main(["probe", str(tmp_path / "no-such-video.mp4"), "--format", "json"]) == 1
    result = json.loads(capsys.readouterr().out)["files"][0]
    assert result["summary"].startswith("不能使用，因为找不到这个文件") and result["rules"] == []


#: A phone's HEVC clip at level 4 (ffprobe reports general_level_idc = level × 30 = 120).
HEVC_LEVEL_4 = ["-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration=1", "-c:v", "libx265",
                "-preset", "ultrafast", "-x265-params", "level-idc=40:log-level=error", "-pix_fmt", "yuv420p",
                "-tag:v", "hvc1"]


def test_probe_shows_each_codecs_level_as_written(media, capsys, tmp_path, monkeypatch):
    from weike.plugins.media import runner

    if "libx265" not in runner.capabilities().encoders:
        pytest.skip("this ffmpeg has no libx265")
    monkeypatch.chdir(tmp_path)
    main(["probe", str(media("hevc-level4.mp4", HEVC_LEVEL_4)), str(make_source(media, "conforming.mp4")),
          "--no-loudness", "--format", "json"])
    hevc, h264 = (json.loads(capsys.readouterr().out)["files"])
    assert hevc["info"]["level"] == 120
    assert {rule["rule"]: rule for rule in hevc["rules"]}["h264_profile"]["actual"] == "Main 4.0"
    assert h264["info"]["level"] == 31  # ffprobe's level_idc = level × 10
    assert {rule["rule"]: rule for rule in h264["rules"]}["h264_profile"]["actual"].endswith(" 3.1")


def test_probe_of_a_recording_lists_no_picture_rules(media, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    main(["probe", str(make_source(media, "mono-8k.wav")), "--no-loudness"])
    out = capsys.readouterr().out
    assert "视频轨 video tracks: 0" in out  # the one row that says there is no picture
    for label in ("视频编码", "显示尺寸", "帧率", "像素格式", "扫描方式", "编码档次", "视频码率"):
        assert label not in out, label
    assert "音频编码 audio codec" in out and "采样率" in out


def test_a_too_long_recording_fails_only_on_its_length(media, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["probe", str(make_source(media, "too-long.mp3")), "--no-loudness"]) == 1
    lines = _lines(capsys.readouterr().out)
    assert lines[1].startswith("不能使用，因为时长超过 15 分钟")
    crossed = [line for line in lines if line.startswith("✗ ")]
    assert len(crossed) == 1 and crossed[0].startswith("✗ 时长 duration"), crossed
    assert any(line.startswith("→ 音频编码") for line in lines)  # still converted, were it shorter
