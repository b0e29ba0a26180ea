"""Hooks the province's submission calls: figures of 附件5 that come from a plugin rather than
from ``weike.yml`` (added by :func:`weike.plugins.province.weike_add_hookspecs`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from weike.builder.contracts.hookspecs import hookspec

if TYPE_CHECKING:
    from weike.builder.contracts.context import BuildContext


@hookspec
def weike_submission_statistics(context: BuildContext) -> Mapping[str, int | float] | None:
    """Figures of 附件5 (社区教育机构统计表) this plugin counts, by ``statistics`` key (``trainings``).

    Called when the report stage writes 附件5 (only when ``weike.yml`` has ``statistics`` and
    every typed figure passed the rules). A figure returned here replaces the typed one; return
    ``None`` or ``{}`` to leave weike.yml's figures alone. Built in: ``weike.plugins.records``
    (``trainings`` = ``records.offline_trainings`` + the online 人次 of the station's records).
    """
