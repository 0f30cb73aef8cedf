"""The FaaS v2 admin API client: the only code that speaks HTTP to PubNub.

``envelope`` knows the wire format, ``failures`` maps what goes wrong to ``errors``, ``retry``
decides when to try again, ``paging`` reads lists completely (or fails loudly), ``session``
owns the pooled HTTP client, and ``client`` holds the package and revision calls (the
deployment calls are ``faas_gitops.deploy.api``, written over this client's ``request`` and
``listing``).
"""

from faas_gitops.api.client import ApiClient
from faas_gitops.api.envelope import ApiResponse
from faas_gitops.api.paging import LIST_PAGE_SIZE, MAX_PAGES, ListStrategy
from faas_gitops.api.retry import PROBE_RETRY, RateLimiter, RetryPolicy
from faas_gitops.api.session import Observer, RequestStats
from faas_gitops.settings.base import DEFAULT_API_URL, DEFAULT_API_VERSION
from faas_gitops.wire import faas_path

__all__ = [
    "DEFAULT_API_URL",
    "DEFAULT_API_VERSION",
    "LIST_PAGE_SIZE",
    "MAX_PAGES",
    "PROBE_RETRY",
    "ApiClient",
    "ApiResponse",
    "ListStrategy",
    "Observer",
    "RateLimiter",
    "RequestStats",
    "RetryPolicy",
    "faas_path",
]
