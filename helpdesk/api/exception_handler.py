"""One JSON error shape for every API error:

    {"message": "...", "code": "...", "errors": {"field": ["message", ...]}, "extra": {...}}

Validation errors are 400 and name the field; a stale update is 409 (or 412 when the
client sent If-Match); a server we depend on being unreachable (the task queue's broker) is
503 with `Retry-After`."""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler

from helpdesk.errors import ApplicationError, ServiceUnavailableError


def api_exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, ApplicationError):
        code = type(exc).__name__
        status_code = exc.status_code
        request = context.get("request")
        if code == "ConflictError" and request is not None and request.headers.get("If-Match"):
            status_code = status.HTTP_412_PRECONDITION_FAILED
        body = {"message": exc.message, "code": code, "errors": {}, "extra": exc.extra}
        if "field" in exc.extra:
            body["errors"] = {exc.extra["field"]: [exc.message]}
        response = Response(body, status=status_code)
        if isinstance(exc, ServiceUnavailableError):
            response["Retry-After"] = "30"  # a client (or proxy) waits before trying again
        return response

    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = response.data if isinstance(response.data, dict) else {"non_field_errors": response.data}
        response.data = {"message": "入力内容に誤りがあります。", "code": "invalid", "errors": errors, "extra": {}}
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else response.data
        response.data = {
            "message": str(detail),
            "code": getattr(detail, "code", "error"),
            "errors": {},
            "extra": {},
        }
    return response
