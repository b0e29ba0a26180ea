// Text-size control for elderly readers: scales the root font size, which every Material size
// (rem) follows, and remembers the choice on this device.
(function () {
  var STEPS = [100, 125, 150, 175, 200];
  var KEY = "weike-text-scale";
  var DEFAULT_INDEX = 1; // Material's own 125 %

  function current() {
    var value = parseFloat(document.documentElement.style.fontSize);
    var index = STEPS.indexOf(value);
    return index < 0 ? DEFAULT_INDEX : index;
  }

  function apply(index) {
    index = Math.max(0, Math.min(STEPS.length - 1, index));
    try {
      if (index === DEFAULT_INDEX) {
        document.documentElement.style.fontSize = "";
        localStorage.removeItem(KEY);
      } else {
        document.documentElement.style.fontSize = STEPS[index] + "%";
        localStorage.setItem(KEY, String(STEPS[index]));
      }
    } catch (e) { /* private mode: the size still applies to this page */ }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-weike-text-step]");
    if (!button) return;
    var step = parseInt(button.getAttribute("data-weike-text-step"), 10);
    apply(step === 0 ? DEFAULT_INDEX : current() + step);
  });
})();

// 省流量 (data saver): lecture pages whose video has a smaller rendition show a switch that plays
// it instead, keeping the playback position, and remember the choice on this device.
(function () {
  var KEY = "weike-data-saver";

  function remembered() {
    try { return localStorage.getItem(KEY) === "1"; } catch (e) { return false; }
  }

  function use(video, saver) {
    var source = video.querySelector("source");
    var wanted = video.getAttribute(saver ? "data-weike-saver" : "data-weike-full");
    if (!source || !wanted || source.getAttribute("src") === wanted) return;
    var position = video.currentTime, playing = !video.paused;
    source.setAttribute("src", wanted);
    video.load();
    if (position > 0) {
      video.addEventListener("loadedmetadata", function seek() {
        video.removeEventListener("loadedmetadata", seek);
        video.currentTime = position;
        if (playing) video.play();
      });
    }
  }

  function setUp() {
    var saver = remembered();
    document.querySelectorAll("video[data-weike-saver]").forEach(function (video) {
      // The switch sits in the video's figure (beside the frame that holds the video).
      var figure = video.closest("figure");
      var control = figure && figure.querySelector("[data-weike-saver-control]");
      var button = control && control.querySelector("[data-weike-saver-toggle]");
      if (!button) return;
      control.hidden = false;
      button.setAttribute("aria-pressed", String(saver));
      use(video, saver);
      button.addEventListener("click", function () {
        var on = button.getAttribute("aria-pressed") !== "true";
        button.setAttribute("aria-pressed", String(on));
        try { if (on) localStorage.setItem(KEY, "1"); else localStorage.removeItem(KEY); } catch (e) { /* private mode */ }
        use(video, on);
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setUp);
  else setUp();
})();

// Material searches on keyup. A query pasted, picked from an IME's candidate list or spoken into
// a phone's voice keyboard arrives as an input event with no key released afterwards, and the
// learner would wait for results that never come: pass every input on as a keyup.
document.addEventListener("input", function (event) {
  var target = event.target;
  if (!target.classList || !target.classList.contains("md-search__input")) return;
  target.dispatchEvent(new KeyboardEvent("keyup", { bubbles: true }));
});

// Lecture video: a large play control over the picture, and 继续观看 — this device remembers
// where the learner stopped in each lecture (localStorage, nothing leaves the phone) and offers
// to go on from there next time.
(function () {
  var KEY = "weike-position:";
  var MIN_SECONDS = 5; // a few seconds in is not worth offering, nor the last few

  function clock(seconds) {
    seconds = Math.floor(seconds);
    var m = Math.floor(seconds / 60), s = seconds % 60;
    return m + ":" + (s < 10 ? "0" : "") + s;
  }

  function read(key) {
    try { return JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { return null; }
  }

  function write(key, value) {
    try {
      if (value) localStorage.setItem(key, JSON.stringify(value)); else localStorage.removeItem(key);
    } catch (e) { /* private mode or full: the lecture still plays */ }
  }

  function seekAndPlay(video, seconds) {
    if (video.readyState >= 1) video.currentTime = seconds;
    else video.addEventListener("loadedmetadata", function () { video.currentTime = seconds; }, { once: true });
    var playing = video.play();
    if (playing && playing.catch) playing.catch(function () { /* the native controls remain */ });
  }

  function setUp(figure) {
    var video = figure.querySelector("video");
    if (!video) return;
    var key = KEY + location.pathname;
    var play = figure.querySelector(".weike-play");
    var resume = figure.querySelector(".weike-resume");

    if (play) {
      play.hidden = false;
      play.addEventListener("click", function () { seekAndPlay(video, video.currentTime); });
      video.addEventListener("play", function () { play.hidden = true; });
      video.addEventListener("pause", function () { play.hidden = video.seeking; });
    }

    var saved = read(key);
    if (resume && saved && saved.t >= MIN_SECONDS && !(saved.d && saved.t > saved.d - MIN_SECONDS)) {
      resume.textContent = "继续观看（从 " + clock(saved.t) + " 开始）";
      resume.hidden = false;
      resume.addEventListener("click", function () {
        resume.hidden = true;
        seekAndPlay(video, saved.t);
      });
    }
    video.addEventListener("play", function () { if (resume) resume.hidden = true; });

    var lastSaved = -1;
    function remember() {
      var t = video.currentTime;
      if (t < MIN_SECONDS) return;
      lastSaved = t;
      write(key, { t: Math.round(t * 10) / 10, d: isFinite(video.duration) ? video.duration : 0 });
    }
    video.addEventListener("timeupdate", function () { if (Math.abs(video.currentTime - lastSaved) >= 2) remember(); });
    video.addEventListener("pause", remember);
    video.addEventListener("ended", function () { write(key, null); });
  }

  function start() {
    var figures = document.querySelectorAll("figure.weike-video");
    for (var i = 0; i < figures.length; i++) setUp(figures[i]);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
