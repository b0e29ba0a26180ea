"""Hooks the media capability calls: delivery profiles and the renditions other plugins need (added to the plugin manager by
:func:`weike.plugins.media.weike_add_hookspecs`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from weike.builder.contracts.hookspecs import hookspec

if TYPE_CHECKING:
    from weike.builder.contracts.context import BuildContext
    from weike.plugins.media.profile import DeliveryProfile
    from weike.plugins.media.saver import SaverRecipe


@hookspec
def weike_media_profiles() -> Iterable[DeliveryProfile] | None:
    """Offer delivery profiles: what a delivered file must be for a platform, as data.

    Called whenever a profile is looked up (``weike build``, ``weike probe``); every plugin's
    profiles are collected and ``weike.yml``'s ``profile:`` picks one by name (``default``, the
    SPEC.md delivery spec, comes from ``weike.plugins.media``). Return an iterable of
    :class:`~weike.plugins.media.DeliveryProfile`, or ``None``. A profile that asks for what the
    media stage cannot make (another codec, container or pixel format) is refused when it is
    selected, before anything is encoded (E216 naming the field and value), never encoded as
    something else; two plugins offering different profiles under one name is E216 too.
    """


@hookspec
def weike_media_renditions(context: BuildContext) -> Iterable[SaverRecipe] | None:
    """Ask the media stage for renditions of the delivered files besides the delivery itself.

    Called once per media stage of ``weike build``, before anything is encoded; every plugin's
    answers are collected. Return an iterable of :class:`~weike.plugins.media.SaverRecipe`
    (``weike.plugins.media.DATA_SAVER``: the 省流量 rendition), or ``None``. The stage makes each
    rendition once per delivered file (cached like the delivery) and hands it forward in
    ``DeliveredMedia.renditions`` under the recipe's ``name``; a later stage only places it. The
    site asks for the data saver when ``mkdocs.yml`` offers it (``extra.weike.data_saver``) or its
    offline edition carries it (``extra.weike.offline.data_saver``).
    """
