"""Decap CMS's local-backend protocol (``POST /api/v1``) in Python, against :class:`RepositoryFiles`.

The same actions and answers as Decap's own ``decap-server`` (``info``, ``entriesByFolder``,
``entriesByFiles``, ``getEntry``, ``persistEntry``, ``getMedia``, ``getMediaFile``,
``persistMedia``, ``deleteFile``, ``deleteFiles``, ``getDeployPreview``) with what it lacks:
every path is contained (:meth:`RepositoryFiles.resolve`), a file changed on disk since the editor
read it is never overwritten (HTTP 409, both versions kept), a new course or lecture gets its
folder name from its title (:mod:`weike.plugins.editor.folders`), and each change is one Git
commit with a Chinese message. The media library lists pictures only: a lecture folder's video
would otherwise travel to the browser as base64 (videos have their own streamed upload).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from weike.plugins.editor.files import EditConflict, RefusedPath, RepositoryFiles, content_id
from weike.plugins.editor.folders import FolderPlanner
from weike.plugins.editor.history import GitHistory, describe_change

#: What the media library shows: the pictures (covers, centre photos, lecture images).
PICTURE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".svg")
#: A picture larger than this is not sent to the media library (it would be base64 in JSON).
MAX_LIBRARY_PICTURE = 20 * 1024 * 1024


class ProtocolError(Exception):
    """A request the backend answers with an error: ``status`` and a Chinese + English message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Reply:
    status: int
    body: object
    #: Repository paths this request changed (for the checks after a save).
    changed: list[str] = field(default_factory=list)


class LocalBackend:
    """Answers the actions of one editor session on one repository."""

    def __init__(self, files: RepositoryFiles, *, history: GitHistory | None = None) -> None:
        self.files = files
        self.history = history
        self.folders = FolderPlanner(files)
        #: The entry files the latest persistEntry wrote (what "check what I just saved" means).
        self.last_saved: list[str] = []

    def handle(self, body: object) -> Reply:
        if not isinstance(body, dict) or not isinstance(body.get("action"), str):
            return Reply(422, {"error": "请求应为 {\"action\": …, \"params\": …} (expected an action)"})
        action = body["action"]
        params = body.get("params") or {}
        handler = getattr(self, f"_action_{action}", None) if action.isidentifier() else None
        if handler is None:
            return Reply(422, {"error": f"不支持的操作 {action} (unknown action {action})"})
        if not isinstance(params, dict):
            return Reply(422, {"error": "params 应为对象 (params must be an object)"})
        try:
            return handler(params)
        except RefusedPath as exc:
            return Reply(403, {"error": str(exc)})
        except EditConflict as exc:
            return Reply(409, {"error": str(exc), "conflict": {"path": exc.path, "kept": exc.kept}})
        except ProtocolError as exc:
            return Reply(exc.status, {"error": str(exc)})

    # ----------------------------------------------------------------------------------------
    # Reading
    # ----------------------------------------------------------------------------------------

    def _action_info(self, params: dict) -> Reply:
        return Reply(200, {"repo": self.files.root.name, "publish_modes": ["simple"], "type": "local_fs"})

    def _entry(self, declared: str, label: str | None = None) -> dict:
        rel, data = self.files.read(self.folders.actual(declared, reading=True))
        text = _text(data, rel) if data is not None else None
        file = {"path": rel, "id": content_id(data) if data is not None else None}
        if label is not None:
            file["label"] = label
        return {"data": text, "file": file}

    def _action_entriesByFolder(self, params: dict) -> Reply:
        folder = _required(params, "folder", str)
        extension = params.get("extension") or ""
        depth = params.get("depth", 1)
        if not isinstance(extension, str) or not isinstance(depth, int) or isinstance(depth, bool) or not 0 < depth <= 8:
            raise ProtocolError(422, "extension 应为文字，depth 应为 1–8 的整数 (bad extension or depth)")
        paths = self.files.list_folder(folder, extension=f".{extension.lstrip('.')}" if extension else "", depth=depth)
        return Reply(200, [self._entry(path) for path in paths])

    def _action_entriesByFiles(self, params: dict) -> Reply:
        files = _required(params, "files", list)
        entries = []
        for item in files:
            if not isinstance(item, dict):
                raise ProtocolError(422, "files 的每一项应为 {path, label} (each file must be an object)")
            label = item.get("label")
            entries.append(self._entry(item.get("path"), label if isinstance(label, str) else None))
        return Reply(200, entries)

    def _action_getEntry(self, params: dict) -> Reply:
        return Reply(200, self._entry(_required(params, "path", str)))

    def _media_file(self, declared: str) -> dict:
        rel, data = self.files.read(declared)
        if data is None:
            raise ProtocolError(404, f"没有这个文件：{rel} (no such file)")
        return {"id": content_id(data), "content": base64.b64encode(data).decode("ascii"), "encoding": "base64",
                "path": rel, "name": PurePosixPath(rel).name}

    def _action_getMedia(self, params: dict) -> Reply:
        folder = self.folders.actual(_required(params, "mediaFolder", str))
        pictures = []
        for path in self.files.list_folder(folder, depth=1):
            _, absolute = self.files.resolve(path)
            if path.lower().endswith(PICTURE_EXTENSIONS) and absolute.stat().st_size <= MAX_LIBRARY_PICTURE:
                pictures.append(self._media_file(path))
        return Reply(200, pictures)

    def _action_getMediaFile(self, params: dict) -> Reply:
        return Reply(200, self._media_file(self.folders.actual(_required(params, "path", str))))

    def _action_getDeployPreview(self, params: dict) -> Reply:
        return Reply(200, None)

    # ----------------------------------------------------------------------------------------
    # Writing
    # ----------------------------------------------------------------------------------------

    def _action_persistEntry(self, params: dict) -> Reply:
        options = params.get("options") if isinstance(params.get("options"), dict) else {}
        data_files = params.get("dataFiles")
        if data_files is None and isinstance(params.get("entry"), dict):
            data_files = [params["entry"]]  # decap-server still accepts the older form
        if not isinstance(data_files, list) or not data_files:
            raise ProtocolError(422, "persistEntry 需要 dataFiles (dataFiles required)")
        assets = params.get("assets") or []
        if not isinstance(assets, list):
            raise ProtocolError(422, "assets 应为列表 (assets must be a list)")
        new_entry = bool(options.get("newEntry"))
        planned = []
        for item in data_files:
            if not isinstance(item, dict) or not isinstance(item.get("raw"), str):
                raise ProtocolError(422, "dataFiles 的每一项需要 path 和 raw (each data file needs path and raw)")
            if item.get("newPath") and item.get("newPath") != item.get("path"):
                # weike's folders are numbered and named by weike: the editor never moves them.
                raise ProtocolError(422, "编辑器不能移动课程或微课的文件夹 (the editor does not move folders)")
            planned.append((self.folders.place(item.get("path"), item["raw"], new_entry=new_entry), item["raw"]))
        decoded = [(self.folders.actual(asset.get("path")), _decoded(asset)) for asset in assets if isinstance(asset, dict)]
        changed = []
        for path, raw in planned:
            raw = keep_header_comments(self.files, path, raw)
            changed.append(self.files.write(path, raw.encode("utf-8"), new_entry=new_entry))
        for path, data in decoded:
            changed.append(self.files.write(path, data, guard=False))
        self.last_saved = changed[:len(planned)]
        self.commit_change(changed, "保存")
        return Reply(200, {"message": "entry persisted", "paths": changed}, changed=changed)

    def _action_persistMedia(self, params: dict) -> Reply:
        asset = _required(params, "asset", dict)
        path = self.folders.actual(asset.get("path"))
        rel = self.files.write(path, _decoded(asset), guard=False)
        self.commit_change([rel], "添加图片")
        return Reply(200, self._media_file(rel), changed=[rel])

    def _action_deleteFile(self, params: dict) -> Reply:
        rel = self.files.delete(self.folders.actual(_required(params, "path", str)))
        self.commit_change([rel] if rel else [], "删除")
        return Reply(200, {"message": f"deleted file {rel}"}, changed=[rel] if rel else [])

    def _action_deleteFiles(self, params: dict) -> Reply:
        paths = _required(params, "paths", list)
        resolved = [self.files.resolve(self.folders.actual(path))[0] for path in paths]  # refuse all before any
        removed = [rel for rel in (self.files.delete(path) for path in resolved) if rel]
        self.commit_change(removed, "删除")
        return Reply(200, {"message": f"deleted files {', '.join(removed)}"}, changed=removed)

    def commit_change(self, paths: list[str], verb: str) -> None:
        if self.history is not None and paths:
            self.history.commit(paths, describe_change(self.files.root, paths, verb=verb))


def keep_header_comments(files: RepositoryFiles, path: str, raw: str) -> str:
    """``raw`` with the comment lines that opened the file on disk put back on top.

    Decap writes YAML without comments; the block at the top of a ``course.yml`` or ``weike.yml``
    (the ``yaml-language-server`` schema line VS Code reads, the template's notes) is kept.
    Comments further down are lost (docs/editor.md says so).
    """
    if not path.endswith((".yml", ".yaml")) or raw.lstrip().startswith("#"):
        return raw
    try:
        _, absolute = files.resolve(path)
        old = absolute.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, RefusedPath):
        return raw
    header = []
    for line in old.splitlines(keepends=True):
        if not line.startswith("#") and line.strip():
            break
        header.append(line)
    while header and not header[-1].strip():
        header.pop()
    return "".join(header) + "\n" + raw if header else raw


def _required(params: dict, name: str, kind: type):
    value = params.get(name)
    if not isinstance(value, kind):
        raise ProtocolError(422, f"缺少参数 {name} (parameter {name} is required)")
    return value


def _decoded(asset: dict) -> bytes:
    if asset.get("encoding") != "base64" or not isinstance(asset.get("content"), str):
        raise ProtocolError(422, "文件内容应为 base64 (asset content must be base64)")
    try:
        return base64.b64decode(asset["content"], validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError(422, "文件内容不是有效的 base64 (asset content is not valid base64)") from None


def _text(data: bytes, rel: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError(422, f"{rel} 不是 UTF-8 文本，请用 VS Code 等编辑器另存为 UTF-8 "
                                 f"({rel} is not UTF-8 text)") from None
