"""Hooks the media capability calls: delivery profiles (added to the plugin manager by
:func:`weike.plugins.media.weike_add_hookspecs`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from weike.builder.contracts.hookspecs import hookspec

if TYPE_CHECKING:
    from weike.plugins.media.profile import DeliveryProfile


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
