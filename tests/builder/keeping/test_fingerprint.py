"""Package versions as the fingerprints take them: read from each distribution's METADATA header."""

from __future__ import annotations

import importlib.metadata

from weike.builder.keeping.fingerprint import _header_version, package_version, package_versions


def test_every_installed_distribution_has_the_version_importlib_metadata_gives():
    names = sorted({distribution.metadata["Name"] for distribution in importlib.metadata.distributions()})
    assert len(names) > 10
    assert {name: package_version(name) for name in names} == {
        name: importlib.metadata.version(name) for name in names}


def test_an_absent_package_has_no_version():
    assert package_version("weike-no-such-package") is None
    assert package_versions("pyyaml", "weike-no-such-package") == (
        ("pyyaml", importlib.metadata.version("pyyaml")), ("weike-no-such-package", None))


def test_only_the_header_says_the_version():
    metadata = ("Metadata-Version: 2.1\nName: demo\nSummary: a demo\nversion: 1.2.3 \n"
                "\nVersion: 9.9.9 (a line of the description)\n")
    assert _header_version(metadata) == "1.2.3"
    assert _header_version("Metadata-Version: 2.1\nName: demo\n\nVersion: 9.9.9\n") is None
    assert _header_version(None) is None
