// The preview pane: the course card and course page, and the lecture page, as the catalogue shows
// them (the site's markup and its own weike.css). Everything an entry says is text handed to
// React, which escapes it; the notes come through Decap's sanitised Markdown preview. Used by the
// local editor (weike edit) and the hosted one (the site's admin/): it talks to no server.
(function () {
  "use strict";
  var CMS = window.CMS;
  var h = window.h;

  function here(name) { return new URL(name, document.baseURI).href; }
  CMS.registerPreviewStyle(here("weike.css"));
  CMS.registerPreviewStyle(here("weike-preview.css"));

  function text(value) {
    // Decap's values are strings, numbers, dates or Immutable lists: shown as plain text.
    if (value === undefined || value === null) return "";
    if (value && typeof value.toJS === "function") value = value.toJS();
    return Array.isArray(value) ? value.join("、") : String(value);
  }

  function field(props, name) {
    var fields = props.collection && props.collection.get("fields");
    return fields ? fields.find(function (f) { return f.get("name") === name; }) : undefined;
  }

  function picture(props, name) {
    var path = text(props.entry.getIn(["data", name]));
    if (!path) return "";
    var asset = props.getAsset(path, field(props, name));
    var url = asset ? asset.toString() : "";
    // Only the page's own files, blobs it holds and data: pictures: nothing an entry names elsewhere.
    return /^(blob:|data:image\/)/i.test(url) || (url.indexOf(":") === -1 && url.indexOf("//") !== 0) ? url : "";
  }

  function label(content) { return h("p", {className: "weike-preview__label"}, content); }

  function page(children) {
    return h("div", {className: "md-typeset weike-preview", lang: "zh-CN"},
             h("div", {className: "weike-page"}, children));
  }

  var CoursePreview = window.createClass({
    render: function () {
      var data = function (key) { return text(this.props.entry.getIn(["data"].concat(key))); }.bind(this);
      var title = data("title") || "（还没有填写课程名称）";
      var cover = picture(this.props, "cover");
      var meta = data("theme");
      var instructors = this.props.entry.getIn(["data", "instructors"]);
      var people = instructors && instructors.toJS ? instructors.toJS() : [];
      return page([
        label("课程卡片（首页、主题页上）"),
        h("ul", {className: "weike-cards", key: "cards"},
          h("li", {},
            h("a", {className: "weike-card"},
              cover ? h("img", {src: cover, alt: "", width: 640, height: 360}) : null,
              h("span", {className: "weike-card__title"}, title),
              h("span", {className: "weike-card__meta"}, meta)))),
        label("课程页"),
        h("h1", {key: "title"}, title),
        cover ? h("img", {className: "weike-cover", src: cover, alt: title + "课程封面", key: "cover"}) : null,
        h("p", {key: "summary"}, data("summary")),
        h("dl", {className: "weike-facts", key: "facts"},
          h("dt", {}, "主题"), h("dd", {}, data("theme")),
          h("dt", {}, "开课机构"), h("dd", {}, data(["provider", "name"])),
          h("dt", {}, "所处层级"), h("dd", {}, data(["provider", "level"])),
          h("dt", {}, "所在地区"), h("dd", {}, data(["provider", "region"]))),
        h("h2", {key: "instructors-title"}, "授课教师"),
        h("dl", {className: "weike-instructors", key: "instructors"},
          people.map(function (person, index) {
            return [h("dt", {key: "n" + index}, text(person && person.name)),
                    h("dd", {key: "b" + index}, text(person && person.bio))];
          }))
      ]);
    }
  });

  var LecturePreview = window.createClass({
    render: function () {
      var entry = this.props.entry;
      var data = function (key) { return text(entry.getIn(["data", key])); };
      var title = data("title") || "（还没有填写微课名称）";
      // The number is the folder's (NN-...); a lecture not saved yet has none.
      var folder = /\/(\d\d)-[^/]*\/lecture\.md$/.exec(entry.get("path") || "");
      var heading = folder ? "第 " + parseInt(folder[1], 10) + " 讲　" + title : title;
      var media = data("media");
      return page([
        label("微课页"),
        h("h1", {key: "title"}, heading),
        h("div", {className: "weike-missing-video", role: "note", key: "video"},
          (media ? "视频 " + media : "微课文件夹里的视频") + "：weike build 交付后在这里播放"),
        data("knowledge_point") ? h("p", {className: "weike-knowledge", key: "knowledge"},
                                    h("strong", {}, "知识点："), data("knowledge_point")) : null,
        h("h2", {id: "notes", key: "notes-title"}, "讲义"),
        h("div", {className: "weike-notes", key: "notes"}, this.props.widgetFor("body"))
      ]);
    }
  });

  CMS.registerPreviewTemplate("courses", CoursePreview);
  CMS.registerPreviewTemplate("lectures", LecturePreview);
})();
