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

from helpdesk.errors import ApplicationError, ConflictError, ServiceUnavailableError


def api_exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, ApplicationError):
        code = exc.code
        status_code = exc.status_code
        request = context.get("request")
        if isinstance(exc, ConflictError) and request is not None and request.headers.get("If-Match"):
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


ERROR_SCHEMA = {
    "type": "object",
    "required": ["message", "code", "errors", "extra"],
    "properties": {
        "message": {"type": "string", "description": "for a person (Japanese first)"},
        "code": {"type": "string", "description": "for a program: invalid, not_found, ConflictError, …"},
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "description": "field name → messages (400)",
        },
        "extra": {"type": "object", "additionalProperties": {}, "description": "details (limits, refs, retry)"},
    },
}


def error_responses_hook(result, generator, request, public):
    """drf-spectacular postprocessing: every documented 4xx/5xx response has the one error
    shape above (`Error`), whatever the view wrote for it."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for methods in result.get("paths", {}).values():
        for operation in methods.values():
            for status_code, response in operation.get("responses", {}).items():
                if str(status_code)[0] in "45":
                    response["content"] = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    return result
