"""The API's wire format: the ``data/meta/errors`` envelope, the items we read, their parsing.

Items are ``wire.WireModel``s: lenient (unknown fields ignored: a newer ``PubNub-Version`` may
add some) and read from the API's camelCase by one alias rule; everything past this module sees
``models`` types.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from pydantic import Field, ValidationError

from faas_gitops.models import DEFAULT_LANGUAGE, FunctionSpec, RemotePackage, RemoteRevision
from faas_gitops.wire import WireModel

CORRELATION_HEADER = "X-Correlation-Id"
_CORRELATION_IN_TEXT = re.compile(r'"correlationId"\s*:\s*"([^"\\]{1,200})"')


class Paging(WireModel):
    total_elements: int = 0
    total_pages: int = 0
    page_size: int = 0
    page_number: int = 0


class Meta(WireModel):
    correlation_id: str | None = None
    timestamp: str | None = None
    paging: Paging | None = None


class ErrorItem(WireModel):
    code: str = ""
    message: str = ""


class Envelope(WireModel):
    data: Any = None
    meta: Meta = Meta()
    errors: list[ErrorItem] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ApiResponse:
    """A successful answer: the envelope's ``data`` and the ``meta`` worth keeping."""

    status: int
    data: Any
    correlation_id: str | None
    paging: Paging | None = None


def envelope_of(response: httpx.Response) -> Envelope | None:
    """The envelope of an answer, or ``None`` when the body is not one (HTML, other JSON)."""
    try:
        raw = json.loads(response.content)
    except ValueError:
        return None
    if not isinstance(raw, dict) or not ({"meta", "errors"} & raw.keys()):
        return None
    try:
        return Envelope.model_validate(raw)
    except ValidationError:
        return None


def correlation_of(response: httpx.Response) -> str | None:
    """The answer's correlation id from its header, its envelope, or even a truncated body."""
    header: str | None = response.headers.get(CORRELATION_HEADER)
    if header:
        return header
    match = _CORRELATION_IN_TEXT.search(response.content.decode("utf-8", "replace"))
    return match.group(1) if match else None


class FunctionItem(WireModel):
    name: str
    type: str
    language: str = DEFAULT_LANGUAGE
    sort_order: int = 0
    code: str | None = None
    config: dict[str, Any] | None = None

    def to_spec(self) -> FunctionSpec | None:
        """``None`` when the item carries no code: it cannot be compared with git."""
        if self.code is None:
            return None
        return FunctionSpec(
            name=self.name,
            type=self.type,
            code=self.code,
            language=self.language,
            sort_order=self.sort_order,
            config=self.config or {},
        )


class RevisionItem(WireModel):
    id: str
    package_id: str
    name: str
    description: str | None = None
    created_dttm: datetime
    # Raw: list items may carry placeholders (``[{}]`` in the docs) or omit code.
    functions: list[dict[str, Any]] | None = None
    package_deployments_running: int | None = None
    package_deployments_total: int | None = None

    def to_remote(self) -> RemoteRevision:
        return RemoteRevision(
            id=self.id,
            package_id=self.package_id,
            name=self.name,
            created=self.created_dttm,
            description=self.description,
            functions=embedded_functions(self.functions),
            running=self.package_deployments_running,
            total=self.package_deployments_total,
        )


class PackageItem(WireModel):
    id: str
    name: str
    description: str | None = None

    def to_remote(self) -> RemotePackage:
        return RemotePackage(self.id, self.name, self.description)


def embedded_functions(raw: list[dict[str, Any]] | None) -> tuple[FunctionSpec, ...] | None:
    """Functions embedded in a revision, or ``None`` when they are absent or lack code.

    A list item without code (or the docs' placeholder ``[{}]``) tells us nothing, so the
    caller fetches the revision itself rather than comparing against an empty set.
    """
    if not raw:
        return None
    specs: list[FunctionSpec] = []
    for item in raw:
        try:
            spec = FunctionItem.model_validate(item).to_spec()
        except ValidationError:
            return None
        if spec is None:
            return None
        specs.append(spec)
    return tuple(specs)
