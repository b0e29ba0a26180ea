"""A course's key holds each lecture's delivered media by the digest the media stage gave it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from weike.builder.contracts.model import DeliveredMedia
from weike.builder.keeping.fingerprint import Fingerprint
from weike.plugins.site.course_memo import delivered_key


def delivered(digest: str = "") -> DeliveredMedia:
    media = DeliveredMedia(course_slug="demo", lecture_slug="01-lecture-1", path=Path("/dist/media/demo/01.mp4"),
                           duration=12.5, size=1000, sha256="a" * 64, source_sha256="b" * 64, profile="default")
    if digest:
        object.__setattr__(media, "digest", digest)
    return media


def test_a_delivered_media_with_a_digest_is_keyed_by_it_not_formatted(monkeypatch):
    def refused(self):
        raise AssertionError("formatted")

    first, second = delivered("1" * 64), delivered("2" * 64)
    monkeypatch.setattr(DeliveredMedia, "__repr__", refused)
    # The digest alone: the value is never formatted, and a different digest is a different key.
    assert Fingerprint(delivered_key(first)).hexdigest() != Fingerprint(delivered_key(second)).hexdigest()
    assert Fingerprint(delivered_key(first)).hexdigest() == Fingerprint(delivered_key(delivered("1" * 64))).hexdigest()
    with pytest.raises(AssertionError, match="formatted"):
        Fingerprint(delivered_key(delivered()))


def test_a_delivered_media_without_a_digest_is_keyed_by_its_fields():
    a, b = delivered(), dataclasses.replace(delivered(), duration=13.0)
    assert Fingerprint(delivered_key(a)).hexdigest() != Fingerprint(delivered_key(b)).hexdigest()
    assert Fingerprint(delivered_key(None)).hexdigest() == Fingerprint(None).hexdigest()
