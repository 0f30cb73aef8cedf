"""One pooled HTTP session to the API: built once, rate-limited, retried, observed.

``ApiSession.open()`` is the one place that builds the ``httpx.AsyncClient`` (base URL, the
documented headers, a pool the size of the run's concurrency, timeout, TLS verification) and
closes it; tests inject a transport instead of a client. Every call goes through ``request``,
which maps whatever httpx raises or the server answers to the ``ApiError`` that says what the
caller should do next.
"""

from __future__ import annotations

import asyncio
import json
import random
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Self

import httpx
import structlog

from faas_gitops.api.envelope import ApiResponse, correlation_of, envelope_of
from faas_gitops.api.failures import WRITE_METHODS, status_error, transport_error
from faas_gitops.api.paging import DEFAULT_STRATEGY, Listing, ListStrategy, read_pages
from faas_gitops.api.retry import RateLimiter, RetryPolicy
from faas_gitops.errors import ApiAmbiguous, ApiBadResponse, ApiError, ApiRetryable
from faas_gitops.settings.base import DEFAULT_API_VERSION
from faas_gitops.wire import Call

if TYPE_CHECKING:
    from faas_gitops.settings import ApiSettings

log = structlog.get_logger(__name__)

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


def build_http_client(
    *,
    base_url: str,
    api_key: str,
    api_version: str = DEFAULT_API_VERSION,
    concurrency: int = 8,
    timeout: float = 30.0,
    verify: ssl.SSLContext | bool = True,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """One pooled, keep-alive client: its connection pool is the concurrency of the run.

    A plain-``http://`` API (the emulator, a sidecar proxy) never needs TLS, since redirects
    are not followed: it gets a context that trusts no CA at all instead of loading the system
    bundle, which costs 0.1-0.2 s of every run's start-up (and would fail any TLS it met).
    """
    if verify is True and base_url.lower().startswith("http://"):
        verify = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies, and trusts nothing
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
        transport=transport,
    )


class ApiSession:
    """The request machinery the ``ApiClient`` calls are written on."""

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

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        settings: ApiSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        observers: Sequence[Observer] = (),
        retry: RetryPolicy | None = None,
    ) -> AsyncIterator[Self]:
        """The run's client, its pool and its rate limiter; all closed when the block ends."""
        http = build_http_client(
            base_url=settings.url,
            api_key=settings.key.get_secret_value(),
            api_version=settings.version,
            concurrency=settings.concurrency,
            timeout=settings.timeout,
            verify=settings.tls_verify(),
            transport=transport,
        )
        limiter = RateLimiter(settings.max_rps) if settings.max_rps else None
        async with http:
            yield cls(http, retry=retry, rate_limiter=limiter, observers=observers)

    build_http_client = staticmethod(build_http_client)

    @property
    def base_url(self) -> str:
        """The API URL as the user gave it, without any credentials: safe in an error line."""
        url = self._http.base_url.copy_with(username=None, password=None)
        return str(url).rstrip("/")

    async def request(
        self,
        call: Call,
        *,
        retry: RetryPolicy | None = None,
        timeout: httpx.Timeout | None = None,  # noqa: ASYNC109 - httpx's per-request timeout
        vet: Callable[[httpx.Response], None] | None = None,
    ) -> ApiResponse:
        """One call with retries; raises the ``ApiError`` subclass that says what to do next.

        ``retry`` overrides the session's policy for this call (the first call of a run keeps
        its retries short); reads are retried on 429, 5xx and transport failures, writes only
        when the request provably never left. ``vet`` sees every answer first and may raise
        (the probe's "this is not a FaaS API").
        """
        policy = retry or self._retry
        method, endpoint, label = call.method, call.endpoint, call.label
        content = None if call.body is None else json.dumps(call.body).encode()
        extra: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        attempt = 0
        while True:
            attempt += 1
            if self._limiter is not None:
                await self._limiter.acquire()
            try:
                response = await self._http.request(
                    method, call.path, params=call.params, content=content, **extra
                )
            except httpx.TransportError as exc:
                self._observe(method, endpoint, None, attempt > 1)
                error = transport_error(label, method, exc)
                if not _retryable(error) or attempt >= policy.max_attempts:
                    raise _final(error, attempt) from None
                await self._backoff(policy, label, attempt, None, error.message)
                continue
            self._observe(method, endpoint, response.status_code, attempt > 1)
            if vet is not None:
                vet(response)
            if response.is_success:
                return success(label, method, response)
            error = status_error(label, method, response, envelope_of(response))
            if not _retryable(error) or attempt >= policy.max_attempts:
                raise _final(error, attempt)
            await self._backoff(policy, label, attempt, response, error.message)

    async def listing(
        self,
        path: str,
        *,
        endpoint: str,
        params: Mapping[str, str] | None = None,
        noun: str = "list",
        strategy: ListStrategy = DEFAULT_STRATEGY,
        enough: Callable[[list[Any]], bool] | None = None,
    ) -> Listing:
        """Every page of a paged list, read as ``strategy`` says (see ``paging.read_pages``)."""

        async def fetch(page: int, size: int) -> ApiResponse:
            query = {**(params or {}), "page": str(page), "size": str(size)}
            return await self.request(Call("GET", path, endpoint, query))

        return await read_pages(
            fetch, f"GET {endpoint}", noun=noun, strategy=strategy, enough=enough
        )

    def _observe(self, method: str, endpoint: str, status: int | None, retry: bool) -> None:
        for observer in self._observers:
            observer(method, endpoint, status, retry)

    async def _backoff(
        self,
        policy: RetryPolicy,
        call: str,
        attempt: int,
        response: httpx.Response | None,
        reason: str,
    ) -> None:
        delay = policy.wait_for(attempt, self._rng, response)
        log.info("api.retry", call=call, attempt=attempt, delay_s=round(delay, 3), reason=reason)
        await self._sleep(delay)


def success(call: str, method: str, response: httpx.Response) -> ApiResponse:
    """A 2xx as data; a write's unreadable 2xx is ambiguous (it happened, we cannot tell how)."""
    if response.status_code == 204 or not response.content.strip():
        return ApiResponse(response.status_code, None, correlation_of(response))
    envelope = envelope_of(response)
    if envelope is None:
        kind = ApiAmbiguous if method in WRITE_METHODS else ApiBadResponse
        raise kind(
            call,
            f"answered {response.status_code} with a body that is not the API's JSON envelope",
            status=response.status_code,
            correlation_id=correlation_of(response),
        )
    correlation = envelope.meta.correlation_id or correlation_of(response)
    return ApiResponse(response.status_code, envelope.data, correlation, envelope.meta.paging)


def _retryable(error: ApiError) -> bool:
    """Only failures that may pass on their own; an ambiguous write is the caller's to settle."""
    return isinstance(error, ApiRetryable) and not isinstance(error, ApiAmbiguous)


def _final(error: ApiError, attempts: int) -> ApiError:
    """The error to raise; a retryable one says that retrying was tried."""
    if not _retryable(error):
        return error
    return type(error)(
        error.call,
        f"{error.message} (gave up after {attempts} {'try' if attempts == 1 else 'tries'})",
        status=error.status,
        code=error.code,
        correlation_id=error.correlation_id,
    )
