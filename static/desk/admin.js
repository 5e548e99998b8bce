// The admin's desk. The page works without this file; it only adds a confirmation before
// actions that cannot be taken back from the page (retire, withdraw, deactivate). CSP: no
// inline script, no hx-on — behaviour is attached here to buttons marked class="danger".
document.addEventListener("submit", function (event) {
  var button = event.submitter;
  if (!button || !button.classList.contains("danger") || !button.dataset.confirm) return;
  if (!window.confirm(button.dataset.confirm)) event.preventDefault();
});
