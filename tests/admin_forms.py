"""Read a Django admin page's form as a browser would and post it back with some fields
changed: the admin's own widgets (split date/time, raw ids, inlines' management forms)
render the values, so a test changes only what it names."""

from html.parser import HTMLParser


class _FormFields(HTMLParser):
    def __init__(self, form_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.fields: dict[str, str | list[str]] = {}
        self._select: str | None = None
        self._multiple = False
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("id") == self.form_id:
            self.inside = True
        if not self.inside:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields[name] = a.get("value", "on")
            elif kind == "submit":
                if name == "_save":
                    self.fields[name] = a.get("value", "")
            else:
                self.fields[name] = a.get("value", "")
        elif tag == "select" and name:
            # A multiple select with nothing chosen sends nothing, as a browser does.
            self._select, self._multiple = name, "multiple" in a
            if not self._multiple:
                self.fields.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in a:
            if self._multiple:
                self.fields.setdefault(self._select, []).append(a.get("value", ""))  # type: ignore[union-attr]
            else:
                self.fields[self._select] = a.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.fields[name] = ""

    def handle_endtag(self, tag):
        if tag == "form" and self.inside:
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            current = str(self.fields[self._textarea])
            self.fields[self._textarea] = current + (data if current else data.removeprefix("\n"))


def admin_form(client, url: str, model_name: str) -> dict[str, str | list[str]]:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    parser = _FormFields(f"{model_name}_form")
    parser.feed(response.content.decode())
    return parser.fields


def post_admin_form(client, url: str, model_name: str, **changes: str | None):
    """POST the change/add form at `url` with `changes` applied (None removes a field, as an
    unchecked checkbox)."""
    data = admin_form(client, url, model_name)
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return client.post(url, data)
