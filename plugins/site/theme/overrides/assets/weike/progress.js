// 继续学习 on the home and course pages: where this device's learner stopped, so they need not
// scroll down the course page or remember which lecture they were on.
//
// Two things in this device's localStorage (nothing leaves the phone):
// - "weike-position:" + a lecture page's path: where its video stopped, written by weike.js on
//   the lecture page (shared with other scripts: the key must not change);
// - "weike-recent": which lecture of each course the learner is on, most recent first, written
//   here on the lecture page when the video plays (and moved to the next lecture when it ends).
(function () {
  var POSITION = "weike-position:";
  var RECENT = "weike-recent";
  var KEEP = 30; // courses remembered
  var MIN_SECONDS = 5; // as weike.js: a few seconds in is not worth offering, nor the last few

  function read(key) {
    try { return JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { return null; }
  }

  function recent() {
    var list = read(RECENT);
    return Array.isArray(list) ? list.filter(function (r) { return r && typeof r.p === "string"; }) : [];
  }

  function clock(seconds) {
    seconds = Math.floor(seconds);
    var m = Math.floor(seconds / 60), s = seconds % 60;
    return m + ":" + (s < 10 ? "0" : "") + s;
  }

  // Where the video of the lecture page at `path` stopped, in seconds (0: not started or finished).
  function stoppedAt(path) {
    var saved = read(POSITION + path);
    if (!saved || !(saved.t >= MIN_SECONDS) || (saved.d && saved.t > saved.d - MIN_SECONDS)) return 0;
    return saved.t;
  }

  function pathOf(link) {
    try { return new URL(link.getAttribute("href"), location.href).pathname; } catch (e) { return null; }
  }

  // ---- Lecture page: remember the lecture being watched -------------------------------------

  function remember(entry) {
    var list = recent().filter(function (r) { return r.c !== entry.c; });
    list.unshift(entry);
    try { localStorage.setItem(RECENT, JSON.stringify(list.slice(0, KEEP))); } catch (e) { /* private mode */ }
  }

  function setUpLecture(heading) {
    var video = document.querySelector("figure.weike-video video");
    if (!video) return;
    var course = heading.getAttribute("data-weike-course");
    var courseTitle = heading.getAttribute("data-weike-course-title");
    var here = {
      c: course, course: courseTitle, p: location.pathname,
      n: parseInt(heading.getAttribute("data-weike-number"), 10), title: heading.getAttribute("data-weike-title")
    };
    video.addEventListener("play", function () { remember(here); });
    video.addEventListener("ended", function () {
      // Finished: the place to go on from is the next lecture (or the course is done).
      var next = document.querySelector("nav.weike-pager a[rel=next]");
      var path = next && pathOf(next);
      if (path) remember({ c: course, course: courseTitle, p: path, n: here.n + 1, title: next.getAttribute("data-weike-title") });
      else remember({ c: course, course: courseTitle, p: here.p, n: here.n, title: here.title, done: true });
    });
  }

  // ---- Course page: 开始学习 becomes 继续学习 第 N 讲 ----------------------------------------

  function setUpCourse(start) {
    var rows = document.querySelectorAll("ol.weike-lectures a.weike-lecture");
    var byPath = {}, chosen = null;
    for (var i = 0; i < rows.length; i++) {
      var path = pathOf(rows[i]);
      if (!path) continue;
      byPath[path] = rows[i];
      var t = stoppedAt(path);
      if (t) {
        var meta = rows[i].querySelector(".weike-lecture__meta");
        if (meta) meta.textContent += " · 上次看到 " + clock(t);
        chosen = rows[i]; // without a record, the last lecture watched part-way
      }
    }
    var list = recent();
    for (var j = 0; j < list.length; j++) {
      if (byPath[list[j].p]) {
        chosen = list[j].done ? null : byPath[list[j].p];
        break;
      }
    }
    if (!chosen) return;
    start.setAttribute("href", chosen.getAttribute("href"));
    var where = stoppedAt(pathOf(chosen));
    start.textContent = "继续学习 第 " + chosen.getAttribute("data-weike-number") + " 讲" +
      (where ? "（从 " + clock(where) + " 开始）" : "");
  }

  // ---- Home page: the lecture the learner was on most recently ------------------------------

  function setUpHome(block) {
    var list = recent().filter(function (r) { return !r.done; });
    if (!list.length) return;
    var last = list[0];
    var button = block.querySelector(".weike-continue__button");
    var where = block.querySelector(".weike-continue__where");
    // A path of this site as the lecture page saw it: absolute, so it works from any page.
    button.setAttribute("href", last.p);
    button.textContent = "继续学习 第 " + last.n + " 讲" + (last.title ? "：" + last.title : "");
    var t = stoppedAt(last.p);
    where.textContent = "《" + (last.course || "") + "》" + (t ? "，上次看到 " + clock(t) : "");
    block.hidden = false;
  }

  function start() {
    var heading = document.querySelector("h1[data-weike-course]");
    if (heading) setUpLecture(heading);
    var startButton = document.querySelector("[data-weike-start]");
    if (startButton) setUpCourse(startButton);
    var block = document.querySelector("[data-weike-continue]");
    if (block) setUpHome(block);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
