"""The error answers the emulator gives, as exceptions the store and handlers can raise.

Raising instead of returning keeps the handlers straight-line; the app turns every
``ApiProblem`` into the documented error envelope in one place (REFERENCE.md §4).
"""

from __future__ import annotations


class ApiProblem(Exception):
    """An error answer: HTTP ``status`` plus the envelope's ``code`` and ``message``.

    ``headers`` are extra response headers (``Retry-After`` for 429).
    """

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


class NotFound(ApiProblem):
    """``FAAS-1004``; the app answers it with the configured status (the docs say 400 *and* 404)."""

    def __init__(self, message: str) -> None:
        super().__init__(400, "FAAS-1004", message)


def invalid(field: str, message: str) -> ApiProblem:
    """A ``FAAS-400`` naming the offending field, e.g. ``functions[1].type: must be one of ...``."""
    return ApiProblem(400, "FAAS-400", f"{field}: {message}")


def conflict(message: str) -> ApiProblem:
    """A ``FAAS-409`` unique-constraint violation."""
    return ApiProblem(409, "FAAS-409", message)


def package_not_found(package_id: str) -> NotFound:
    return NotFound(f"Package with ID [{package_id}] was not found!")


def revision_not_found(revision_id: str) -> NotFound:
    return NotFound(f"Package revision with ID [{revision_id}] was not found!")
