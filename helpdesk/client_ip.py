"""The client's address, for throttles and login lockouts.

A header is only believed when a proxy we run put it there: with
``HELPDESK_TRUSTED_PROXY_COUNT = 0`` (the default) the address is the socket's peer
(``REMOTE_ADDR``) and ``X-Forwarded-For`` is ignored, so a client cannot rotate it to slip
past a limit. Behind N trusted proxies, each appends the address it saw, so the client is the
N-th entry from the right — anything left of it was written by the client and is not used.

DRF's throttles follow the same rule through ``NUM_PROXIES`` (set from the same setting);
``tests/helpdesk/test_client_ip.py`` checks the two agree.
"""

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    remote_addr = request.META.get("REMOTE_ADDR") or ""
    trusted = settings.HELPDESK_TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if trusted <= 0 or not forwarded:
        return remote_addr
    hops = [hop.strip() for hop in forwarded.split(",")]
    return hops[-min(trusted, len(hops))] or remote_addr
