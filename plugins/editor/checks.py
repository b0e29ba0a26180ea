"""After a save: the rules for that course (or centre, or weike.yml), as ``weike check`` runs them."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from weike.builder.contracts.diagnostics import diagnostic_dict
from weike.builder.contracts.model import Diagnostic
from weike.builder.repository.centre import centre_of
from weike.builder.repository.loading import load_repository
from weike.builder.running.checking import check_repository, course_of
from weike.builder.running.project import Project
from weike.plugins.editor.config import field_labels

_KEY_RE = re.compile(r"^\s*(?:-\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*:")
#: A field a rule names in its English message ("missing required field 'knowledge_point'").
_NAMED_RE = re.compile(r"'([a-z_]+(?:\.[a-z_0-9]+)*)'")


def problems_after_save(project: Project, rel: str) -> list[dict]:
    """The problems of what ``rel`` belongs to, each as ``weike check --format json`` writes it
    plus ``field``: the YAML key on the problem's line, for the editor to point at."""
    parts = PurePosixPath(rel).parts
    only = [parts[1]] if len(parts) >= 2 and parts[0] == "courses" else None
    repository = load_repository(project.root, only=only, settings=project.settings)
    diagnostics = check_repository(repository, project.plugin_manager)
    labels = field_labels()
    found = [_with_field(project.root, d) for d in diagnostics if _concerns(d, parts)]
    for problem in found:
        problem["field_label"] = labels.get(problem["field"]) if problem["field"] else None
    return found


def _concerns(diagnostic: Diagnostic, parts: tuple[str, ...]) -> bool:
    if len(parts) >= 2 and parts[0] == "courses":
        return course_of(diagnostic) == parts[1]
    if len(parts) >= 2 and parts[0] == "centres":
        return centre_of(diagnostic) == parts[1]
    return diagnostic.location.file == "/".join(parts)


def _with_field(root: Path, diagnostic: Diagnostic) -> dict:
    found = diagnostic_dict(diagnostic)
    found["field"] = None
    line, column = diagnostic.location.line, diagnostic.location.column
    # A whole-file problem sits at 1:1, where the first key usually is too: it names no field.
    if line and (line, column) != (1, 1):
        try:
            text = (root / diagnostic.location.file).read_text(encoding="utf-8").splitlines()
            match = _KEY_RE.match(text[line - 1]) if 0 < line <= len(text) else None
            found["field"] = match.group(1) if match else None
        except (OSError, UnicodeDecodeError, ValueError):
            pass
    if found["field"] is None and (named := _NAMED_RE.search(diagnostic.message_en)):
        found["field"] = named.group(1).split(".")[-1]
    return found
