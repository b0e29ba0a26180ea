/*
 * weike SCO runtime: SCORM 1.2 tracking for one microlecture page.
 *
 * Finds the LMS's API object (the standard search: this window's parents, then the window that
 * opened it), starts the session, marks the lecture completed when the video has played to its
 * end, and on leaving the page records the session time and where playback stopped, commits
 * and finishes. Without an LMS the page still plays the video and says progress is not saved.
 * Written in ES5 so the older browsers some LMSs are used with can run it.
 */
(function () {
  "use strict";

  var MAX_FRAME_HOPS = 10;
  var video = document.querySelector("video");
  var status = document.getElementById("weike-status");
  var api = null;
  var startedAt = new Date().getTime();
  var completed = false;
  var finished = false;

  function apiFrom(win) {
    for (var hops = 0; win && hops <= MAX_FRAME_HOPS; hops += 1) {
      try {
        if (win.API) {
          return win.API;
        }
      } catch (crossOrigin) {
        // A frame from another origin hides its API: keep climbing.
      }
      if (!win.parent || win.parent === win) {
        break;
      }
      win = win.parent;
    }
    return null;
  }

  function findApi() {
    var found = apiFrom(window);
    var openers = [];
    try {
      openers = [window.top.opener, window.opener];
    } catch (crossOrigin) {
      openers = [window.opener];
    }
    for (var i = 0; !found && i < openers.length; i += 1) {
      if (openers[i]) {
        found = apiFrom(openers[i]);
      }
    }
    return found;
  }

  function say(text) {
    if (status) {
      status.textContent = text;
      status.hidden = false;
    }
  }

  function isTrue(result) {
    return String(result) === "true";
  }

  function pad(number, width) {
    var text = String(number);
    while (text.length < width) {
      text = "0" + text;
    }
    return text;
  }

  // CMITimespan: HH[HH]:MM:SS.SS, hours capped at four digits.
  function timespan(milliseconds) {
    var centiseconds = Math.max(0, Math.round(milliseconds / 10));
    var hours = Math.min(9999, Math.floor(centiseconds / 360000));
    var minutes = Math.floor(centiseconds / 6000) % 60;
    var seconds = Math.floor(centiseconds / 100) % 60;
    return pad(hours, 2) + ":" + pad(minutes, 2) + ":" + pad(seconds, 2) + "." + pad(centiseconds % 100, 2);
  }

  function start() {
    api = findApi();
    if (!api) {
      say("没有连接学习平台：可以观看，但不会记录学习进度。");
      return;
    }
    if (!isTrue(api.LMSInitialize(""))) {
      api = null;
      say("学习平台连接失败：可以观看，但不会记录学习进度。");
      return;
    }
    var lessonStatus = String(api.LMSGetValue("cmi.core.lesson_status") || "");
    completed = lessonStatus === "completed" || lessonStatus === "passed";
    if (lessonStatus === "" || lessonStatus === "not attempted") {
      api.LMSSetValue("cmi.core.lesson_status", "incomplete");
    }
    // Resume where the learner stopped last time, unless the lecture is already done.
    var resumeAt = parseFloat(api.LMSGetValue("cmi.core.lesson_location"));
    if (!completed && resumeAt > 0 && video) {
      var seek = function () {
        if (resumeAt < video.duration - 5) {
          video.currentTime = resumeAt;
        }
      };
      if (video.readyState >= 1) {
        seek();
      } else {
        video.addEventListener("loadedmetadata", seek);
      }
    }
  }

  function complete() {
    if (!api) {
      return;
    }
    completed = true;
    api.LMSSetValue("cmi.core.lesson_status", "completed");
    api.LMSSetValue("cmi.core.lesson_location", "0");
    api.LMSCommit("");
  }

  function finish() {
    if (!api || finished) {
      return;
    }
    finished = true;
    api.LMSSetValue("cmi.core.session_time", timespan(new Date().getTime() - startedAt));
    if (!completed && video) {
      api.LMSSetValue("cmi.core.lesson_location", String(Math.floor(video.currentTime)));
    }
    api.LMSSetValue("cmi.core.exit", completed ? "" : "suspend");
    api.LMSCommit("");
    api.LMSFinish("");
  }

  start();
  if (video) {
    video.addEventListener("ended", complete);
  }
  // pagehide is the one event mobile browsers reliably fire; the others cover older LMS frames.
  window.addEventListener("pagehide", finish);
  window.addEventListener("beforeunload", finish);
  window.addEventListener("unload", finish);
})();
