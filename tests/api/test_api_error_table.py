"""Every documented code, status and httpx failure has a row in the boundary's mapping."""

from __future__ import annotations

import inspect

import httpx
import pytest

from faas_gitops.api.failures import TRANSPORT_ERRORS, error_class
from faas_gitops.errors import (
    ApiAuthError,
    ApiConflict,
    ApiDeploymentFailed,
    ApiError,
    ApiForbidden,
    ApiNotFound,
    ApiRetryable,
    ApiTransitional,
)

# REFERENCE §4: every code of the docs' error table with its status, and what it must become.
DOCUMENTED = [
    ("FAAS-400", 400, ApiError),
    ("FAAS-403", 403, ApiForbidden),
    ("FAAS-405", 405, ApiError),
    ("FAAS-406", 406, ApiError),
    ("FAAS-409", 409, ApiConflict),
    ("FAAS-415", 415, ApiError),
    ("FAAS-500", 500, ApiRetryable),
    ("FAAS-1000", 400, ApiError),
    ("FAAS-1001", 401, ApiAuthError),
    ("FAAS-1002", 401, ApiAuthError),
    ("FAAS-1003", 400, ApiError),
    ("FAAS-1004", 400, ApiNotFound),
    ("FAAS-1004", 404, ApiNotFound),
    ("FAAS-404", 404, ApiNotFound),
    ("FAAS-1005", 422, ApiError),
    ("FAAS-1006", 422, ApiError),
    ("FAAS-1007", 400, ApiError),
    ("FAAS-1008", 423, ApiTransitional),
    ("FAAS-1009", 423, ApiTransitional),
    ("FAAS-1010", 409, ApiConflict),
    ("FAAS-1011", 409, ApiConflict),
    ("FAAS-1012", 500, ApiDeploymentFailed),
    ("FAAS-1013", 500, ApiDeploymentFailed),
    ("FAAS-1014", 409, ApiConflict),
    ("FAAS-1015", 409, ApiConflict),
    ("FAAS-1016", 409, ApiConflict),
    ("FAAS-1017", 409, ApiConflict),
    ("FAAS-1018", 400, ApiError),
    ("FAAS-1019", 400, ApiError),
    ("FAAS-1020", 400, ApiError),
    ("FAAS-1021", 400, ApiError),
    ("FAAS-1022", 400, ApiError),
    ("FAAS-1023", 400, ApiError),
    ("FAAS-1024", 500, ApiRetryable),
    ("FAAS-1025", 401, ApiAuthError),
]


@pytest.mark.parametrize(("code", "status", "expected"), DOCUMENTED)
def test_every_documented_code_maps_to_the_error_that_says_what_to_do(
    code: str, status: int, expected: type[ApiError]
) -> None:
    assert error_class(status, code) is expected


def test_a_429_or_an_unknown_5xx_without_a_code_is_retryable() -> None:
    assert error_class(429, None) is ApiRetryable
    assert error_class(599, None) is ApiRetryable
    assert error_class(418, None) is ApiError


def test_every_httpx_transport_error_has_a_row() -> None:
    classes = {
        cls
        for _, cls in inspect.getmembers(httpx, inspect.isclass)
        if issubclass(cls, httpx.TransportError)
    }
    assert classes - TRANSPORT_ERRORS.keys() == set()
    assert set(TRANSPORT_ERRORS.values()) <= {"never-sent", "unanswered"}
