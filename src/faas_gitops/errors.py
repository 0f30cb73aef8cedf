"""The one exception tree of faas-gitops.

Third-party exceptions (httpx, GitPython, PyYAML, pydantic) are mapped to these at the module
that touches the outside world, so the CLI can turn any of them into one line for a person and a
documented exit code without knowing where they came from.
"""

from __future__ import annotations

from typing import TypedDict, Unpack


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


class ApiDetail(TypedDict, total=False):
    """What an answer tells beside its message: the keyword arguments of ``ApiError``, which a
    subclass passes on as they are."""

    status: int | None
    code: str | None
    correlation_id: str | None


class ApiError(FaasGitopsError):
    """The FaaS API refused a call or answered something we cannot use.

    ``call`` names the request (``POST /v2/faas/package-revisions``) and ``correlation_id`` is the
    API's ``meta.correlationId`` when the answer had one, so a support ticket can quote it.
    """

    def __init__(self, call: str, message: str, **detail: Unpack[ApiDetail]) -> None:
        self.call = call
        self.message = message
        self.status = detail.get("status")
        self.code = detail.get("code")
        self.correlation_id = detail.get("correlation_id")
        told = " ".join(str(part) for part in (self.status, self.code) if part)
        super().__init__(f"{call}: {told + ': ' if told else ''}{message}")


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
    """A write whose outcome is unknown: no answer after sending it, a 5xx, or a 2xx whose body
    cannot be read.

    The caller must look before retrying: the server may have stored it. ``correlation_id`` is
    that of the write's own answer when one arrived (even a truncated one), else ``None``.
    """


class ApiBadResponse(ApiError):
    """A 2xx whose body is not the documented envelope; retrying will not fix it."""


class ApiInconsistentList(ApiBadResponse):
    """A paged list that repeats pages or keeps growing: it cannot be read completely.

    Deciding from such a list (say, that a revision name is free) would create duplicates.
    """


class ApiTransitional(ApiError):
    """423 (``FAAS-1008``/``FAAS-1009``): a deployment is starting or stopping; wait, then retry.

    Not an ``ApiRetryable``: the client does not retry it, the caller waits for the state.
    """


class ApiDeploymentFailed(ApiError):
    """``FAAS-1012``/``FAAS-1013``: the deployment failed to start or stop; retrying is no cure."""


class ApiUnreachable(ApiRetryable):
    """No connection to the API at all (refused, unknown host, TLS mismatch, connect timeout).

    Every call of the run would fail alike, so callers stop the run once instead of per package.
    With ``url`` (the probe knows it) the line starts with ``--api-url URL``.
    """

    def __init__(
        self,
        call: str,
        message: str,
        *,
        url: str | None = None,
        **detail: Unpack[ApiDetail],
    ) -> None:
        super().__init__(call, message, **detail)
        self.url = url
        if url is not None:
            Exception.__init__(self, f"--api-url {url}: {call}: {message}")


class ApiUrlError(ApiError, ConfigError):
    """``--api-url`` does not point at a FaaS API: the package list is missing or not JSON.

    A configuration error (exit code 2); its one line names the URL and the answer seen.
    """

    def __init__(
        self,
        url: str,
        call: str,
        answer: str,
        **detail: Unpack[ApiDetail],
    ) -> None:
        super().__init__(call, answer, **detail)
        self.url = url
        Exception.__init__(self, f"--api-url {url}: {call} {answer}")


class ApiUntrustedCertificate(ApiError, ConfigError):
    """The API's TLS certificate chains to no CA this process trusts.

    Retrying cannot make it trusted and every call would meet it, so it is a configuration
    error (exit code 2) whose cure is ``--ca-bundle``. With ``url`` (the probe knows it) the
    line starts with ``--api-url URL``, like the probe's other first-contact failures.
    """

    def __init__(self, call: str, message: str, *, url: str | None = None) -> None:
        super().__init__(call, message)
        self.url = url
        if url is not None:
            Exception.__init__(self, f"--api-url {url}: {call}: {message}")


#: What every call of a run would meet alike (a dead key, no API there, an untrusted
#: certificate): callers stop the run once with it instead of failing each package.
RUN_STOPPERS: tuple[type[ApiError], ...] = (ApiAuthError, ApiUnreachable, ApiUntrustedCertificate)

__all__ = [
    "RUN_STOPPERS",
    "ApiAmbiguous",
    "ApiAuthError",
    "ApiBadResponse",
    "ApiConflict",
    "ApiDeploymentFailed",
    "ApiError",
    "ApiForbidden",
    "ApiInconsistentList",
    "ApiNotFound",
    "ApiRetryable",
    "ApiTransitional",
    "ApiUnreachable",
    "ApiUntrustedCertificate",
    "ApiUrlError",
    "ConfigError",
    "FaasGitopsError",
    "ManifestError",
    "SourceError",
]
