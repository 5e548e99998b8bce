// Canned responses (templates/desk/canned/_picker.html): a button inserts its text, already
// rendered for the inquiry by the server, into the reply box at the cursor. Delegated from
// the document, so pickers swapped in by htmx work too. No inline script (CSP).
(function () {
  "use strict";
  if (window.deskCannedReady) { return; }  // the picker may be included more than once
  window.deskCannedReady = true;

  function insert(textarea, text) {
    var start = textarea.selectionStart, end = textarea.selectionEnd;
    if (typeof start !== "number") { start = end = textarea.value.length; }
    var before = textarea.value.slice(0, start), after = textarea.value.slice(end);
    var gap = before && !/\n$/.test(before) ? "\n" : "";
    textarea.value = before + gap + text + after;
    var caret = (before + gap + text).length;
    textarea.setSelectionRange(caret, caret);
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
    textarea.focus();
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button.canned-insert");
    if (!button) { return; }
    var textarea = document.getElementById(button.dataset.cannedTarget || "reply-body");
    if (!textarea) { return; }
    event.preventDefault();
    insert(textarea, button.dataset.cannedText || "");
  });
})();
