// The supervisor's board (templates/desk/supervisor/board.html). No inline script under the
// CSP: the board's behaviour is htmx attributes plus these two rules.
(function () {
  "use strict";

  function configure() {
    // A refused input answers 400 with the panel and the field named in it: show it (htmx
    // swaps only 2xx by default). Other errors keep the panel as it was.
    window.htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "400", swap: true, error: false },
      { code: "[45]..", swap: false, error: true },
    ];
  }

  // A panel refreshing itself every 30 s must not wipe what the supervisor is typing: skip
  // the poll while a field of the panel has focus or holds text — and drop a poll's answer
  // that arrives after they started typing (it was sent before: the swap would replace the
  // form they are filling with an empty one).
  // A panel's own poll: a GET by an element polling "every …". (A form's POST swaps the same
  // panel, and htmx names the panel, not the form, in its swap events.)
  function polling(detail) {
    var elt = detail.elt;
    var trigger = elt && elt.getAttribute && elt.getAttribute("hx-trigger");
    var verb = detail.requestConfig && detail.requestConfig.verb;
    return Boolean(trigger) && trigger.indexOf("every") === 0 && (!verb || verb.toLowerCase() === "get");
  }

  function inUse(panel) {
    if (panel.contains(document.activeElement) && document.activeElement !== panel) return true;
    var fields = panel.querySelectorAll("input:not([type=hidden]), textarea, select");
    for (var i = 0; i < fields.length; i++) {
      if (fields[i].value) return true;
    }
    return false;
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    if (polling(event.detail) && inUse(event.detail.elt)) event.preventDefault();
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    var elt = event.detail.elt;
    if (polling(event.detail) && elt.isConnected && inUse(elt)) event.detail.shouldSwap = false;
  });

  if (window.htmx) configure();
  else document.addEventListener("DOMContentLoaded", configure);
})();
