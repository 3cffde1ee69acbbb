// tessera journey pages: the little script a step may need. Every page
// works without it; it only saves a click.
(function () {
  "use strict";
  var form = document.querySelector("form[method=post]");
  if (!form) return;

  // Device characteristics for `device_profile` steps.
  var device = {
    screen: window.screen ? screen.width + "x" + screen.height + "x" + (screen.colorDepth || 0) : "",
    timezone: (Intl.DateTimeFormat().resolvedOptions().timeZone || ""),
    platform: (navigator.userAgentData && navigator.userAgentData.platform) || navigator.platform || ""
  };
  form.querySelectorAll("input[data-device]").forEach(function (input) {
    var value = device[input.getAttribute("data-device")];
    if (value !== undefined) input.value = value;
  });
  if (form.hasAttribute("data-auto-submit")) form.submit();

  // Waiting for an answer from elsewhere: check back every few seconds.
  if (form.hasAttribute("data-poll")) {
    setInterval(function () {
      fetch(form.getAttribute("data-poll"), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) { if (s && s.answered) form.submit(); })
        .catch(function () {});
    }, 2000);
  }
})();
