"""Domain errors that services raise and the API exception handler maps to one JSON shape."""

from typing import Any


class ApplicationError(Exception):
    """`code` in the error body: the class name unless the raiser names a finer one."""

    status_code = 400

    def __init__(self, message: str, *, code: str = "", extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or type(self).__name__
        self.extra = extra or {}


class PermissionDeniedError(ApplicationError):
    status_code = 403


class NotFoundError(ApplicationError):
    status_code = 404


class ConflictError(ApplicationError):
    """A stale write: the record changed since the client read it (optimistic concurrency)."""

    status_code = 409


class InvalidTransitionError(ApplicationError):
    status_code = 409


class GoneError(ApplicationError):
    """The thing existed but is not kept (an attachment over the size limit)."""

    status_code = 410


class PayloadTooLargeError(ApplicationError):
    """An upload over the import endpoints' limit (HELPDESK_IMPORT_MAX_UPLOAD_BYTES)."""

    status_code = 413


class ServiceUnavailableError(ApplicationError):
    """A server the request needs (the task queue's broker) is unreachable: try again later."""

    status_code = 503
