"""Optimistic concurrency over HTTP: `ETag: "v<version>"` on every inquiry response;
a write names the version it read with `If-Match` (stale → 412) or a `version` field in
the body (stale → 409). A write with neither is refused with 428."""

import re

from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError

_ETAG = re.compile(r'^\s*(?:W/)?"?v?(\d+)"?\s*$')


class PreconditionRequired(APIException):
    status_code = status.HTTP_428_PRECONDITION_REQUIRED
    default_detail = 'If-Match ヘッダー（"v<version>"）または version を指定してください。'
    default_code = "precondition_required"


def etag_for(version: int) -> str:
    return f'"v{version}"'


def expected_version(request, body_version: int | None, *, required: bool) -> int | None:
    header = request.headers.get("If-Match")
    if header:
        match = _ETAG.match(header)
        if not match:
            raise ValidationError({"If-Match": ['If-Match は "v<version>" の形式で指定してください。']})
        return int(match.group(1))
    if body_version is None and required:
        raise PreconditionRequired()
    return body_version
