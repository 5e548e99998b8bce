/* The agent's desk: keyboard navigation of the queue (j/k, Enter, "/"), FAQ answers inserted
   into the reply box in one click, and htmx told to show a refused form (4xx) in place.
   No inline script and no hx-on anywhere: the CSP allows only this file. */
(function () {
  "use strict";

  if (window.htmx) {
    // A form answered 400/403/404/409 carries the agent's text and the reason: swap it in.
    window.htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "4..", swap: true, error: false },
      { code: "...", swap: false, error: true },
    ];
  }

  function typing(target) {
    var tag = (target && target.tagName) || "";
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  // --- the queue ---------------------------------------------------------------------------
  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("#queue-table .queue-row"));
  }

  function select(index) {
    var all = rows();
    if (!all.length) return;
    index = Math.max(0, Math.min(index, all.length - 1));
    all.forEach(function (row, i) {
      row.classList.toggle("is-selected", i === index);
      if (i === index) row.setAttribute("aria-selected", "true");
      else row.removeAttribute("aria-selected");
    });
    var link = all[index].querySelector(".queue-link");
    if (link) link.focus();
  }

  function selectedIndex() {
    var all = rows();
    for (var i = 0; i < all.length; i++) {
      if (all[i].classList.contains("is-selected")) return i;
      if (all[i].contains(document.activeElement)) return i;
    }
    return -1;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    var search = document.getElementById("queue-q");
    var reply = document.getElementById("reply-body");
    if (event.key === "r" && reply) {
      // The reply path from the keyboard: the first FAQ suggestion if there is one, else the box.
      event.preventDefault();
      (document.querySelector(".faq-insert") || reply).focus();
    } else if (event.key === "/" && search) {
      event.preventDefault();
      search.focus();
      search.select();
    } else if ((event.key === "j" || event.key === "k") && rows().length) {
      event.preventDefault();
      var i = selectedIndex();
      select(event.key === "j" ? i + 1 : Math.max(i - 1, 0));
    } else if (event.key === "Enter" && rows().length) {
      var current = rows()[selectedIndex()];
      if (current && !(event.target && event.target.tagName === "A")) {
        event.preventDefault();
        window.location.href = current.getAttribute("data-href");
      }
    }
  });

  // --- FAQ answers into the reply box -------------------------------------------------------
  function insertAtCursor(area, text) {
    var start = area.selectionStart, end = area.selectionEnd, value = area.value;
    var before = value.slice(0, start), after = value.slice(end);
    var glue = before && !before.endsWith("\n") ? "\n" : "";
    area.value = before + glue + text + after;
    var caret = (before + glue + text).length;
    area.setSelectionRange(caret, caret);
    area.dispatchEvent(new Event("input", { bubbles: true }));
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest(".faq-insert");
    if (!button) return;
    var area = document.getElementById("reply-body");
    if (!area) return;
    insertAtCursor(area, button.getAttribute("data-faq-answer") || "");
    var id = button.getAttribute("data-faq-id");
    var chosen = document.getElementById("faq-chosen");
    if (chosen && id && !chosen.querySelector('input[value="' + id + '"]')) {
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = "faq_entry";
      input.value = id;
      chosen.appendChild(input);
    }
    button.setAttribute("aria-pressed", "true");
    area.focus();
  });
})();
