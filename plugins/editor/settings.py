"""The ``weike.yml`` keys the editor reads (declared with ``weike_settings``): ``editor.commit`` for
``weike edit``, and the Git host that the hosted editor (``dist/site/admin/``) edits through."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import yaml

from weike.builder.contracts.model import WeikeConfig
from weike.builder.contracts.settings import Boolean, Choice, Fields, Setting, Text
from weike.builder.repository.reading import FieldReader

#: The hosted editor's block is incomplete or one of its addresses is unusable (docs/rules.md).
HOSTED_SETTING_CODE = "E414"
BACKENDS = ("gitea", "github", "gitlab")
#: Each Git host's API below its own address (GitHub's is a host of its own).
_API_PATHS = {"gitea": "/api/v1", "gitlab": "/api/v4"}
GITHUB_API = "https://api.github.com"
#: A host name or address as it may stand in the page's Content-Security-Policy (nothing that
#: could end a directive or add a source).
_HOST = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:.]+\]")

_HOSTED = (
    Setting(name="backend", type=Choice(choices=BACKENDS),
            description="在线编辑：课程仓库所在的 Git 平台（gitea 也用于 Forgejo）；写了它，weike build 就把编辑器放在网站的 admin/",
            description_en="hosted editing: the Git host of the shared repository (gitea also serves Forgejo); "
                           "with it weike build writes the editor to the site's admin/"),
    Setting(name="repo", type=Text(pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$",
                                   pattern_hint="写成“所有者/仓库名”，例如 county-edu/weike-courses。"),
            description="在线编辑：仓库，写成“所有者/仓库名”", description_en="hosted editing: the repository, owner/name"),
    Setting(name="branch", type=Text(pattern=r"^[A-Za-z0-9_./-]+$"), default="main",
            description="在线编辑：保存到的分支（默认 main）", description_en="hosted editing: the branch saves go to (default main)"),
    Setting(name="base_url", type=Text(),
            description="在线编辑：Git 平台的地址（gitea、gitlab；github 则是 OAuth 登录服务的地址）",
            description_en="hosted editing: the Git host's address (gitea, gitlab; for github the OAuth login service's)"),
    Setting(name="api_root", type=Text(),
            description="在线编辑：Git 平台接口的地址（不写：gitea 为 base_url/api/v1，gitlab 为 base_url/api/v4，"
                        "github 为 https://api.github.com）",
            description_en="hosted editing: the Git host's API address (default: base_url/api/v1 for gitea, "
                           "base_url/api/v4 for gitlab, https://api.github.com for github)"),
    Setting(name="app_id", type=Text(max_length=200, pattern=r"^[A-Za-z0-9_.-]+$"),
            description="在线编辑：在 Git 平台上登记的 OAuth 应用的 Client ID（gitea、gitlab 必填，非保密应用）",
            description_en="hosted editing: the Client ID of the OAuth application registered on the Git host "
                           "(required for gitea and gitlab; a public, non-confidential client)"),
    Setting(name="auth_endpoint", type=Text(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_./-]*$"),
            description="在线编辑：登录地址在 base_url 下的路径（不写：gitlab 为 oauth/authorize，github 为 auth；gitea 不用）",
            description_en="hosted editing: the login path below base_url (default oauth/authorize for gitlab, "
                           "auth for github; gitea has its own)"),
)


def _value_node(node: yaml.Node, key: str) -> yaml.Node:
    """The node of ``key`` in the block ``node`` (the block itself when the key is not written)."""
    for key_node, value_node in getattr(node, "value", ()) if isinstance(node, yaml.MappingNode) else ():
        if getattr(key_node, "value", None) == key:
            return value_node
    return node


def _web_origin(value: str) -> str | None:
    """``scheme://host[:port]`` of an http(s) address without user name, query or spaces; else None."""
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if (parts.scheme not in ("http", "https") or not _HOST.fullmatch(host) or parts.username or parts.password
            or parts.query or parts.fragment or any(c.isspace() or c in "'\";," for c in value)):
        return None
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


def _check_hosted(reader: FieldReader, node: yaml.Node, path: str, value: dict) -> dict:
    """The ``editor`` block as written, without the hosted keys when they cannot make a working
    editor: each problem is E414 at its line, and ``weike build`` then writes no ``admin/``."""
    backend = value.get("backend")
    problems = 0

    def problem(key: str, message: str, message_en: str, hint: str) -> None:
        nonlocal problems
        problems += 1
        reader.report(HOSTED_SETTING_CODE, _value_node(node, key), message, message_en, hint=hint)

    hosted_keys = [setting.name for setting in _HOSTED if setting.name in value and setting.name != "backend"]
    if backend is None:
        if hosted_keys and f"{path}.backend" not in reader.malformed:  # a wrong one is E005 already
            problem(hosted_keys[0], f"写了在线编辑的 {hosted_keys[0]}，却没有写 backend",
                    f"'{path}.{hosted_keys[0]}' is set but '{path}.backend' is not",
                    "加一行 backend: gitea（或 github、gitlab）；不用在线编辑就删掉这些行。")
        return value
    for key in ("base_url", "api_root"):
        if key in value and _web_origin(str(value[key])) is None:
            problem(key, f"“{path}.{key}”不是 http:// 或 https:// 开头的网址：{str(value[key])[:60]}",
                    f"'{path}.{key}' is not an http(s) address", "写成完整网址，例如 https://git.example.gov.cn。")
    needed = ["repo"] + (["base_url", "app_id"] if backend in ("gitea", "gitlab") else ["base_url"])
    for key in needed:
        if key not in value and f"{path}.{key}" not in reader.malformed:
            problem("backend", f"在线编辑（backend: {backend}）还缺 {path}.{key}",
                    f"hosted editing with backend {backend} needs '{path}.{key}'",
                    {"repo": "写成“所有者/仓库名”。",
                     "base_url": "github 需要一个 OAuth 登录服务的地址；gitea、gitlab 写平台自己的地址。",
                     "app_id": "在 Git 平台的“应用”设置里登记一个 OAuth 应用（不勾选“机密客户端”，回调地址写网站的 "
                               "…/admin/），把 Client ID 写在这里。"}[key])
    if problems:
        return {key: item for key, item in value.items() if key not in {s.name for s in _HOSTED}}
    return value


EDITOR = Setting(
    name="editor",
    description="浏览器编辑器（weike edit）和在线编辑（网站的 admin/）的设置",
    description_en="weike edit, the browser editor, and hosted editing (the site's admin/)",
    check=_check_hosted,
    type=Fields(fields=(
        Setting(name="commit", type=Boolean(), default=True,
                description="每次保存记一次 Git 提交，便于找回以前的版本（默认是）",
                description_en="each save is one Git commit, so any earlier version can be brought back (default true)"),
        *_HOSTED,
    )))
SETTINGS = (EDITOR,)
EDITOR_KEYS = EDITOR.type.names()


@dataclass(frozen=True, kw_only=True)
class HostedEditor:
    """Where the hosted editor edits: the Git host, its repository and branch, and its login."""

    backend: str
    repo: str
    branch: str
    base_url: str
    api_root: str
    app_id: str | None = None
    auth_endpoint: str | None = None

    def origins(self) -> tuple[str, ...]:
        """The only places outside the site the page may talk to: the API and the login."""
        found = [_web_origin(self.api_root), _web_origin(self.base_url)]
        return tuple(dict.fromkeys(origin for origin in found if origin))


@dataclass(frozen=True, kw_only=True)
class EditorSettings:
    #: Each save is one Git commit (when the repository is a Git repository).
    commit: bool = True
    #: The hosted editor's Git host; None: no ``admin/`` (the default).
    hosted: HostedEditor | None = None


def editor_settings(config: WeikeConfig) -> EditorSettings:
    values = EDITOR.value_in(config.plugin_settings) or {}
    return EditorSettings(commit=values.get("commit", True) is not False, hosted=hosted_editor(values))


def hosted_editor(values: dict) -> HostedEditor | None:
    """The hosted editor the ``editor`` block asks for (checked when it was read), or None."""
    backend = values.get("backend")
    if backend not in BACKENDS or "repo" not in values or "base_url" not in values:
        return None
    base_url = str(values["base_url"]).rstrip("/")
    api_root = str(values.get("api_root") or (GITHUB_API if backend == "github" else base_url + _API_PATHS[backend]))
    return HostedEditor(backend=backend, repo=str(values["repo"]), branch=str(values.get("branch") or "main"),
                        base_url=base_url, api_root=api_root.rstrip("/"),
                        app_id=str(values["app_id"]) if values.get("app_id") is not None else None,
                        auth_endpoint=values.get("auth_endpoint"))
