"""Upload bundle for 国家开放大学终身教育平台 (ouchn): ``dist/bundles/ouchn/<course>.zip``.

The layout is shared with the 国家智慧教育公共服务平台 target (see
:mod:`weike.plugins.national.bundle`); this module only declares the target, so a province can
switch it off or replace it on its own.
"""

from __future__ import annotations

from weike.plugins.bundles import BundleTarget
from weike.builder.contracts.hookspecs import hookimpl
from weike.plugins.national.bundle import national_platform_target


@hookimpl
def weike_bundle_targets() -> list[BundleTarget]:
    return [national_platform_target(name="ouchn", title="国家开放大学终身教育平台")]
