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
    var box = panel();
    box.hidden = false;
    box.className = "weike-checking";
    box.textContent = "已保存，正在检查……";
    fetch("/api/check", {method: "POST", headers: {"Content-Type": "application/json"},
                         body: JSON.stringify({path: path})})
      .then(function (r) { return r.json(); })
      .then(function (reply) {
        if (reply.problems) showProblems(reply.path, reply.problems);
        if (!path && reply.path) openSaved(reply.path);
      })
      .catch(function () {});
  }

  // A new course or lecture went into the folder weike named for it; Decap still holds it under
  // the path it asked for. Open it where it really is, so what follows (a video upload, the next
  // save, the next new lecture) works on the real file.
  function openSaved(path) {
    var match = /^#\/collections\/([^/]+)/.exec(location.hash);
    if (!match) return;
    var slug = path.replace(/^(courses|centres)\//, "").replace(/\.[^./]+$/, "");
    var target = "#/collections/" + match[1] + "/entries/" + slug;
    // After Decap's own move to the entry it thinks it saved (it comes after the save, sooner
    // or later than this answer); through the list, so that Decap's editor is made anew and reads
    // the entry from its real file.
    var tries = 0;
    (function move() {
      if (location.hash === target) return;
      if (location.hash.indexOf("/entries/") === -1 && tries++ < 100) {
        setTimeout(move, 50);
        return;
      }
      location.hash = "#/collections/" + match[1];
      setTimeout(function () { location.hash = target; }, 0);
    })();
  }

  CMS.registerEventListener({
    name: "postSave",
    // A new entry has no path yet in Decap's event: the server then checks what it last saved.
    handler: function (event) { checkAfterSave(event.entry.get("path") || ""); }
  });

  // ------------------------------------------------------------------------------------------
  // The lecture's video: streamed to the lecture folder (never base64 in JSON), with progress
  // ------------------------------------------------------------------------------------------

  // weike probe's sentence for each uploaded file, by name: Decap may remount the widget.
  var probed = {};

  var VideoControl = window.createClass({
    getInitialState: function () { return {progress: null, message: "", error: ""}; },
    upload: function (event) {
      var file = event.target.files && event.target.files[0];
      var entry = this.props.entry && this.props.entry.get("path");
      var self = this;
      if (!file) return;
      if (!entry || this.props.entry.get("newRecord")) {
        this.setState({error: "请先点“发布”保存这个微课，再上传视频。"});
        return;
      }
      var request = new XMLHttpRequest();
      request.open("POST", "/api/upload?entry=" + encodeURIComponent(entry) + "&name=" +
                   encodeURIComponent(file.name) + "&replace=1");
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
        probed[file.name] = reply.probe && reply.probe.summary ? reply.probe.summary : "已上传。";
        self.setState({progress: 100, error: "", message: probed[file.name]});
        self.props.onChange(file.name);
      };
      request.onerror = function () { self.setState({progress: null, error: "上传失败：连接中断。"}); };
      this.setState({progress: 0, message: "", error: ""});
      request.send(file);
    },
    render: function () {
      var state = this.state;
      var message = state.message || probed[this.props.value] || "";
      return h("div", {className: this.props.classNameWrapper + " weike-video"},
        h("div", {className: "weike-video-current"}, this.props.value ? "当前文件：" + this.props.value : "还没有视频"),
        h("input", {type: "file", id: this.props.forID, accept: "video/*,audio/*", onChange: this.upload,
                    "aria-label": "选择视频或录音上传"}),
        state.progress !== null ? h("progress", {max: 100, value: state.progress}) : null,
        state.progress !== null && state.progress < 100 ? h("span", {className: "weike-progress"}, state.progress + "%") : null,
        message ? h("p", {className: "weike-probe", role: "status"}, message) : null,
        state.error ? h("p", {className: "weike-upload-error", role: "alert"}, state.error) : null);
    }
  });
  var VideoPreview = window.createClass({
    render: function () { return h("p", {}, this.props.value ? "视频：" + this.props.value : "（还没有视频）"); }
  });
  CMS.registerWidget("weike-video", VideoControl, VideoPreview);

  // ------------------------------------------------------------------------------------------
  // Which course a new lecture goes into: chosen from the courses, never typed
  // ------------------------------------------------------------------------------------------

  var CourseControl = window.createClass({
    getInitialState: function () { return {courses: []}; },
    componentDidMount: function () {
      var self = this;
      fetch("/api/v1", {method: "POST", headers: {"Content-Type": "application/json"},
                        body: JSON.stringify({action: "entriesByFolder",
                                              params: {branch: "main", folder: "courses", extension: "yml", depth: 2}})})
        .then(function (r) { return r.json(); })
        .then(function (entries) {
          self.setState({courses: entries.map(function (entry) {
            var folder = entry.file.path.split("/")[1];
            var title = /^title:[ \t]*["']?(.*?)["']?[ \t]*$/m.exec(entry.data || "");
            return {folder: folder, title: title ? title[1] : folder};
          })});
        });
    },
    render: function () {
      var value = this.props.value || "";
      var onChange = this.props.onChange;
      if (!this.props.entry.get("newRecord")) {
        // A saved lecture stays in its course: its folder is shown, not changed.
        return h("div", {className: this.props.classNameWrapper, id: this.props.forID}, value);
      }
      // Each new lecture asks for a folder of its own (never created: weike names the real one
      // from the title and the next number), so Decap never takes it for the last one made.
      var course = value.split("/")[0];
      return h("select", {id: this.props.forID, className: this.props.classNameWrapper, value: course,
                          onChange: function (e) {
                            onChange(e.target.value ? e.target.value + "/new-" + Date.now().toString(36) : "");
                          }},
        [h("option", {key: "", value: ""}, "请选择课程")].concat(this.state.courses.map(function (c) {
          return h("option", {key: c.folder, value: c.folder}, c.title + "（" + c.folder + "）");
        })));
    }
  });
  CMS.registerWidget("weike-course", CourseControl);

  CMS.init();
})();
