"""The FaaS API's calls, paths and answer items, for code that must not depend on an HTTP client.

``api`` (httpx) and ``deploy`` (written over any ``Requester``) both describe calls, build paths
and parse answer items; keeping those rules here means there is one way to say what a call
sends, one way to encode an id and one way to name a malformed answer, without ``deploy``
importing httpx.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

from faas_gitops.errors import ApiBadResponse

FAAS_ROOT = "/v2/faas"

_M = TypeVar("_M", bound=BaseModel)


class WireModel(BaseModel):
    """An item as the API spells it: fields are declared in Python's spelling and read from
    the API's camelCase (``sort_order`` from ``sortOrder``), so the spelling is one rule here
    rather than a name to get right, and silence a linter for, in every field.

    Unknown fields are ignored: the API may add fields in a newer ``PubNub-Version``.
    Validators are built on first use (``defer_build``): a sync that never touches
    deployments or limits never pays for their models at start-up."""

    model_config = ConfigDict(extra="ignore", defer_build=True, alias_generator=to_camel)


@dataclass(frozen=True, slots=True)
class Call:
    """One request to the API: what ``ApiSession.request`` sends, and what a ``Requester`` of
    the deployment stage is handed.

    ``endpoint`` is the path's template (``/v2/faas/packages/{id}``): errors, logs and metrics
    name the call by it, never by an id. ``params`` is the query; ``body`` is sent as JSON
    unless ``None``.
    """

    method: str
    path: str
    endpoint: str
    params: Mapping[str, str] | None = None
    body: Any = None

    @property
    def label(self) -> str:
        """``GET /v2/faas/packages/{id}``: how an error line names the call."""
        return f"{self.method} {self.endpoint}"


def faas_path(*segments: str) -> str:
    """``/v2/faas/<segment>/...`` with every segment percent-encoded, dots and slashes included.

    Ids come from manifests and from answers; encoded, ``../../x`` or ``a?size=1`` stay one
    segment inside ``/v2/faas`` instead of walking out of it or injecting a query.
    """
    encoded = []
    for segment in segments:
        if not segment:
            raise ValueError("an empty path segment (an id) cannot go into a URL")
        encoded.append(quote(segment, safe="").replace(".", "%2E"))
    return "/".join([FAAS_ROOT, *encoded])


def parse(model: type[_M], data: Any, call: str, correlation_id: str | None = None) -> _M:
    """``data`` as ``model``, or ``ApiBadResponse`` naming the call and the first bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "data"
        raise ApiBadResponse(
            call, f"unexpected answer: {where}: {first['msg']}", correlation_id=correlation_id
        ) from None
