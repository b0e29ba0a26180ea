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
      var control = video.parentNode.querySelector("[data-weike-saver-control]");
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
