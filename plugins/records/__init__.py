"""Learning records (学习档案, 学时, 培训人次) in xAPI 1.0.3 (built-in plugin).

Lecture pages of every edition (the site, the offline edition, ``weike share``) write xAPI
statements on the learner's device (:mod:`~weike.plugins.records.page` adds the script, its
catalogue facts and the 学习档案 page); a station's ``weike share`` receives them on ``/xapi/``
(:mod:`~weike.plugins.records.station`) into its SQLite store (:mod:`~weike.plugins.records.store`);
``weike records`` reports and exports them (:mod:`~weike.plugins.records.commands`,
:mod:`~weike.plugins.records.export`), with 学时 and 人次 counted by
:mod:`~weike.plugins.records.figures`, which also gives 附件5 its online 人次. The statement rules
every statement is checked against are in :mod:`~weike.plugins.records.statements`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from weike.builder.contracts.context import BuildContext
from weike.builder.contracts.hookspecs import hookimpl
from weike.builder.contracts.model import Course, DeliveredMedia, Setting
from weike.plugins.records.settings import SETTINGS, records_settings


@hookimpl
def weike_settings() -> tuple[Setting, ...]:
    return SETTINGS


@hookimpl
def weike_site_pages() -> list:
    from weike.plugins.records.page import records_page

    return [records_page()]


@hookimpl
def weike_site_assets(context: BuildContext, courses: Sequence[Course],
                      delivered: Mapping[str, DeliveredMedia]) -> list:
    from weike.plugins.records.page import catalogue_data, records_assets
    from weike.plugins.site import site_url

    data = catalogue_data(courses, delivered, site_url=site_url(context.config),
                          settings=records_settings(context.config))
    return records_assets(data)


@hookimpl
def weike_share_routes(project) -> list:
    from weike.plugins.records.station import PREFIX, StatementRoute
    from weike.plugins.records.store import StatementStore
    from weike.plugins.site import ShareRoute

    from weike.plugins.records.forwarding import BackgroundForwarder, lrs_settings

    store = StatementStore.of_repository(project.root)
    lrs = lrs_settings(records_settings(project.config).lrs)
    # Nothing leaves the station unless weike.yml names an LRS.
    forwarder = BackgroundForwarder(store, lrs).start() if lrs is not None else None
    route = StatementRoute(store, root=project.root, on_stored=forwarder.notify if forwarder else None)
    return [ShareRoute(prefix=PREFIX, methods=StatementRoute.METHODS, answer=route.handle)]


@hookimpl
def weike_cli_commands(subparsers) -> None:
    from weike.plugins.records.commands import add_records_command

    add_records_command(subparsers)


@hookimpl
def weike_submission_statistics(context: BuildContext) -> dict | None:
    """附件5's ``trainings``: ``records.offline_trainings`` + the online 人次 of the station's records."""
    from weike.plugins.records.figures import tally
    from weike.plugins.records.store import StatementStore

    offline = records_settings(context.config).offline_trainings
    if offline is None:
        return None
    try:
        store = StatementStore.of_repository(context.paths.root, create=False)
    except FileNotFoundError:
        return {"trainings": offline}
    with store:
        return {"trainings": offline + tally(store.statements()).attendances}


@hookimpl
def weike_build_inputs(root: Path, config) -> list[Path]:
    """The station's records, when 附件5 counts its 人次 from them."""
    from weike.plugins.records.store import records_folder

    return [records_folder(root)] if records_settings(config).offline_trainings is not None else []
