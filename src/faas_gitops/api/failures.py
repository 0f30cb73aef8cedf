"""Third-party failures become our ``ApiError`` tree here, at the boundary, and nowhere else.

Two tables decide: the documented ``FAAS-*`` codes whose meaning is more precise than their
HTTP status (a ``FAAS-1012`` is a 500 that retrying cannot cure), then the HTTP status. Transport
failures are sorted by what they say about the request: never sent (retry is safe), sent but
unanswered (a write may have landed), or no connection to the API at all (stop the run).
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator

import httpx

from faas_gitops.api.envelope import Envelope, correlation_of
from faas_gitops.errors import (
    ApiAmbiguous,
    ApiAuthError,
    ApiConflict,
    ApiDeploymentFailed,
    ApiError,
    ApiForbidden,
    ApiNotFound,
    ApiRetryable,
    ApiTransitional,
    ApiUnreachable,
    ApiUntrustedCertificate,
)

NOT_FOUND_CODE = "FAAS-1004"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

CODE_ERRORS: dict[str, type[ApiError]] = {
    NOT_FOUND_CODE: ApiNotFound,  # documented with HTTP 400
    "FAAS-1001": ApiAuthError,
    "FAAS-1002": ApiAuthError,
    "FAAS-403": ApiForbidden,
    "FAAS-1008": ApiTransitional,  # 423: cannot start while starting/stopping
    "FAAS-1009": ApiTransitional,  # 423: cannot stop while starting/stopping
    "FAAS-1012": ApiDeploymentFailed,  # 500: failed to start
    "FAAS-1013": ApiDeploymentFailed,  # 500: failed to stop
    "FAAS-1015": ApiConflict,  # 409: revision already deployed on this keyset
}
"""Codes that say more than their status; every other code falls back to ``STATUS_ERRORS``."""

STATUS_ERRORS: dict[int, type[ApiError]] = {
    401: ApiAuthError,
    403: ApiForbidden,
    404: ApiNotFound,
    409: ApiConflict,
    423: ApiTransitional,
    429: ApiRetryable,
}

_HINTS: dict[type[ApiError], str] = {
    ApiAuthError: "check the API key (FAAS_API_KEY or --api-key-file)",
    ApiForbidden: "the API key lacks a permission for this call (functions.package:write?)",
}

TRANSPORT_ERRORS: dict[type[httpx.TransportError], str] = {
    httpx.ConnectError: "never-sent",
    httpx.ConnectTimeout: "never-sent",
    httpx.PoolTimeout: "never-sent",
    httpx.UnsupportedProtocol: "never-sent",
    httpx.ProxyError: "never-sent",
    httpx.LocalProtocolError: "never-sent",
    httpx.ReadTimeout: "unanswered",
    httpx.WriteTimeout: "unanswered",
    httpx.ReadError: "unanswered",
    httpx.WriteError: "unanswered",
    httpx.CloseError: "unanswered",
    httpx.RemoteProtocolError: "unanswered",
    httpx.TimeoutException: "unanswered",
    httpx.NetworkError: "unanswered",
    httpx.ProtocolError: "unanswered",
    httpx.TransportError: "unanswered",
}
"""Every ``httpx.TransportError`` class, by whether the request may have reached the server.

Looked up along the exception's MRO, so a subclass httpx adds later lands on its parent's row
("unanswered" unless proven otherwise: the safe side for a write).
"""


def one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def error_class(status: int, code: str | None) -> type[ApiError]:
    if code in CODE_ERRORS:
        return CODE_ERRORS[code]
    if status in STATUS_ERRORS:
        return STATUS_ERRORS[status]
    return ApiRetryable if status >= 500 else ApiError


def status_error(
    call: str, method: str, response: httpx.Response, envelope: Envelope | None
) -> ApiError:
    """The error a non-2xx answer means, carrying that answer's code and correlation id."""
    status = response.status_code
    first = envelope.errors[0] if envelope and envelope.errors else None
    code = first.code if first and first.code else None
    message = one_line(first.message) if first and first.message else response.reason_phrase
    correlation = envelope.meta.correlation_id if envelope else None
    correlation = correlation or correlation_of(response)
    kind = error_class(status, code)
    if kind is ApiRetryable and method in WRITE_METHODS and status >= 500:
        # The server may have stored it before failing: look before retrying.
        kind = ApiAmbiguous
        message = f"{message}; the write may have landed"
    hint = _HINTS.get(kind)
    text = f"{message}; {hint}" if hint else message
    return kind(call, text, status=status, code=code, correlation_id=correlation)


def transport_kind(exc: httpx.TransportError) -> str:
    for cls in type(exc).__mro__:
        if cls in TRANSPORT_ERRORS:
            return TRANSPORT_ERRORS[cls]
    return "unanswered"


def transport_error(call: str, method: str, exc: httpx.TransportError) -> ApiError:
    """Sort a transport failure: was the request possibly processed by the server?"""
    where = _host_port(exc)
    causes = list(_causes(exc))
    if any(isinstance(c, ssl.SSLCertVerificationError) for c in causes) or (
        "CERTIFICATE_VERIFY" in str(exc)
    ):
        # An untrusted certificate does not become trusted on retry.
        return ApiUntrustedCertificate(
            call, f"TLS certificate of {where} not trusted; pass --ca-bundle FILE"
        )
    unreachable = _unreachable_cause(exc, causes, where)
    if unreachable is not None:
        return ApiUnreachable(call, unreachable)
    reason = one_line(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    if method in WRITE_METHODS and transport_kind(exc) != "never-sent":
        return ApiAmbiguous(call, f"no answer from {where} ({reason}); the write may have landed")
    return ApiRetryable(call, f"no answer from {where} ({reason})")


def _unreachable_cause(
    exc: httpx.TransportError, causes: list[BaseException], where: str
) -> str | None:
    """The words for "there is no API there", or ``None`` for any other transport failure."""
    if isinstance(exc, httpx.ConnectTimeout):
        return f"connect timeout: no answer from {where}"
    if not isinstance(exc, httpx.ConnectError):
        return None
    text = " ".join(str(c) for c in causes)
    if any(isinstance(c, ssl.SSLError) for c in causes) or "SSL" in text:
        return f"TLS handshake failed with {where}: is it plain HTTP? (try http://)"
    if any(isinstance(c, socket.gaierror) for c in causes) or "name resolution" in text.lower():
        host = where.rsplit(":", 1)[0]
        return f"cannot resolve host {host}"
    if any(isinstance(c, ConnectionRefusedError) for c in causes) or "refused" in text.lower():
        return f"connection refused to {where}"
    return f"cannot connect to {where} ({one_line(str(exc) or type(exc).__name__)})"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        nested = getattr(current, "exceptions", None)  # an ExceptionGroup of connect attempts
        if isinstance(nested, tuple):
            yield from (e for e in nested if isinstance(e, BaseException))
        current = current.__cause__ or current.__context__


def _host_port(exc: httpx.TransportError) -> str:
    try:
        url = exc.request.url
    except RuntimeError:  # an exception raised without a request
        return "the API"
    port = url.port or {"https": 443, "http": 80}.get(url.scheme, 0)
    return f"{url.host}:{port}"
