// The admin's desk. The page works without this file; it only adds a confirmation before
// actions that cannot be taken back from the page (retire, withdraw, deactivate). CSP: no
// inline script, no hx-on — behaviour is attached here to buttons marked class="danger".
// htmx is told to show a refused form (400 naming the field, 409 a stale version: the form
// with its error) in place (the FAQ review's 「別の話題として分ける」 panel and 「この分割を取り消す」:
// 409 also a split already withdrawn). Other errors keep
// what is shown — the import-progress poll does not swap a 404 page in for its bar.
if (window.htmx) {
  window.htmx.config.responseHandling = [
    { code: "204", swap: false },
    { code: "[23]..", swap: true },
    { code: "40[09]", swap: true, error: false },
    { code: "...", swap: false, error: true },
  ];
}
document.addEventListener("submit", function (event) {
  var button = event.submitter;
  if (!button || !button.classList.contains("danger") || !button.dataset.confirm) return;
  if (!window.confirm(button.dataset.confirm)) event.preventDefault();
});
