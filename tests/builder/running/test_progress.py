"""Progress lines quote course folders and files: no control code reaches the terminal or CI log."""

from __future__ import annotations

import io

from weike.builder.running.progress import LineProgress, LiveProgress


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


def _recording_progress():
    from rich.console import Console

    stream = io.StringIO()
    console = Console(file=stream, record=True, force_terminal=True, width=130)
    return LiveProgress(stream, console=console), console


def _frame(progress) -> str:
    from rich.console import Console

    snapshot = Console(file=io.StringIO(), record=True, force_terminal=True, width=130)
    snapshot.print(progress._rich.get_renderable())
    return snapshot.export_text()


def test_live_bars_show_real_work_with_units_totals_and_remaining_time():
    progress, console = _recording_progress()
    progress.stage("检查 check")
    progress.stage("媒体 media")
    progress.step("探测 probe", total=3)
    for _ in range(3):
        progress.count()
    progress.step("转码 transcode", total=2)
    progress.task("courses/a/01-x/a.mp4", total=30.0, unit="秒").done()
    video = progress.task("courses/a/02-y/b.mp4", total=45.0, unit="秒")
    video.update(12.0)
    running = _frame(progress)  # what a teacher sees mid-transcode
    lines = {line.split("━")[0].strip(): line for line in running.splitlines() if "━" in line}
    assert "完成" in lines["检查 check"] and "用时" in lines["检查 check"]  # stopped, not 0/? ticking on
    assert "完成 3 个" in lines["探测 probe"]
    assert "1/2 个" in lines["转码 transcode"] and "剩余" in lines["转码 transcode"]
    assert "12/45 秒" in lines["courses/a/02-y/b.mp4"] and "剩余" in lines["courses/a/02-y/b.mp4"]
    assert "?" not in running and "-:--:--" not in running
    video.update(20.0)
    assert "20/45 秒" in _frame(progress)
    video.done()
    progress.close()
    final = console.export_text()
    assert "完成 2 个" in final and "?" not in final


def test_line_progress_counts_with_a_unit():
    stream = io.StringIO()
    progress = LineProgress(stream)
    progress.stage("打包 bundles", total=4)
    assert stream.getvalue().strip() == "== 打包 bundles (4 个)"
