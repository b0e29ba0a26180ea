// 朗读 (read aloud): a course's summary and a lecture's notes read by the phone's own Chinese
// voice (the browser's speech synthesis: no server, so it works from a USB stick too). The
// button shows only where the device has a Chinese voice.
//
// States of a control: idle (朗读…) -> speaking (暂停) -> paused (继续朗读) -> speaking … -> idle
// when the text is done or 停止 is pressed. The text is spoken a sentence at a time: long
// utterances stop after about 15 s in some browsers, and pausing cancels the sentence and
// resuming says it again, since speechSynthesis.pause() does nothing on many Android phones.
(function () {
  var synth = window.speechSynthesis;
  if (!synth || typeof window.SpeechSynthesisUtterance !== "function") return;
  var MAX_CHUNK = 120; // characters per utterance
  var RATE = 0.9; // a little slower than the voice's default, for older listeners
  var controls = [];
  var active = null; // the control speaking or paused

  function chineseVoice() {
    var voices = synth.getVoices() || [];
    var best = null, bestRank = 99;
    for (var i = 0; i < voices.length; i++) {
      var lang = String(voices[i].lang || "").replace("_", "-").toLowerCase();
      if (!/^(zh|cmn)(-|$)/.test(lang)) continue;
      // Mandarin of the mainland first; Cantonese (zh-HK) last.
      var rank = /cn|hans/.test(lang) ? 0 : /hk|yue/.test(lang) ? 2 : 1;
      if (rank < bestRank) { best = voices[i]; bestRank = rank; }
    }
    return best;
  }

  function sentences(text) {
    var parts = String(text).replace(/\s+/g, " ").match(/[^。！？!?；;]+[。！？!?；;]*/g) || [];
    var out = [];
    for (var i = 0; i < parts.length; i++) {
      var part = parts[i].trim();
      while (part.length > MAX_CHUNK) {
        var cut = part.lastIndexOf("，", MAX_CHUNK);
        cut = cut > 10 ? cut + 1 : MAX_CHUNK;
        out.push(part.slice(0, cut));
        part = part.slice(cut).trim();
      }
      if (part) out.push(part);
    }
    return out;
  }

  function Control(box) {
    this.box = box;
    this.toggle = box.querySelector(".weike-read__toggle");
    this.stopButton = box.querySelector(".weike-read__stop");
    this.label = this.toggle.textContent;
    this.state = "idle";
    this.queue = [];
    this.index = 0;
    this.turn = 0; // events of cancelled utterances carry an older turn and are ignored
    var self = this;
    this.toggle.addEventListener("click", function () { self.press(); });
    this.stopButton.addEventListener("click", function () { self.stop(); });
  }

  Control.prototype.show = function (state) {
    this.state = state;
    this.box.setAttribute("data-state", state);
    this.toggle.textContent = state === "speaking" ? "暂停" : state === "paused" ? "继续朗读" : this.label;
    this.toggle.setAttribute("aria-pressed", String(state === "speaking"));
    this.stopButton.hidden = state === "idle";
  };

  Control.prototype.press = function () {
    if (this.state === "speaking") {
      this.turn++;
      synth.cancel();
      this.show("paused");
      return;
    }
    if (this.state === "idle") {
      if (active && active !== this) active.stop();
      var target = document.getElementById(this.box.getAttribute("data-weike-read"));
      this.queue = sentences(target ? target.innerText || target.textContent : "");
      this.index = 0;
      if (!this.queue.length) return;
    }
    active = this;
    this.show("speaking");
    this.speak();
  };

  Control.prototype.speak = function () {
    var self = this, turn = ++this.turn;
    if (this.index >= this.queue.length) { this.finish(); return; }
    var utterance = new SpeechSynthesisUtterance(this.queue[this.index]);
    var voice = chineseVoice();
    if (voice) { utterance.voice = voice; utterance.lang = voice.lang; } else utterance.lang = "zh-CN";
    utterance.rate = RATE;
    utterance.onend = function () {
      if (turn !== self.turn || self.state !== "speaking") return;
      self.index++;
      self.speak();
    };
    utterance.onerror = function () {
      if (turn === self.turn && self.state === "speaking") self.finish();
    };
    synth.speak(utterance);
  };

  Control.prototype.finish = function () {
    this.turn++;
    if (active === this) active = null;
    this.show("idle");
  };

  Control.prototype.stop = function () {
    this.turn++;
    synth.cancel();
    this.finish();
  };

  // Offer the buttons once the device's voices are known (Chrome lists them a moment after load).
  function offer() {
    var available = !!chineseVoice();
    for (var i = 0; i < controls.length; i++) {
      controls[i].box.hidden = !available;
      if (!available && controls[i].state !== "idle") controls[i].stop();
    }
  }

  function start() {
    var boxes = document.querySelectorAll("[data-weike-read]");
    for (var i = 0; i < boxes.length; i++) {
      if (boxes[i].querySelector(".weike-read__toggle")) controls.push(new Control(boxes[i]));
    }
    if (!controls.length) return;
    offer();
    if (synth.addEventListener) synth.addEventListener("voiceschanged", offer);
    else synth.onvoiceschanged = offer;
    // Leaving the page stops the voice (some browsers would read on over the next page).
    window.addEventListener("pagehide", function () { if (active) active.stop(); });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
