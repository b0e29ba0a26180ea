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
