// Canned responses (templates/desk/canned/_picker.html): a button inserts its text, already
// rendered for the inquiry by the server, into the reply box — where the agent's cursor was
// when they left the box, or at the end if they never were in it. Delegated from the
// document, so pickers swapped in by htmx work too. No inline script (CSP).
(function () {
  "use strict";
  if (window.deskCannedReady) { return; }  // the picker may be included more than once
  window.deskCannedReady = true;

  // Clicking a button takes the focus (and, in some browsers, the selection) from the box:
  // remember where the cursor was as it leaves.
  document.addEventListener("focusout", function (event) {
    var box = event.target;
    if (box.tagName === "TEXTAREA") {
      box.dataset.cannedStart = box.selectionStart;
      box.dataset.cannedEnd = box.selectionEnd;
    }
  });

  function insert(box, text) {
    var start = box.dataset.cannedStart === undefined ? box.value.length : Number(box.dataset.cannedStart);
    var end = box.dataset.cannedEnd === undefined ? box.value.length : Number(box.dataset.cannedEnd);
    var before = box.value.slice(0, start), after = box.value.slice(end);
    var gap = before && !/\n$/.test(before) ? "\n" : "";
    box.value = before + gap + text + after;
    var caret = (before + gap + text).length;
    box.focus();
    box.setSelectionRange(caret, caret);
    box.dataset.cannedStart = box.dataset.cannedEnd = caret;
    box.dispatchEvent(new Event("input", { bubbles: true }));
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button.canned-insert");
    if (!button) { return; }
    var box = document.getElementById(button.dataset.cannedTarget || "reply-body");
    if (!box) { return; }
    event.preventDefault();
    insert(box, button.dataset.cannedText || "");
  });
})();
