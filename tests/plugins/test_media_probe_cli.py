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
