"""``weike edit``: the browser editor for the repository, on 127.0.0.1."""

from __future__ import annotations

import argparse
import webbrowser
from importlib import resources
from pathlib import Path

from weike.builder.contracts.errors import UsageError
from weike.builder.repository.loading import NotACourseRepository
from weike.builder.running.project import Project
from weike.plugins.editor.checks import problems_after_save
from weike.plugins.editor.config import editor_config_yaml
from weike.plugins.editor.files import RepositoryFiles
from weike.plugins.editor.history import GitHistory
from weike.plugins.editor.hosted import site_style
from weike.plugins.editor.protocol import LocalBackend
from weike.plugins.editor.server import DEFAULT_PORT, LOCAL_HOST, EditorServer, EditorSite, make_server
from weike.plugins.editor.settings import editor_settings

#: The page's own files (weike's) and the vendored Decap bundle, by URL path.
_PAGE_FILES = {
    "/index.html": ("page", "index.html", "text/html; charset=utf-8"),
    "/manual-init.js": ("page", "manual-init.js", "text/javascript; charset=utf-8"),
    "/weike-editor.js": ("page", "weike-editor.js", "text/javascript; charset=utf-8"),
    "/weike-editor.css": ("page", "weike-editor.css", "text/css; charset=utf-8"),
    "/weike-preview.js": ("page", "weike-preview.js", "text/javascript; charset=utf-8"),
    "/weike-preview.css": ("page", "weike-preview.css", "text/css; charset=utf-8"),
    "/decap-cms.js": ("vendor", "decap-cms.js", "text/javascript; charset=utf-8"),
}


def add_edit_command(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "edit", help="在浏览器里编辑课程：不用命令行，不用写 YAML (edit the courses in the browser)",
        description="Start the course editor (Decap CMS, in Chinese) on 127.0.0.1 and open it in the browser. "
                    "Every save is written to the repository's files (and committed to Git unless weike.yml says "
                    "editor: {commit: false}); weike check's problems show in the editor. Ctrl-C stops.")
    parser.add_argument("path", nargs="?", default=".", help="repository (folder with courses/)")
    parser.add_argument("--port", type=int, help=f"port (default {DEFAULT_PORT}, or any free port when it is taken; "
                                                  "0 = any free port)")
    parser.add_argument("--no-browser", action="store_true", help="do not open the browser, only print the address")
    parser.set_defaults(func=cmd_edit)


def _page_file(folder: str, name: str) -> bytes:
    return resources.files("weike.plugins.editor").joinpath(folder, name).read_bytes()


def editor_site(project: Project, *, commit: bool | None = None) -> EditorSite:
    """Everything ``weike edit`` serves for ``project``."""
    if not project.is_repository:
        raise NotACourseRepository(project.root)
    files = RepositoryFiles(project.root)
    wanted = editor_settings(project.config).commit if commit is None else commit
    backend = LocalBackend(files, history=GitHistory(project.root, enabled=wanted))
    config = editor_config_yaml(settings=project.settings).encode("utf-8")
    pages = {url: (kind, _page_file(folder, name)) for url, (folder, name, kind) in _PAGE_FILES.items()}
    pages["/config.yml"] = ("text/yaml; charset=utf-8", config)
    pages["/weike.css"] = ("text/css; charset=utf-8", site_style())
    return EditorSite(backend=backend, pages=pages, check=lambda rel: problems_after_save(project, rel),
                      probe=lambda path: probe_sentence(project, path))


def probe_sentence(project: Project, path: Path) -> dict:
    """``weike probe``'s verdict on an uploaded file, under the repository's delivery profile."""
    from weike.plugins.media import probe_upload

    return probe_upload(project, path)


def start_server(project: Project, *, port: int | None) -> EditorServer:
    """The editor's server on ``port``; without one, on 8081 or, when that is taken (a second
    editor, another program), on any free port: a double-clicked launcher has no --port."""
    if port is not None and not 0 <= port <= 65535:
        raise UsageError("--port 必须在 0 到 65535 之间 (--port must be 0-65535)")
    site = editor_site(project)
    if port is None:
        try:
            return make_server(site, port=DEFAULT_PORT)
        except OSError:
            port = 0
    try:
        return make_server(site, port=port)
    except OSError as exc:
        raise UsageError(f"端口 {port} 无法使用（{exc.strerror}），请换一个，例如 --port 8090 "
                         f"(port {port} cannot be used: {exc.strerror}; try another with --port)") from exc


def cmd_edit(project: Project, args: argparse.Namespace) -> int:
    server = start_server(project, port=args.port)
    url = f"http://{LOCAL_HOST}:{server.server_address[1]}/"
    history = server.RequestHandlerClass.site.backend.history
    print(f"课程编辑器已启动 (editor running)：{url}")
    print("每次保存都会记入 Git 历史 (every save is a Git commit)" if history and history.enabled
          else "这个文件夹不是 Git 仓库（或已关闭），保存不记入历史 (no Git history for saves)")
    print("按 Ctrl-C 停止 (Ctrl-C stops)", flush=True)
    if not args.no_browser:
        webbrowser.open(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("已停止编辑器 (editor stopped)")
    finally:
        server.server_close()
    return 0
