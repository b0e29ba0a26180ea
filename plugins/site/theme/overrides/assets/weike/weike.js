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
