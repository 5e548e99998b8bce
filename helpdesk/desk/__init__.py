"""The staff's desk pages: server-rendered Django templates with htmx (vendored in
static/vendor/htmx/). Each role has its own package — agent/ (the queue and the inquiry
page), supervisor/ (the live board), admin/ (FAQ review, calendar, imports, users) — and
every action calls the services; no business rule lives in a view. docs/desk.md."""
