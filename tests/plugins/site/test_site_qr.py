"""A cold build's QR codes are made side by side in worker processes, as one process makes them, and
kept in the record for the next build."""

from __future__ import annotations

import json

import pytest

from tests.plugins.site.test_site_workers import forks  # noqa: F401 (a fixture)
from weike.plugins.site import qr
from weike.plugins.site.qr import QrCodes, qr_svg


def test_missing_codes_are_made_by_workers_as_one_process_makes_them(tmp_path, forks, monkeypatch):  # noqa: F811
    monkeypatch.setattr(qr, "QR_CODES_PER_PROCESS", 1)
    urls = [f"https://weike.example.gov.cn/courses/c{number}/" for number in range(9)]
    record = tmp_path / "qr-codes.json"
    codes = QrCodes(record)
    assert codes.make_missing([*urls, urls[0], None]) == 9
    assert len(forks) == 2 and all(forks)  # three processes shared them
    assert [codes.svg(url) for url in urls] == [qr_svg(url) for url in urls]
    codes.save()
    assert sorted(json.loads(record.read_text(encoding="utf-8"))["codes"]) == sorted(urls)
    # The next build finds them in the record: nothing to make.
    again = QrCodes(record)
    assert again.make_missing(urls) == 0
    assert again.svg(urls[4]) == qr_svg(urls[4])


def test_the_record_keeps_codes_packed_and_draws_them_as_made(tmp_path):
    """The record holds each code's modules packed, a fortieth of its SVG; the SVG drawn from them
    is the code made afresh, for every size of code. A record of whole SVGs (an older weike's) or
    a damaged entry is no record: those codes are made again."""
    from weike.plugins.site.qr import RECORD_FORM, packed_code, qr_modules, unpacked_svg

    urls = ["", "http://a.cn/"] + [f"https://weike.example.gov.cn/courses/{'%E4%B8%AD' * n}-{n}/" for n in range(0, 60, 3)]
    for url in urls:
        packed = packed_code(qr_modules(url))
        assert unpacked_svg(packed) == qr_svg(url), url
        assert len(json.dumps(packed)) * 20 < len(qr_svg(url))
    record = tmp_path / "qr-codes.json"
    good, damaged, older = urls[3], urls[4], urls[5]
    record.write_text(json.dumps({"form": RECORD_FORM, "codes": {
        good: packed_code(qr_modules(good)), damaged: [33, "zz"]}}), encoding="utf-8")
    codes = QrCodes(record)
    assert codes.make_missing([good, damaged]) == 0  # (the damaged one is found drawing it)
    assert codes.svg(good) == qr_svg(good) and codes.svg(damaged) == qr_svg(damaged)
    codes.save()
    assert json.loads(record.read_bytes())["codes"][damaged] == packed_code(qr_modules(damaged))
    record.write_text(json.dumps({older: qr_svg(older)}), encoding="utf-8")
    assert QrCodes(record).make_missing([older], too_few_too=True) == 1


def qrcode_svg(url: str) -> str:
    """The code as qrcode's own SvgPathImage draws it (what the site showed before weike wrote it)."""
    import qrcode
    from qrcode.image.svg import SvgPathImage

    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=qr.QR_BORDER, mask_pattern=2)
    code.add_data(url)
    code.make(fit=True)
    svg = code.make_image(image_factory=SvgPathImage).to_string(encoding="unicode")
    svg = svg[svg.index("<svg"):]
    return svg.replace("<svg ", '<svg role="img" aria-label="本课程二维码 QR code of this course" ', 1)


def test_codes_are_written_as_qrcode_draws_them_byte_for_byte():
    # From the smallest code to large ones (long, percent-encoded Chinese paths): every size of
    # code, every module pattern, the header's size and viewBox.
    urls = ["", "https://weike.example.gov.cn/", "http://a.cn/courses/c/"]
    urls += [f"https://weike.example.gov.cn/courses/{'%E4%B8%AD' * number}-{number}/" for number in range(0, 60, 3)]
    sizes = set()
    for url in urls:
        assert qr_svg(url) == qrcode_svg(url), url
        sizes.add(qr_svg(url).split('width="', 1)[1].split('"', 1)[0])
    assert len(sizes) >= 10  # many versions of code, not one


def test_codewords_are_qrcode_s_for_every_version_level_and_kind_of_segment():
    """The codewords written in one pass are qrcode's own (``util.create_data``) for every version
    and error correction level, with numeric, alphanumeric and byte segments, full and nearly empty."""
    import qrcode
    from qrcode import util

    levels = (qrcode.constants.ERROR_CORRECT_L, qrcode.constants.ERROR_CORRECT_M,
              qrcode.constants.ERROR_CORRECT_Q, qrcode.constants.ERROR_CORRECT_H)
    for version in range(1, 41):
        for level in (levels[version % 4], qrcode.constants.ERROR_CORRECT_M):  # every level, M at every version
            room = util.BIT_LIMIT_TABLE[level][version] // 8 - 12
            text = ("12345678901234567890123" + "HTTPS://WEIKE.EXAMPLE.CN/ABC" + "/courses/课程-%e4?x=1" * 200).encode()
            text = text[:max(1, room)]
            for data in (text, text[:1]):
                code = qrcode.QRCode(version=version, error_correction=level)
                code.add_data(data)
                expected = util.create_data(version, level, code.data_list)
                assert qr._codewords(version, level, code.data_list) == expected, (version, level, data)


def test_modules_are_those_qrcode_makes():
    """qrcode's own modules, and the record's packing of them, for codes of every version (1 to 40:
    each lays its patterns, so its data, at other places) and URLs of every kind of segment."""
    import qrcode

    urls = ["", "https://weike.example.gov.cn/courses/course-00001/", "HTTP://A.CN/" + "1" * 40 + "/x",
            "https://weike.example.gov.cn/courses/" + "%E4%B8%AD" * 80 + "/"]
    urls += [f"http://a.cn/{'x' * number}" for number in range(0, 40, 3)]
    urls += [f"https://weike.example.gov.cn/courses/{'%E4%B8%AD' * number}-{number}/" for number in range(0, 372, 3)]
    versions = set()
    for url in urls:
        code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=qr.QR_BORDER, mask_pattern=2)
        code.add_data(url)
        code.make(fit=True)
        assert qr.qr_modules(url) == code.modules, url
        assert qr.packed_qr(url) == qr.packed_code(code.modules), url
        versions.add(code.version)
    assert versions == set(range(1, 41))


def test_the_version_found_is_qrcode_s_best_fit_for_every_level_and_kind_of_segment():
    import qrcode

    levels = (qrcode.constants.ERROR_CORRECT_L, qrcode.constants.ERROR_CORRECT_M,
              qrcode.constants.ERROR_CORRECT_Q, qrcode.constants.ERROR_CORRECT_H)
    texts = ["", "1", "12", "123", "A", "AB", "ABC", "a"] + [("12345" + "HTTPS://A.CN/" + "/x?课=%e4")[:n] * n
                                                               for n in range(1, 90, 3)]
    for level in levels:
        for text in texts:
            code = qrcode.QRCode(error_correction=level)
            code.add_data(text)
            try:
                expected = code.best_fit()
            except (qrcode.exceptions.DataOverflowError, ValueError) as exc:  # (ValueError: qrcode's, too long)
                with pytest.raises(type(exc)):
                    qr._best_version(level, code.data_list)
                continue
            assert qr._best_version(level, code.data_list) == expected, (level, text)


def test_a_phone_s_decoder_reads_the_url_back_from_the_svg():
    """The SVG as a page shows it, drawn to pixels and read by ZXing (what phone scanner apps use)."""
    import re

    import zxingcpp
    from PIL import Image, ImageDraw

    for url in ["https://weike.example.gov.cn/courses/course-00001/",
                "https://weike.example.gov.cn/courses/%E7%BD%91%E4%B8%8A%E8%B4%AD%E7%89%A9-12/",
                "HTTP://WEIKE.EXAMPLE.CN/" + "1234567890" * 4 + "/"]:
        svg = qr_svg(url)
        size = int(re.search(r'viewBox="0 0 (\d+) \1"', svg).group(1))
        picture = Image.new("L", (size * 6, size * 6), 255)
        draw = ImageDraw.Draw(picture)
        squares = re.findall(r"M(\d+),(\d+)H(\d+)V(\d+)H\1z", re.search(r' d="([^"]*)"', svg).group(1))
        assert squares
        for x, y, right, bottom in squares:
            draw.rectangle((int(x) * 6, int(y) * 6, int(right) * 6 - 1, int(bottom) * 6 - 1), fill=0)
        assert [found.text for found in zxingcpp.read_barcodes(picture)] == [url]
