"""课程信息.xlsx written straight from its rows: byte for byte what openpyxl writes for the same sheet."""

from __future__ import annotations

import datetime as _dt
import io
import random

import pytest
from openpyxl import load_workbook

from weike.plugins.national import bundle
from weike.plugins.national.bundle import COLUMNS
from weike.plugins.national.sheet import metadata_sheet_writer

#: Characters that need escaping, white space of every kind, Chinese, beyond the BMP, XML-illegal.
_CHARS = list("&<>\"' \t\n\r课程信息第一讲😀𠀀=+-@#/!AZaz09.\x01\x0b\ufffe")


def _random_value(rng: random.Random) -> object:
    pick = rng.randrange(10)
    if pick == 0:
        return None
    if pick == 1:
        return rng.choice((0, 1, -7, 12, 10**17 + 3, 2**53 + 1))
    if pick == 2:
        return rng.choice((0.0, -0.0, 0.1 + 0.2, 61.37, 1e-07, 1e20, 123456.78, 5e-324, float("nan"), float("inf")))
    if pick == 3:
        return rng.choice(("", " ", "#N/A", "#DIV/0!", "=1+1", "=", "-3", "@x", "\tx", "\rx", "0123"))
    return "".join(rng.choice(_CHARS) for _ in range(rng.randrange(1, 14)))


@pytest.mark.parametrize("seed", range(40))
def test_direct_sheet_is_byte_for_byte_openpyxls(seed):
    rng = random.Random(seed)
    rows = tuple(tuple(_random_value(rng) for _ in COLUMNS) for _ in range(rng.randrange(1, 14)))
    title = "".join(rng.choice(_CHARS) for _ in range(rng.randrange(0, 20))) + " 课程信息"
    dated = rng.choice((None, _dt.datetime(2025, 3, 4, 5, 6, 7, 891), _dt.datetime(1999, 1, 1)))
    bundle._workbook.cache_clear()
    assert bundle._workbook(title, rows, dated) == bundle._openpyxl_workbook(title, rows, dated)


def test_ordinary_course_rows_take_the_direct_way_and_read_back():
    writer = metadata_sheet_writer(bundle._openpyxl_workbook, len(COLUMNS))
    assert writer is not None
    rows = tuple((n, "手机入门", "简介 & <说明>", "王老师", "王老师：退休教师", "数字生活", "2024-05-01", "社区学校",
                  "街道", "杭州", "李", "0571-1234567", f"第{n}讲", "开机", "6分05秒", 365.12, "视频",
                  f"{n:02d}_第{n}讲.mp4", None, f"{n:02d}_第{n}讲.jpg", "封面.jpg") for n in range(1, 13))
    data = writer.write("手机入门 课程信息", rows, _dt.datetime(2024, 6, 1, 8, 0, 0))
    assert data is not None and data == bundle._openpyxl_workbook("手机入门 课程信息", rows,
                                                                   _dt.datetime(2024, 6, 1, 8, 0, 0))
    sheet = load_workbook(io.BytesIO(data)).active
    assert [cell.value for cell in sheet[1]] == list(COLUMNS)
    assert sheet["C13"].value == "简介 & <说明>" and sheet["P2"].value == 365.12 and sheet.max_row == 13


def test_a_sheet_openpyxl_treats_specially_is_left_to_openpyxl():
    writer = metadata_sheet_writer(bundle._openpyxl_workbook, len(COLUMNS))
    row = (1,) + ("x",) * (len(COLUMNS) - 1)
    assert writer.write("t", (row,), None) is not None
    for special in ("=HYPERLINK(\"http://x\")", "#N/A", float("nan"), True, _dt.date(2024, 1, 1)):
        assert writer.write("t", (row[:-1] + (special,),), None) is None
    assert writer.write("t", (), None) is None


def test_the_samples_kept_in_the_cache_make_the_writer_without_openpyxl_and_prove_it_the_same(tmp_path):
    """An edit's build packs a sheet or two: the two samples openpyxl wrote are kept, keyed by what
    they come from, and neither is written again while they hold; kept samples that do not prove
    the writer, or torn ones, are written again."""
    from weike.plugins.national.sheet import _kept_samples, _samples_key

    written: list[str] = []

    def counted(title, rows, dated=None):
        written.append(title)
        return bundle._openpyxl_workbook(title, rows, dated)

    samples = tmp_path / "cache" / "bundles" / bundle.SHEET_SAMPLES_FILE
    rows = (tuple(f"第{n}列" for n in range(len(COLUMNS))),)
    dated = _dt.datetime(2024, 6, 1, 8, 0, 0)

    def fresh_writer():
        metadata_sheet_writer.cache_clear()  # as a new process
        return metadata_sheet_writer(counted, len(COLUMNS), samples=samples)

    assert fresh_writer().write("课程信息", rows, dated) == bundle._openpyxl_workbook("课程信息", rows, dated)
    assert len(written) == 2 and samples.is_file()
    assert fresh_writer().write("课程信息", rows, dated) == bundle._openpyxl_workbook("课程信息", rows, dated)
    assert len(written) == 2  # taken from the cache
    first, second = _kept_samples(samples, _samples_key(counted, len(COLUMNS)))
    assert fresh_writer() is not None and len(written) == 2
    for damage in (lambda data: data[:-9],  # torn
                   lambda data: data.replace(b"weike-sheet-samples\n", b"weike-sheet-samples\n0", 1)):  # another key
        written.clear()
        samples.write_bytes(damage(samples.read_bytes()))
        assert fresh_writer() is not None and len(written) == 2
    written.clear()
    # Kept under the right key, but not what this openpyxl writes: written again, and kept so.
    key = _samples_key(counted, len(COLUMNS))
    from weike.plugins.national.sheet import _keep_samples

    _keep_samples(samples, key, first, second.replace(b"xl/", b"xX/", 1))
    assert fresh_writer() is not None and len(written) == 2
    assert _kept_samples(samples, key) == (first, second)
    metadata_sheet_writer.cache_clear()
