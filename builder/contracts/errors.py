"""Errors the command line turns into one line without a traceback.

Plugins raise these too: :class:`UsageError` for a mistake in how a command was called, and
:class:`MissingTool` (subclassed by a capability, e.g. the media plugin's ``FfmpegNotFound``) when a
program it needs is not on this machine. Neither is a course's fault nor a plugin's bug, so the
build stops with the fix instead of blaming a course (E901) or a plugin (internal error).
"""

from __future__ import annotations


class UsageError(Exception):
    """A mistake in how weike was called; printed as one line, exit 2."""


class MissingTool(Exception):
    """A program a plugin needs is not installed or cannot run; the message names the fix."""
