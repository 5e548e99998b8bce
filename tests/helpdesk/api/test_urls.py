"""The API routes do not depend on the order the packages' urls.py are included in:
every named route resolves to itself whichever order helpdesk/api/urls.py uses."""

import random
import types

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, include, path

from helpdesk.api import urls as api_urls

SAMPLE = {"ref": "Q-2026-000001", "call_id": "c-001", "pk": 7, "n": 1, "date": "2026-10-01"}


def _named_routes(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _named_routes(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern) and p.name:
            yield p.name, prefix + str(p.pattern)


def _url(route: str) -> str:
    out = route
    for key, value in SAMPLE.items():
        for conv in ("str", "int", ""):
            out = out.replace(f"<{conv}:{key}>" if conv else f"<{key}>", str(value))
    return "/" + out


def _orders():
    packages = list(api_urls.PACKAGES)
    yield packages
    yield packages[::-1]
    rng = random.Random(11)
    for _ in range(6):
        shuffled = packages[:]
        rng.shuffle(shuffled)
        yield shuffled


@pytest.mark.parametrize("order", list(_orders()), ids=lambda o: ",".join(p.rsplit(".", 1)[1][:4] for p in o))
def test_every_route_resolves_to_itself_in_any_include_order(order):
    patterns = [path("", include(f"{package}.urls")) for package in order]
    routes = list(_named_routes(patterns))
    assert len({name for name, _ in routes}) == len(routes), "a route name is used twice"
    resolver = get_resolver(tuple_urlconf(patterns))
    for name, route in routes:
        match = resolver.resolve(_url(route))
        assert match.url_name == name, (route, match.url_name)


def tuple_urlconf(patterns):
    """A throwaway urlconf module object holding `patterns`."""
    module = types.ModuleType("urls_in_this_order")
    module.urlpatterns = patterns
    return module


def test_the_fixed_call_paths_win_over_a_call_id():
    for fixed in ("import", "missing-wrapup"):
        assert get_resolver().resolve(f"/api/calls/{fixed}/").url_name != "api-call-detail"
