"""The httpx edge: headers, the ``data/meta/errors`` envelope, pagination, error mapping, retries.

Everything the public docs leave open is handled both ways here, so the rest of the code never
has to know: any 2xx is success (200 or 201 for creates, 204 or empty bodies for deletes), "not
found" is ``FAAS-1004`` with HTTP 400 *or* HTTP 404, list order is never trusted, and revision list
items may or may not embed function code.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import random
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import httpx
import structlog
from pydantic import BaseModel, ConfigDict, ValidationError

from faas_gitops.errors import (
    ApiAmbiguous,
    ApiAuthError,
    ApiBadResponse,
    ApiConflict,
    ApiError,
    ApiForbidden,
    ApiNotFound,
    ApiRetryable,
)
from faas_gitops.models import DEFAULT_LANGUAGE, FunctionSpec, RemotePackage, RemoteRevision

log = structlog.get_logger(__name__)
_M = TypeVar("_M", bound=BaseModel)

DEFAULT_API_URL = "https://admin-api.pubnub.com"
DEFAULT_API_VERSION = "2026-05-26"
LIST_PAGE_SIZE = 100
MAX_PAGES = 10_000  # a guard against a server whose paging never ends
NOT_FOUND_CODE = "FAAS-1004"
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


# --------------------------------------------------------------------------- envelope models
class _Lenient(BaseModel):
    """Unknown fields are ignored: the API may add fields in a newer ``PubNub-Version``."""

    model_config = ConfigDict(extra="ignore")


class Paging(_Lenient):
    totalElements: int = 0  # noqa: N815 - the API's spelling
    totalPages: int = 0  # noqa: N815
    pageSize: int = 0  # noqa: N815
    pageNumber: int = 0  # noqa: N815


class Meta(_Lenient):
    correlationId: str | None = None  # noqa: N815
    timestamp: str | None = None
    paging: Paging | None = None


class ErrorItem(_Lenient):
    code: str = ""
    message: str = ""


class Envelope(_Lenient):
    data: Any = None
    meta: Meta = Meta()
    errors: list[ErrorItem] = []


class _FunctionItem(_Lenient):
    name: str
    type: str
    language: str = DEFAULT_LANGUAGE
    sortOrder: int = 0  # noqa: N815
    code: str | None = None
    config: dict[str, Any] | None = None


class _RevisionItem(_Lenient):
    id: str
    packageId: str  # noqa: N815
    name: str
    description: str | None = None
    createdDttm: datetime  # noqa: N815
    # Raw: list items may carry placeholders (``[{}]`` in the docs) or omit code.
    functions: list[dict[str, Any]] | None = None

    def to_remote(self) -> RemoteRevision:
        return RemoteRevision(
            id=self.id,
            package_id=self.packageId,
            name=self.name,
            created=self.createdDttm,
            description=self.description,
            functions=_embedded_functions(self.functions),
        )


class _PackageItem(_Lenient):
    id: str
    name: str
    description: str | None = None

    def to_remote(self) -> RemotePackage:
        return RemotePackage(self.id, self.name, self.description)


# --------------------------------------------------------------------------- retry policy
@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Capped exponential backoff with full jitter; a setting, so tests and chaos runs tune it."""

    max_attempts: int = 6
    base_delay: float = 0.25
    max_delay: float = 8.0
    max_retry_after: float = 60.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (``attempt`` counts from 1)."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return rng.uniform(ceiling / 2, ceiling)


class RateLimiter:
    """A global request rate shared by all packages of a run: 1,000 stay under ``--max-rps``.

    Each request gets the next free slot, ``1 / rate`` seconds after the previous one (a GCRA,
    the scheduling form of a token bucket), so the average is exactly ``rate`` even when the
    event loop wakes a little late. Idle time is banked for at most ``burst`` requests (default
    one: no burst). A bucket holding a second's worth would let the first second carry twice
    the rate (the burst, then the refill), which is what an API counting requests per second
    throttles.
    """

    def __init__(self, rate: float, *, burst: float = 1.0) -> None:
        self._interval = 1.0 / rate
        self._banked = (max(1.0, burst) - 1.0) * self._interval
        self._next = time.monotonic()

    async def acquire(self) -> None:
        now = time.monotonic()
        slot = max(self._next, now - self._banked)
        self._next = slot + self._interval
        if slot > now:
            await asyncio.sleep(slot - now)


@dataclass(frozen=True, slots=True)
class ApiResponse:
    """A successful answer: the envelope's ``data`` and the ``meta`` worth keeping."""

    status: int
    data: Any
    correlation_id: str | None
    paging: Paging | None = None


Observer = Callable[[str, str, int | None, bool], None]
"""Called after every attempt with (method, endpoint template, status or None, is_retry)."""


@dataclass(slots=True)
class RequestStats:
    """Counts by endpoint template: what benchmarks report and tests assert."""

    by_endpoint: dict[str, int] = field(default_factory=dict)
    retries: int = 0

    def __call__(self, method: str, endpoint: str, status: int | None, retry: bool) -> None:
        key = f"{method} {endpoint}"
        self.by_endpoint[key] = self.by_endpoint.get(key, 0) + 1
        if retry:
            self.retries += 1

    @property
    def total(self) -> int:
        return sum(self.by_endpoint.values())


# --------------------------------------------------------------------------- the client
class ApiClient:
    """The FaaS v2 calls faas-gitops makes, over one shared ``httpx.AsyncClient``.

    The transport is injected (``httpx`` style) so tests can aim it at the emulator on loopback
    or at an ``httpx.MockTransport``. The key lives only in the default headers of that client.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        retry: RetryPolicy | None = None,
        rate_limiter: RateLimiter | None = None,
        observers: Sequence[Observer] = (),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._http = http
        self._retry = retry or RetryPolicy()
        self._limiter = rate_limiter
        self._observers = tuple(observers)
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography

    @staticmethod
    def build_http_client(
        *,
        base_url: str,
        api_key: str,
        api_version: str = DEFAULT_API_VERSION,
        concurrency: int = 8,
        timeout: float = 30.0,
        verify: ssl.SSLContext | bool = True,
    ) -> httpx.AsyncClient:
        """One pooled, keep-alive client: its connection pool is the concurrency of the run."""
        return httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={
                "Authorization": api_key,
                "PubNub-Version": api_version,
                "Content-Type": "application/json",
                "Accept": "application/json",
                "User-Agent": "faas-gitops",
            },
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            verify=verify,
            follow_redirects=False,
        )

    # ---- the calls ------------------------------------------------------------------------
    async def list_packages(self) -> list[RemotePackage]:
        items = await self.list_all("/v2/faas/packages", endpoint="/v2/faas/packages")
        return [_parse(_PackageItem, item, "GET /v2/faas/packages").to_remote() for item in items]

    async def check_access(self) -> None:
        """The cheapest authenticated call: proves the key still works when nothing else runs."""
        await self.request(
            "GET",
            "/v2/faas/packages",
            endpoint="/v2/faas/packages",
            params={"page": "0", "size": "1"},
        )

    async def get_package(self, package_id: str) -> RemotePackage:
        call = "/v2/faas/packages/{id}"
        response = await self.request("GET", f"/v2/faas/packages/{package_id}", endpoint=call)
        return _parse(_PackageItem, response.data, f"GET {call}").to_remote()

    async def create_package(
        self,
        *,
        name: str,
        description: str | None,
        revision_name: str,
        functions: Sequence[FunctionSpec],
    ) -> tuple[RemotePackage, str | None]:
        """Create a package with its initial revision (the API does both in one call)."""
        body: dict[str, Any] = {
            "name": name,
            "description": description or "",
            "revisionName": revision_name,
            "functions": [fn.to_api() for fn in functions],
            "apiManaged": True,
        }
        response = await self.request(
            "POST", "/v2/faas/packages", endpoint="/v2/faas/packages", json_body=body
        )
        package = _parse(_PackageItem, response.data, "POST /v2/faas/packages").to_remote()
        return package, response.correlation_id

    async def list_revisions(
        self, package_id: str, *, complete: bool = False
    ) -> tuple[list[RemoteRevision], str | None]:
        """The revisions of a package, newest first when the server honours ``sort``.

        The order of a list is undocumented, so it is never trusted blindly: only when the first
        page really is sorted by ``createdDttm`` descending does it hold the latest revision,
        and the other pages are skipped (one request instead of one per 100 revisions). Any
        other order makes us read every page. ``complete=True`` always reads every page, for
        callers that need every revision name (after a 409 on a name). Returns the correlation
        id of the first page.
        """
        endpoint = "/v2/faas/packages/{id}/package-revisions"
        call = f"GET {endpoint}"
        correlation: list[str | None] = []
        items = await self.list_all(
            f"/v2/faas/packages/{package_id}/package-revisions",
            endpoint=endpoint,
            params={"sort": "createdDttm,DESC"},
            correlation_sink=correlation,
            enough=None if complete else _newest_first,
        )
        revisions = [_parse(_RevisionItem, item, call).to_remote() for item in items]
        return revisions, (correlation[0] if correlation else None)

    async def get_revision(self, revision_id: str) -> RemoteRevision:
        """A revision with its functions; falls back to the functions list if code is missing."""
        endpoint = "/v2/faas/package-revisions/{id}"
        response = await self.request(
            "GET", f"/v2/faas/package-revisions/{revision_id}", endpoint=endpoint
        )
        revision = _parse(_RevisionItem, response.data, f"GET {endpoint}").to_remote()
        if revision.functions is None:
            functions = await self.list_revision_functions(revision_id)
            revision = dataclasses.replace(revision, functions=functions)
        return revision

    async def list_revision_functions(self, revision_id: str) -> tuple[FunctionSpec, ...]:
        endpoint = "/v2/faas/package-revisions/{id}/functions"
        items = await self.list_all(
            f"/v2/faas/package-revisions/{revision_id}/functions", endpoint=endpoint
        )
        specs = [_function_spec(_parse(_FunctionItem, i, f"GET {endpoint}")) for i in items]
        if any(spec is None for spec in specs):
            raise ApiBadResponse(
                f"GET {endpoint}", "function items carry no code; cannot compare revisions"
            )
        return tuple(spec for spec in specs if spec is not None)

    async def create_revision(
        self,
        *,
        package_id: str,
        name: str,
        description: str,
        functions: Sequence[FunctionSpec],
    ) -> tuple[RemoteRevision, str | None]:
        body = {
            "packageId": package_id,
            "name": name,
            "description": description,
            "functions": [fn.to_api() for fn in functions],
        }
        endpoint = "/v2/faas/package-revisions"
        response = await self.request("POST", endpoint, endpoint=endpoint, json_body=body)
        revision = _parse(_RevisionItem, response.data, f"POST {endpoint}").to_remote()
        return revision, response.correlation_id

    # ---- the machinery --------------------------------------------------------------------
    async def list_all(
        self,
        path: str,
        *,
        endpoint: str,
        params: Mapping[str, str] | None = None,
        correlation_sink: list[str | None] | None = None,
        enough: Callable[[list[Any]], bool] | None = None,
    ) -> list[Any]:
        """Follow ``meta.paging`` across every page and return the items in the server's order.

        ``enough(first_page)`` returning true stops after the first page.
        """
        items: list[Any] = []
        for page in range(MAX_PAGES):
            query = {**(params or {}), "page": str(page), "size": str(LIST_PAGE_SIZE)}
            response = await self.request("GET", path, endpoint=endpoint, params=query)
            if correlation_sink is not None and page == 0:
                correlation_sink.append(response.correlation_id)
            data = response.data
            if data is None:
                data = []
            if not isinstance(data, list):
                raise ApiBadResponse(f"GET {endpoint}", "expected a list in 'data'")
            items.extend(data)
            if page == 0 and enough is not None and enough(data):
                break
            paging = response.paging
            if paging is not None and paging.totalPages > 0:
                if page + 1 >= paging.totalPages:
                    break
            elif len(data) < LIST_PAGE_SIZE:
                break
            if not data:
                break
        return items

    async def request(
        self,
        method: str,
        path: str,
        *,
        endpoint: str,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
    ) -> ApiResponse:
        """One call with retries; raises the ``ApiError`` subclass that says what to do next."""
        call = f"{method} {endpoint}"
        content = None if json_body is None else json.dumps(json_body).encode()
        attempt = 0
        while True:
            attempt += 1
            retry = attempt > 1
            if self._limiter is not None:
                await self._limiter.acquire()
            try:
                response = await self._http.request(method, path, params=params, content=content)
            except httpx.TransportError as exc:
                self._observe(method, endpoint, None, retry)
                error = _transport_error(call, exc, method)
                final = not isinstance(error, ApiRetryable) or isinstance(error, ApiAmbiguous)
                if final or attempt >= self._retry.max_attempts:
                    raise error from None
                await self._backoff(call, attempt, None, str(error))
                continue
            self._observe(method, endpoint, response.status_code, retry)
            status = response.status_code
            if 200 <= status < 300:
                return _success(call, response)
            envelope = _error_envelope(response)
            if status == 429 or status >= 500:
                error = _status_error(call, response, envelope)
                if method in _WRITE_METHODS and status >= 500:
                    # The server may have stored it before failing: look before retrying.
                    raise ApiAmbiguous(
                        call,
                        error.message,
                        status=status,
                        code=error.code,
                        correlation_id=error.correlation_id,
                    )
                if attempt >= self._retry.max_attempts:
                    raise error
                await self._backoff(call, attempt, response, error.message)
                continue
            raise _status_error(call, response, envelope)

    def _observe(self, method: str, endpoint: str, status: int | None, retry: bool) -> None:
        for observer in self._observers:
            observer(method, endpoint, status, retry)

    async def _backoff(
        self, call: str, attempt: int, response: httpx.Response | None, reason: str
    ) -> None:
        delay = self._retry.delay(attempt, self._rng)
        if response is not None:
            retry_after = _retry_after(response)
            if retry_after is not None:
                delay = min(self._retry.max_retry_after, max(delay, retry_after))
        log.info("api.retry", call=call, attempt=attempt, delay_s=round(delay, 3), reason=reason)
        await self._sleep(delay)


# --------------------------------------------------------------------------- helpers
def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _success(call: str, response: httpx.Response) -> ApiResponse:
    if response.status_code == 204 or not response.content.strip():
        return ApiResponse(response.status_code, None, response.headers.get("X-Correlation-Id"))
    try:
        envelope = Envelope.model_validate_json(response.content)
    except ValidationError:
        raise ApiBadResponse(
            call,
            f"answered {response.status_code} with a body that is not the API's JSON envelope",
            status=response.status_code,
        ) from None
    return ApiResponse(
        response.status_code, envelope.data, envelope.meta.correlationId, envelope.meta.paging
    )


def _error_envelope(response: httpx.Response) -> Envelope | None:
    try:
        return Envelope.model_validate_json(response.content)
    except ValidationError:
        return None


def _status_error(call: str, response: httpx.Response, envelope: Envelope | None) -> ApiError:
    status = response.status_code
    first = envelope.errors[0] if envelope and envelope.errors else None
    code = first.code if first else None
    message = _one_line(first.message) if first and first.message else response.reason_phrase
    correlation = envelope.meta.correlationId if envelope else None
    kwargs: dict[str, Any] = {"status": status, "code": code, "correlation_id": correlation}
    if status == 401:
        hint = "check the API key (FAAS_API_KEY or --api-key-file)"
        return ApiAuthError(call, f"{message}; {hint}", **kwargs)
    if status == 403:
        hint = "the API key lacks a permission for this call (functions.package:write?)"
        return ApiForbidden(call, f"{message}; {hint}", **kwargs)
    if status == 404 or code == NOT_FOUND_CODE:
        return ApiNotFound(call, message, **kwargs)
    if status == 409:
        return ApiConflict(call, message, **kwargs)
    if status == 429 or status >= 500:
        return ApiRetryable(call, f"{message} (gave up after retries)", **kwargs)
    return ApiError(call, message, **kwargs)


def _transport_error(call: str, exc: httpx.TransportError, method: str) -> ApiError:
    """Sort transport failures: was the request possibly processed by the server?"""
    reason = _one_line(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    if isinstance(exc.__context__, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY" in reason:
        # An untrusted certificate does not become trusted on retry.
        return ApiError(call, f"TLS certificate not trusted ({reason}); pass --ca-bundle FILE")
    never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
    if method in _WRITE_METHODS and not never_sent:
        return ApiAmbiguous(call, f"no answer ({reason}); the write may have landed")
    return ApiRetryable(call, f"no answer ({reason})")


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP-date: rare enough that our own backoff is good enough


def _parse(model: type[_M], data: Any, call: str) -> _M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "data"
        raise ApiBadResponse(call, f"unexpected answer: {where}: {first['msg']}") from None


def _function_spec(item: _FunctionItem) -> FunctionSpec | None:
    if item.code is None:
        return None
    return FunctionSpec(
        name=item.name,
        type=item.type,
        code=item.code,
        language=item.language,
        sort_order=item.sortOrder,
        config=item.config or {},
    )


def _newest_first(items: list[Any]) -> bool:
    """Whether a page of revisions is really sorted by ``createdDttm``, newest first."""
    try:
        created = [datetime.fromisoformat(str(item["createdDttm"])) for item in items]
    except (KeyError, TypeError, ValueError):
        return False
    return len(created) > 1 and all(a >= b for a, b in itertools.pairwise(created))


def _embedded_functions(raw: list[dict[str, Any]] | None) -> tuple[FunctionSpec, ...] | None:
    """Functions embedded in a revision, or ``None`` when they are absent or lack code.

    A list item without code (or the docs' placeholder ``[{}]``) tells us nothing, so the
    caller fetches the revision itself rather than comparing against an empty set.
    """
    if not raw:
        return None
    specs: list[FunctionSpec] = []
    for item in raw:
        try:
            spec = _function_spec(_FunctionItem.model_validate(item))
        except ValidationError:
            return None
        if spec is None:
            return None
        specs.append(spec)
    return tuple(specs)
