"""Progress lines quote course folders and files: no control code reaches the terminal or CI log."""

from __future__ import annotations

import io

from builder.progress import LineProgress, LiveProgress


def test_line_progress_escapes_control_and_bidi_characters():
    stream = io.StringIO()
    progress = LineProgress(stream)
    progress.stage("媒体 media", total=1)
    progress.task("courses/c/01-a\x1b[2J\u202egpj.exe").done("\x1b]52;c;ZWNobyBoaQ==\x07")
    progress.log("日志\x1b[1;32m检查通过")
    text = stream.getvalue()
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "01-a\\x1b[2J\\u202egpj.exe" in text and "日志\\x1b[1;32m检查通过" in text


def test_live_progress_does_not_read_names_as_markup():
    stream = io.StringIO()
    progress = LiveProgress(stream)
    progress.stage("媒体 media", total=1)
    progress.task("courses/[bold red]c[/bold red]\x1b[2J/01-a").done("失败", failed=True)
    progress.close()
    text = stream.getvalue()
    assert "[bold red]c[/bold red]" in text and "\\x1b[2J" in text
