// Learning records (学习档案): lecture pages write xAPI 1.0.3 statements — launched, progressed
// (every 30 s of playing), completed (90 % of the lecture watched, each second counted once) —
// and keep them on this device. On a station's `weike share` (which answers xapi/about) the
// queued statements are sent to it. On the public site itself (site_url's origin), when weike.yml
// names records.public_lrs, they go straight to that LRS with its published write-only key (CORS).
// On any other host, or from file://, they stay here. The 学习档案 page lists what this device
// watched, with 学时 and a printable 结业证明.
// Catalogue facts come from catalogue.js (window.weikeRecordsData); each course's lectures (IRIs,
// titles, lengths) from assets/records/courses/<slug>.js, loaded only where needed (the lecture
// page its own course, the 学习档案 page the courses this device watched): a script, not a fetch,
// so it loads from file:// too.
(function () {
  "use strict";
  var data = window.weikeRecordsData;
  var script = document.currentScript;
  if (!data || !script) return;
  // The site's root, from this script's own address (…/assets/records/records.js).
  var ROOT = script.src.replace(/assets\/records\/records\.js([?#].*)?$/, "");
  var P = "weike-records:";
  var KEYS = { queue: P + "queue", device: P + "device", name: P + "name", lectures: P + "lectures" };
  var PROGRESS_EVERY = 30;      // seconds of playing between two progressed statements
  var COMPLETE_SHARE = 0.9;     // watched share that completes a lecture
  var QUEUE_LIMIT = 5000;       // statements kept for the station at most (oldest go first)
  var BATCH = 50;
  var RETRY_MS = 30000;

  // ---- storage -------------------------------------------------------------------------------

  function load(key, fallback) {
    try { var v = JSON.parse(localStorage.getItem(key)); return v === null ? fallback : v; } catch (e) { return fallback; }
  }
  function save(key, value) {
    try { localStorage.setItem(key, JSON.stringify(value)); return true; } catch (e) { return false; }
  }

  function uuid() {
    var b = new Uint8Array(16);
    (window.crypto || window.msCrypto).getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = [];
    for (var i = 0; i < 16; i++) h.push((b[i] + 0x100).toString(16).slice(1));
    return h.slice(0, 4).join("") + "-" + h.slice(4, 6).join("") + "-" + h.slice(6, 8).join("") + "-" +
      h.slice(8, 10).join("") + "-" + h.slice(10).join("");
  }

  function device() {
    var id = load(KEYS.device, null);
    if (!id) { id = uuid(); save(KEYS.device, id); }
    return id;
  }

  function learnerName() { return String(load(KEYS.name, "") || "").trim(); }

  // ---- each course's facts, on demand ----------------------------------------------------------

  var SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;  // a course folder's name (anything else is never asked for)
  function facts() { return window.weikeRecordsCourses || {}; }
  // Calls done() once the facts of every course in slugs are in, or could not be had (a course no
  // longer on the site: its script is missing).
  function withCourses(slugs, done) {
    var waiting = 0, finished = false;
    function one() { if (--waiting === 0 && finished) done(); }
    slugs.forEach(function (slug) {
      if (!SLUG.test(slug) || facts()[slug]) return;
      waiting++;
      var tag = document.createElement("script");
      tag.src = ROOT + "assets/records/courses/" + slug + ".js";
      tag.onload = tag.onerror = one;
      document.head.appendChild(tag);
    });
    finished = true;
    if (waiting === 0) done();
  }

  function actor() {
    var a = { objectType: "Agent", account: { homePage: data.homePage, name: device() } };
    var name = learnerName();
    if (data.askName && name) a.name = name;  // only when the station asks for names
    return a;
  }

  // ---- statements ----------------------------------------------------------------------------

  function isoDuration(seconds) {
    return "PT" + (Math.round(Math.max(0, seconds) * 100) / 100) + "S";
  }

  function covered(spans) {
    var total = 0;
    for (var i = 0; i < spans.length; i++) total += spans[i][1] - spans[i][0];
    return total;
  }

  // Add [a, b) to the sorted, disjoint spans: every second of the lecture counts once.
  function addSpan(spans, a, b) {
    if (!(b > a)) return spans;
    var out = [], placed = false;
    for (var i = 0; i < spans.length; i++) {
      var s = spans[i];
      if (s[1] < a) out.push(s);
      else if (s[0] > b) { if (!placed) { out.push([a, b]); placed = true; } out.push(s); }
      else { a = Math.min(a, s[0]); b = Math.max(b, s[1]); }
    }
    if (!placed) out.push([a, b]);
    return out;
  }

  function enqueue(statement) {
    var queue = load(KEYS.queue, []);
    queue.push(statement);
    if (queue.length > QUEUE_LIMIT) queue = queue.slice(queue.length - QUEUE_LIMIT);
    save(KEYS.queue, queue);
  }

  function statement(verb, course, lecture, length, result) {
    var s = {
      id: uuid(),
      actor: actor(),
      verb: { id: data.verbs[verb], display: { "en-US": verb } },
      object: {
        objectType: "Activity", id: lecture.iri,
        definition: { type: data.types.video, name: { "zh-CN": lecture.title } }
      },
      context: {
        contextActivities: {
          parent: [{ objectType: "Activity", id: course.iri,
                     definition: { type: data.types.course, name: { "zh-CN": course.title } } }]
        },
        platform: "weike",
        language: "zh-CN",
        extensions: {}
      },
      timestamp: new Date().toISOString()
    };
    s.context.extensions[data.extensions.length] = Math.round(length * 1000) / 1000;
    if (result) s.result = result;
    enqueue(s);
    send();
    return s;
  }

  // ---- sending to the station ----------------------------------------------------------------

  var sending = false;

  function request(method, url, body, done, authorization) {
    var xhr = new XMLHttpRequest();
    try { xhr.open(method, url, true); } catch (e) { done(0, ""); return; }
    xhr.timeout = 15000;
    xhr.setRequestHeader("X-Experience-API-Version", "1.0.3");
    if (authorization) xhr.setRequestHeader("Authorization", authorization);
    if (body !== null) xhr.setRequestHeader("Content-Type", "application/json");
    xhr.onload = function () { done(xhr.status, xhr.responseText); };
    xhr.onerror = xhr.ontimeout = function () { done(0, ""); };
    xhr.send(body);
  }

  // Where the queue goes: the public LRS from the public site's own origin; a station otherwise,
  // when the page's own host answers xapi/about like one; nowhere else.
  var target = null;

  function send() {
    if (sending || !/^https?:$/.test(location.protocol) || ROOT.indexOf(location.origin) !== 0) return;
    if (!load(KEYS.queue, []).length) return;
    sending = true;
    var lrs = data.publicLrs;
    if (lrs && location.origin === lrs.siteOrigin) {
      target = { statements: lrs.endpoint + "statements", authorization: lrs.authorization };
      sendBatch(BATCH);
      return;
    }
    request("GET", ROOT + "xapi/about", null, function (status, text) {
      var about = null;
      try { about = JSON.parse(text); } catch (e) { /* not a station */ }
      if (status !== 200 || !about || !about.version) { sending = false; return; }
      target = { statements: ROOT + "xapi/statements", authorization: null };
      sendBatch(BATCH);
    });
  }

  function sendBatch(size) {
    var batch = load(KEYS.queue, []).slice(0, size);
    if (!batch.length) { sending = false; return; }
    request("POST", target.statements, JSON.stringify(batch), function (status) {
      if (status === 200 || (status === 400 && size === 1) || status === 409) {
        // Stored (or refused for good: a statement the station will never take is not resent forever).
        var sent = {};
        for (var i = 0; i < batch.length; i++) sent[batch[i].id] = true;
        save(KEYS.queue, load(KEYS.queue, []).filter(function (s) { return !sent[s.id]; }));
        sendBatch(status === 200 ? BATCH : 1);
      } else if (status === 400) {
        sendBatch(1);  // one bad statement refuses its batch: find it, send the others
      } else {
        sending = false;  // station or LRS gone, disk full (507), key refused: keep everything, try again later
      }
    }, target.authorization);
  }

  // ---- lecture pages -------------------------------------------------------------------------

  function lecturePage() {
    var match = /\/courses\/([^\/]+)\/([^\/]+)\/(?:index\.html)?$/.exec(location.pathname);
    var video = document.querySelector("figure.weike-video video");
    if (!match || !video) return;
    var courseSlug = decodeURIComponent(match[1]);
    withCourses([courseSlug], function () { watchLecture(match, video, facts()[courseSlug]); });
  }

  function watchLecture(match, video, course) {
    if (!course) return;
    var lecture = null, slug = decodeURIComponent(match[2]);
    for (var i = 0; i < course.lectures.length; i++) if (course.lectures[i].slug === slug) lecture = course.lectures[i];
    if (!lecture) return;

    var lectures = load(KEYS.lectures, {});
    var state = lectures[lecture.iri] || { course: match[1], lecture: slug, spans: [], completed: null };
    var played = 0, reported = 0, launched = false, last = null;

    function length() { return isFinite(video.duration) && video.duration > 0 ? video.duration : lecture.duration; }
    function share() { return Math.min(1, covered(state.spans) / length()); }
    function keep() {
      var all = load(KEYS.lectures, {});
      state.length = length();
      state.seen = covered(state.spans);
      state.updated = new Date().toISOString();
      all[lecture.iri] = state;
      save(KEYS.lectures, all);
    }
    function progressResult(extra) {
      var r = { duration: isoDuration(played), extensions: {} };
      r.extensions[data.extensions.progress] = Math.round(share() * 10000) / 10000;
      if (extra) r.completion = true;
      return r;
    }
    function progressed() {
      if (played - reported < 1) return;
      reported = played;
      keep();
      statement("progressed", course, lecture, length(), progressResult(false));
    }
    function checkCompleted() {
      if (state.completed || share() < COMPLETE_SHARE) return;
      state.completed = new Date().toISOString();
      keep();
      reported = played;
      statement("completed", course, lecture, length(), progressResult(true));
    }
    function advance() {
      var t = video.currentTime;
      if (last !== null && !video.seeking) {
        var step = t - last;
        // Ordinary playback moves a fraction of a second between two timeupdates; a larger or
        // backward jump is a seek, which watches nothing.
        if (step > 0 && step <= 1.5 * Math.max(1, video.playbackRate)) {
          state.spans = addSpan(state.spans, last, t);
          played += step;
        }
      }
      last = video.paused || video.seeking ? null : t;
    }

    video.addEventListener("play", function () {
      last = video.currentTime;
      if (!launched) {
        launched = true;
        statement("launched", course, lecture, length(), null);
      }
    });
    video.addEventListener("timeupdate", function () {
      var wasPlaying = last !== null;
      advance();
      if (!wasPlaying && !video.paused && !video.seeking) last = video.currentTime;
      if (played - reported >= PROGRESS_EVERY) progressed();
      checkCompleted();
    });
    video.addEventListener("seeking", function () { last = null; });
    video.addEventListener("seeked", function () { last = video.paused ? null : video.currentTime; });
    video.addEventListener("pause", function () { advance(); last = null; keep(); checkCompleted(); progressed(); });
    video.addEventListener("ended", function () { advance(); last = null; keep(); checkCompleted(); progressed(); });
    window.addEventListener("pagehide", function () { if (launched) { advance(); keep(); progressed(); } });
    // Playing already, before this course's facts were in: it was launched.
    if (!video.paused) {
      last = video.currentTime;
      launched = true;
      statement("launched", course, lecture, length(), null);
    }
  }

  // ---- 学习档案 page ---------------------------------------------------------------------------

  function pageAddress(href) { return href.replace(/[?#].*$/, "").replace(/index\.html$/, ""); }

  function element(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  function hours(seconds) { return (Math.round(seconds / 60 / data.minutesPerStudyHour * 100) / 100).toFixed(2); }

  function day(iso) {
    var d = new Date(iso);
    return d.getFullYear() + " 年 " + (d.getMonth() + 1) + " 月 " + d.getDate() + " 日";
  }

  function recordsPage() {
    if (pageAddress(location.href) !== ROOT + "records/") return;
    var holder = document.querySelector(".weike-page .weike-notes") || document.querySelector(".weike-page");
    if (!holder) return;
    var box = element("section", null, "weike-records");
    box.setAttribute("data-weike-records", "");
    holder.appendChild(box);

    var nameLabel = element("label", data.askName ? "姓名（学习站请你登记，会随学习记录交给学习站）："
                                                    : "姓名（可以不填；只印在结业证明上，不会发出）：");
    var name = element("input");
    name.type = "text"; name.maxLength = 40; name.value = learnerName(); name.autocomplete = "name";
    name.setAttribute("data-weike-records-name", "");
    name.addEventListener("input", function () { save(KEYS.name, name.value); renderCertificates(); });
    nameLabel.appendChild(name);
    box.appendChild(element("p")).appendChild(nameLabel);

    var lectures = load(KEYS.lectures, {});
    var byCourse = {};
    Object.keys(lectures).forEach(function (iri) {
      var s = lectures[iri];
      (byCourse[s.course] = byCourse[s.course] || {})[iri] = s;
    });
    var certificates = [];
    withCourses(Object.keys(byCourse), listCourses);

    function listCourses() {
      var slugs = Object.keys(byCourse).filter(function (c) { return facts()[c]; }).sort();
      if (!slugs.length) {
        box.appendChild(element("p", "这台设备还没有看过微课。打开任意一讲，播放视频，这里就会出现记录。", "weike-records__empty"));
      }
      var total = 0;
      slugs.forEach(function (slug) {
        var course = facts()[slug], seen = byCourse[slug];
        var watched = 0, done = 0, started = 0, finished = null;
        var list = element("ol");
        course.lectures.forEach(function (lecture) {
          var s = seen[lecture.iri];
          var item = element("li", lecture.title + "：");
          if (s) {
            started++; watched += s.seen || 0;
            if (s.completed) { done++; if (!finished || s.completed > finished) finished = s.completed; }
            item.appendChild(element("span", s.completed ? "已学完" : "看了 " + Math.round(100 * (s.seen || 0) / (s.length || lecture.duration)) + "%"));
          } else {
            item.appendChild(element("span", "未看"));
          }
          list.appendChild(item);
        });
        total += watched;
        var card = element("article", null, "weike-records__course");
        card.setAttribute("data-weike-course", slug);
        card.appendChild(element("h2", course.title));
        card.appendChild(element("p", (course.provider ? course.provider + " · " : "") + "共 " + course.lectures.length +
          " 讲，看过 " + started + " 讲，学完 " + done + " 讲，观看 " + Math.round(watched / 60) + " 分钟，" +
          hours(watched) + " 学时"));
        card.appendChild(list);
        if (done === course.lectures.length) {
          var button = element("button", "打印结业证明", "md-button md-button--primary");
          button.type = "button";
          var certificate = { course: course, date: finished, seconds: watched, node: element("div", null, "weike-certificate") };
          certificate.node.hidden = true;
          certificates.push(certificate);
          button.addEventListener("click", function () {
            certificates.forEach(function (c) { c.node.hidden = c !== certificate; });
            renderCertificates();
            document.body.classList.add("weike-printing");
            window.print();
          });
          card.appendChild(button);
          card.appendChild(certificate.node);
        }
        box.appendChild(card);
      });
      if (slugs.length) box.insertBefore(element("p", "合计 " + hours(total) + " 学时（" + Math.round(total / 60) + " 分钟）。", "weike-records__total"), box.children[1]);
      var waiting = load(KEYS.queue, []).length;
      var toLrs = data.publicLrs && location.origin === data.publicLrs.siteOrigin;
      box.appendChild(element("p", !waiting ? "学习记录都已保存。" : toLrs
        ? "还有 " + waiting + " 条学习记录没有交给学习记录平台，联网打开本网站时会自动补交。"
        : "还有 " + waiting + " 条学习记录没有交给学习站，连上学习站的 Wi-Fi 打开本网站时会自动补交。", "weike-records__queue"));
      window.addEventListener("afterprint", function () { document.body.classList.remove("weike-printing"); });
      renderCertificates();
    }

    function renderCertificates() {
      certificates.forEach(function (c) {
        var node = c.node, who = learnerName();
        while (node.firstChild) node.removeChild(node.firstChild);
        node.appendChild(element("h2", "结业证明"));
        node.appendChild(element("p", (who ? who : "＿＿＿＿＿＿") + " 同志于 " + day(c.date) + " 完成了" +
          (c.course.provider ? c.course.provider + "开设的" : "") + "《" + c.course.title + "》课程全部 " +
          c.course.lectures.length + " 讲的学习，计 " + hours(c.seconds) + " 学时。"));
        node.appendChild(element("p", "开课机构：" + (c.course.provider || "—")));
        node.appendChild(element("p", "日期：" + day(c.date)));
        node.appendChild(element("p", "（学时按实际观看视频的分钟数 ÷ " + data.minutesPerStudyHour + " 计算）", "weike-certificate__note"));
      });
    }
  }

  function start() {
    lecturePage();
    recordsPage();
    send();
    setInterval(send, RETRY_MS);
    window.addEventListener("online", send);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
