"""SubRip to WebVTT and to normalised SubRip: encodings, sloppy files, errors with line numbers."""

from __future__ import annotations

import pytest

from weike.plugins.media.subtitles import SubtitleError, read_srt, srt_to_webvtt, subrip


def test_converts_timings_and_keeps_simple_markup():
    srt = "1\n00:00:01,500 --> 00:00:03,000\n<i>斜体</i> <font color=\"red\">红</font> 1<2\n第二行\n\n2\n00:01:02,5 --> 00:01:03,250\n二\n"
    vtt = srt_to_webvtt(srt.encode("utf-8"))
    assert vtt == ("WEBVTT\n\n00:00:01.500 --> 00:00:03.000\n<i>斜体</i> 红 1&lt;2\n第二行\n\n"
                   "00:01:02.500 --> 00:01:03.250\n二\n")


def test_normalised_subrip_numbers_cues_and_keeps_simple_markup_unescaped():
    srt = ("\r\n00:00:01.5 --> 00:00:03,000  \r\n<font color=\"red\">大家好</font>\r\n<I>欢迎</I> & 学习 1<2\r\n\r\n"
           "7\r\n1:02:03,004 --> 01:02:04,000\r\n第二句")
    assert subrip(read_srt(srt.encode("utf-8-sig"), shift_ms=1000)) == (
        "1\n00:00:02,500 --> 00:00:04,000\n大家好\n<i>欢迎</i> & 学习 1<2\n\n"
        "2\n01:02:04,004 --> 01:02:05,000\n第二句\n")
    assert subrip([]) == ""


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "gb18030"])
def test_reads_the_encodings_teachers_use(encoding):
    srt = "1\r\n00:00:00,000 --> 00:00:01,000\r\n你好，世界\r\n"
    assert "你好，世界" in srt_to_webvtt(srt.encode(encoding))


def test_tolerates_missing_numbers_and_trailing_spaces():
    srt = "\n\n00:00:00,000 --> 00:00:01,000  \n甲\n   \n00:00:01.000 --> 00:00:02.000\n乙"
    assert srt_to_webvtt(srt.encode()).count("-->") == 2


@pytest.mark.parametrize("srt, line", [
    ("1\n00:00:01,000 --> 00:00:02,000\n好\n\n2\n00:00:03,000 => 00:00:04,000\n坏\n", 6),
    ("1\n00:00:05,000 --> 00:00:02,000\n倒序\n", 2),
    ("完全不是字幕\n", 1),
])
def test_errors_name_the_line(srt, line):
    with pytest.raises(SubtitleError) as caught:
        srt_to_webvtt(srt.encode())
    assert caught.value.line == line


def test_empty_file_is_an_error():
    with pytest.raises(SubtitleError) as caught:
        srt_to_webvtt(b"\n\n")
    assert caught.value.line is None


@pytest.mark.parametrize("encoding, text", [("big5", "打開聊天視窗"), ("shift_jis", "チャットを開く"), ("euc_kr", "채팅 창 열기")])
def test_other_encodings_are_named_not_turned_into_mojibake(encoding, text):
    srt = f"1\n00:00:00,000 --> 00:00:01,000\n{text}\n\n2\n00:00:01,000 --> 00:00:02,000\n{text}。\n"
    with pytest.raises(SubtitleError) as caught:
        srt_to_webvtt(srt.encode(encoding))
    assert "UTF-8" in caught.value.message_en and "encoded in" in caught.value.message_en


@pytest.mark.parametrize("text", ["字幕测试", "打开聊天窗口", "点击右上角的加号，然后选择“扫一扫”。"])
def test_short_gbk_files_still_read_as_gb18030(text):
    srt = f"1\r\n00:00:00,000 --> 00:00:01,000\r\n{text}\r\n"
    assert text in srt_to_webvtt(srt.encode("gbk"))
