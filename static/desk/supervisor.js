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
  // the poll while a field of the panel has focus or holds text.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    var trigger = elt.getAttribute && elt.getAttribute("hx-trigger");
    if (!trigger || trigger.indexOf("every") !== 0) return;
    if (elt.contains(document.activeElement) && document.activeElement !== elt) {
      event.preventDefault();
      return;
    }
    var fields = elt.querySelectorAll("input:not([type=hidden]), textarea, select");
    for (var i = 0; i < fields.length; i++) {
      if (fields[i].value) {
        event.preventDefault();
        return;
      }
    }
  });

  if (window.htmx) configure();
  else document.addEventListener("DOMContentLoaded", configure);
})();
