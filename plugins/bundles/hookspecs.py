"""Hooks the bundle stage calls: the bundle targets (added to the plugin manager by
:func:`weike.plugins.bundles.weike_add_hookspecs`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from weike.builder.contracts.hookspecs import hookspec

if TYPE_CHECKING:
    from weike.plugins.bundles.target import BundleTarget


@hookspec
def weike_bundle_targets() -> Iterable[BundleTarget] | None:
    """Declare upload-bundle targets: one platform or LMS format per :class:`~weike.plugins.bundles.BundleTarget`.

    Called by the bundle stage and by ``weike bundles``; every implementation runs. Return an
    iterable of targets (or ``None``). Target names must be unique across plugins: two targets
    with one name are E505 at ``dist/bundles/<name>`` in a build, naming both plugins (neither is
    packed, the other targets are), and ``weike bundles`` exits 2 naming them. For every course
    that passes a target's ``check``, the stage writes ``dist/bundles/<target.name>/<course-slug>.zip``
    from the members ``pack`` returns, plus a ``SHA256SUMS`` of them; an error from ``check``
    refuses that course for that target only. A zip is packed again when any file of the course
    folder, the delivered media, the course's or ``weike.yml``'s values, the code of the package
    defining ``pack``, or anything the target's ``inputs`` names changed.
    Built in: ``weike.plugins.scorm``, ``weike.plugins.national.smartedu``,
    ``weike.plugins.national.ouchn``.
    """
