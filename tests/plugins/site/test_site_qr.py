"""A cold build's QR codes are made side by side in worker processes, as one process makes them, and
kept in the record for the next build."""

from __future__ import annotations

import json

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
    assert sorted(json.loads(record.read_text(encoding="utf-8"))) == sorted(urls)
    # The next build finds them in the record: nothing to make.
    again = QrCodes(record)
    assert again.make_missing(urls) == 0
    assert again.svg(urls[4]) == qr_svg(urls[4])


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
