"""Hooks the bundle stage calls: the bundle targets (added to the plugin manager by
:func:`weike.plugins.bundles.weike_add_hookspecs`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from weike.builder.hookspecs import hookspec

if TYPE_CHECKING:
    from weike.plugins.bundles.target import BundleTarget


@hookspec
def weike_bundle_targets() -> Iterable[BundleTarget] | None:
    """Declare upload-bundle targets: one platform or LMS format per :class:`~weike.plugins.bundles.BundleTarget`.

    Called by the bundle stage and by ``weike bundles``; every implementation runs. Return an
    iterable of targets (or ``None``). Target names must be unique across plugins: two targets
    with one name are E505, naming both plugins. For every course that passes a target's
    ``check``, the stage writes ``dist/bundles/<target.name>/<course-slug>.zip`` from the members
    ``pack`` returns, plus a ``SHA256SUMS`` of them; an error from ``check`` refuses that course
    for that target only. A zip is rebuilt when any file the target's ``inputs`` names changed.
    Built in: ``weike.plugins.scorm``, ``weike.plugins.submission.smartedu``,
    ``weike.plugins.submission.ouchn``.
    """
