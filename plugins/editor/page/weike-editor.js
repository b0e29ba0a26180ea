// weike's part of the editor page: the streamed video upload widget, the problems weike check finds
// after each save, then Decap's start (manual-init.js held it back until these are registered).
(function () {
  "use strict";
  var CMS = window.CMS;
  var h = window.h;

  // ------------------------------------------------------------------------------------------
  // Problems after a save: POST /api/check, listed in a panel with the field each concerns
  // ------------------------------------------------------------------------------------------

  function panel() {
    var box = document.getElementById("weike-problems");
    if (!box) {
      box = document.createElement("section");
      box.id = "weike-problems";
      box.setAttribute("role", "status");
      box.setAttribute("lang", "zh-CN");
      document.body.appendChild(box);
    }
    return box;
  }

  function text(tag, content, className) {
    var node = document.createElement(tag);
    node.textContent = content;
    if (className) node.className = className;
    return node;
  }

  function showProblems(path, problems) {
    var box = panel();
    box.textContent = "";
    var close = text("button", "关闭", "weike-close");
    close.type = "button";
    close.onclick = function () { box.hidden = true; };
    box.appendChild(close);
    box.hidden = false;
    var errors = problems.filter(function (p) { return p.severity === "error"; }).length;
    if (!problems.length) {
      box.className = "weike-ok";
      box.appendChild(text("strong", "✓ 已保存，weike check 没有发现问题：" + path));
      return;
    }
    box.className = errors ? "weike-errors" : "weike-warnings";
    box.appendChild(text("strong", "已保存。weike check 发现 " + problems.length + " 个问题" +
      (errors ? "（" + errors + " 个错误，改好前这门课不能发布）" : "") + "："));
    var list = document.createElement("ol");
    problems.forEach(function (p) {
      var item = document.createElement("li");
      item.className = "weike-problem weike-" + p.severity;
      item.setAttribute("data-code", p.code);
      if (p.field_label) item.appendChild(text("span", "【" + p.field_label + "】", "weike-field"));
      item.appendChild(text("code", p.code));
      item.appendChild(document.createTextNode(" " + p.message));
      if (p.hint) item.appendChild(text("div", "提示：" + p.hint, "weike-hint"));
      item.appendChild(text("small", p.file + (p.line ? ":" + p.line : "") + " · " + p.message_en));
      list.appendChild(item);
    });
    box.appendChild(list);
  }

  function checkAfterSave(path) {
    if (!path) return;
    fetch("/api/check", {method: "POST", headers: {"Content-Type": "application/json"},
                         body: JSON.stringify({path: path})})
      .then(function (r) { return r.json(); })
      .then(function (reply) { if (reply.problems) showProblems(reply.path, reply.problems); })
      .catch(function () {});
  }

  CMS.registerEventListener({
    name: "postSave",
    handler: function (event) { checkAfterSave(event.entry.get("path")); }
  });

  // ------------------------------------------------------------------------------------------
  // The lecture's video: streamed to the lecture folder (never base64 in JSON), with progress
  // ------------------------------------------------------------------------------------------

  function lectureFolder(entry) {
    var path = entry && entry.get("path");
    return path ? path.replace(/\/[^/]*$/, "") : null;
  }

  var VideoControl = window.createClass({
    getInitialState: function () { return {progress: null, message: "", error: ""}; },
    upload: function (event) {
      var file = event.target.files && event.target.files[0];
      var folder = lectureFolder(this.props.entry);
      var self = this;
      if (!file) return;
      if (!folder || this.props.entry.get("newRecord")) {
        this.setState({error: "请先点“发布”保存这个微课，再上传视频。"});
        return;
      }
      var request = new XMLHttpRequest();
      var path = folder + "/" + file.name;
      request.open("POST", "/api/upload?path=" + encodeURIComponent(path) + "&replace=1");
      request.setRequestHeader("Content-Type", "application/octet-stream");
      request.upload.onprogress = function (e) {
        if (e.lengthComputable) self.setState({progress: Math.floor(100 * e.loaded / e.total)});
      };
      request.onload = function () {
        var reply = {};
        try { reply = JSON.parse(request.responseText); } catch (e) { reply = {error: request.statusText}; }
        if (request.status !== 200) {
          self.setState({progress: null, error: "上传失败：" + (reply.error || request.status)});
          return;
        }
        self.setState({progress: 100, error: "",
                       message: reply.probe && reply.probe.summary ? reply.probe.summary : "已上传。"});
        self.props.onChange(file.name);
      };
      request.onerror = function () { self.setState({progress: null, error: "上传失败：连接中断。"}); };
      this.setState({progress: 0, message: "", error: ""});
      request.send(file);
    },
    render: function () {
      var state = this.state;
      return h("div", {className: this.props.classNameWrapper + " weike-video"},
        h("div", {className: "weike-video-current"}, this.props.value ? "当前文件：" + this.props.value : "还没有视频"),
        h("input", {type: "file", id: this.props.forID, accept: "video/*,audio/*", onChange: this.upload,
                    "aria-label": "选择视频或录音上传"}),
        state.progress !== null ? h("progress", {max: 100, value: state.progress}) : null,
        state.progress !== null && state.progress < 100 ? h("span", {className: "weike-progress"}, state.progress + "%") : null,
        state.message ? h("p", {className: "weike-probe", role: "status"}, state.message) : null,
        state.error ? h("p", {className: "weike-upload-error", role: "alert"}, state.error) : null);
    }
  });
  var VideoPreview = window.createClass({
    render: function () { return h("p", {}, this.props.value ? "视频：" + this.props.value : "（还没有视频）"); }
  });
  CMS.registerWidget("weike-video", VideoControl, VideoPreview);

  CMS.init();
})();
