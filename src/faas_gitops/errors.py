"""The one exception tree of faas-gitops.

Third-party exceptions (httpx, GitPython, PyYAML, pydantic) are mapped to these at the module
that touches the outside world, so the CLI can turn any of them into one line for a person and a
documented exit code without knowing where they came from.
"""

from __future__ import annotations


class FaasGitopsError(Exception):
    """Base of every error we raise on purpose; ``str()`` is the one line shown to the user."""


class ConfigError(FaasGitopsError):
    """A flag, environment variable or file given by the user is unusable (exit code 2)."""


class SourceError(FaasGitopsError):
    """The git side failed: repository, ref or path not found, unreadable object (exit code 2)."""


class ManifestError(FaasGitopsError):
    """One package's ``package.yaml`` (or a file it names) is invalid; that package fails alone.

    ``file`` is the repository-relative path of the offending file and ``field`` the dotted path
    inside it (``functions[1].file``), so the message can point a person at the exact spot.
    """

    def __init__(self, file: str, field: str | None, message: str) -> None:
        self.file = file
        self.field = field
        self.message = message
        where = f"{file}: {field}" if field else file
        super().__init__(f"{where}: {message}")


class ApiError(FaasGitopsError):
    """The FaaS API refused a call or answered something we cannot use.

    ``call`` names the request (``POST /v2/faas/package-revisions``) and ``correlation_id`` is the
    API's ``meta.correlationId`` when the answer had one, so a support ticket can quote it.
    """

    def __init__(
        self,
        call: str,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        correlation_id: str | None = None,
    ) -> None:
        self.call = call
        self.message = message
        self.status = status
        self.code = code
        self.correlation_id = correlation_id
        detail = " ".join(part for part in (str(status) if status else "", code or "") if part)
        super().__init__(f"{call}: {detail + ': ' if detail else ''}{message}")


class ApiAuthError(ApiError):
    """401: the key is missing or invalid. Stops the whole run: every package would fail alike."""


class ApiForbidden(ApiError):
    """403: the key lacks a permission for this package; other packages may still sync."""


class ApiNotFound(ApiError):
    """The entity does not exist (``FAAS-1004`` with 400, or HTTP 404: the docs disagree)."""


class ApiConflict(ApiError):
    """409: a unique constraint, for us a revision name that is already taken."""


class ApiRetryable(ApiError):
    """429, 5xx or a transport failure that outlived the retry budget."""


class ApiAmbiguous(ApiRetryable):
    """A write whose outcome is unknown (timeout or dropped connection after sending it).

    The caller must look before retrying: the server may have stored it.
    """


class ApiBadResponse(ApiError):
    """A 2xx whose body is not the documented envelope; retrying will not fix it."""


__all__ = [
    "ApiAmbiguous",
    "ApiAuthError",
    "ApiBadResponse",
    "ApiConflict",
    "ApiError",
    "ApiForbidden",
    "ApiNotFound",
    "ApiRetryable",
    "ConfigError",
    "FaasGitopsError",
    "ManifestError",
    "SourceError",
]
