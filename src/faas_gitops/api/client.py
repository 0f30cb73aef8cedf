"""The package and revision calls faas-gitops makes, in the rest of the code's own types.

Everything the public docs leave open is handled both ways here, so the rest of the code never
has to know: any 2xx is success (200 or 201 for creates, 204 or empty bodies for deletes), "not
found" is ``FAAS-1004`` with HTTP 400 *or* HTTP 404, list order is never trusted, and revision list
items may or may not embed function code.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from faas_gitops.api.envelope import (
    ApiResponse,
    FunctionItem,
    PackageItem,
    RevisionItem,
    envelope_of,
)
from faas_gitops.api.paging import ListStrategy
from faas_gitops.api.retry import PROBE_RETRY
from faas_gitops.api.session import ApiSession
from faas_gitops.errors import (
    ApiAmbiguous,
    ApiBadResponse,
    ApiUnreachable,
    ApiUntrustedCertificate,
    ApiUrlError,
)
from faas_gitops.models import FunctionSpec, RemotePackage, RemoteRevision
from faas_gitops.settings.base import DEFAULT_API_URL
from faas_gitops.wire import Call, faas_path, parse

PACKAGES = "/v2/faas/packages"
PACKAGE = "/v2/faas/packages/{id}"
PACKAGE_REVISIONS = "/v2/faas/packages/{id}/package-revisions"
REVISIONS = "/v2/faas/package-revisions"
REVISION = "/v2/faas/package-revisions/{id}"
REVISION_FUNCTIONS = "/v2/faas/package-revisions/{id}/functions"
NEWEST_FIRST = "createdDttm,DESC"
COMPLETE_PAGE_SIZE = 50
_PROBE_CONNECT_TIMEOUT = 2.0
_M = TypeVar("_M", bound=BaseModel)
_TRANSIENT = frozenset({429, 502, 503, 504})


class ApiClient(ApiSession):
    """The FaaS v2 calls faas-gitops makes, over one shared ``httpx.AsyncClient``.

    Build it with ``ApiClient.open(settings.api)``; tests pass ``transport=`` (an
    ``httpx.MockTransport`` or nothing, to talk to the emulator on loopback). The key lives only
    in the default headers of that client.
    """

    # ---- first contact --------------------------------------------------------------------
    async def probe(self) -> None:
        """Prove that ``--api-url`` is a FaaS API and the key works: the first call of a run.

        The package list exists at every correct base URL, so a 404 there, or an answer that is
        not the FaaS envelope, means the URL is wrong (``ApiUrlError``, a configuration error).
        No connection at all is ``ApiUnreachable``. Retries are few and short: a dead URL is
        told in about a second, once, instead of after the full budget per package.
        """
        call = f"GET {PACKAGES}"
        try:
            await self.request(
                Call("GET", PACKAGES, PACKAGES, {"page": "0", "size": "1"}),
                retry=PROBE_RETRY,
                timeout=httpx.Timeout(self._http.timeout.read, connect=_PROBE_CONNECT_TIMEOUT),
                vet=self._vet_probe_answer,
            )
        except ApiUnreachable as exc:
            raise ApiUnreachable(call, exc.message, url=self.base_url) from None
        except ApiUntrustedCertificate as exc:
            raise ApiUntrustedCertificate(call, exc.message, url=self.base_url) from None

    def _vet_probe_answer(self, response: httpx.Response) -> None:
        status = response.status_code
        if status in _TRANSIENT:
            return
        envelope = envelope_of(response)
        if status == 404:
            answer = f"answered {status} (not a FaaS API)"
        elif envelope is None:
            answer = f"answered {status} with a body that is not the FaaS JSON envelope"
        elif response.is_success and not isinstance(envelope.data, list):
            answer = f"answered {status} without the package list (not a FaaS API)"
        else:
            return
        raise ApiUrlError(
            self.base_url,
            f"GET {PACKAGES}",
            f"{answer}; check the URL (default {DEFAULT_API_URL})",
            status=status,
            correlation_id=envelope.meta.correlation_id if envelope else None,
        )

    # ---- packages -------------------------------------------------------------------------
    async def list_packages(self) -> list[RemotePackage]:
        listing = await self.listing(PACKAGES, endpoint=PACKAGES, noun="package list")
        return [
            parse(PackageItem, item, f"GET {PACKAGES}", cid).to_remote()
            for item, cid in listing.pairs()
        ]

    async def get_package(self, package_id: str) -> RemotePackage:
        response = await self.request(Call("GET", faas_path("packages", package_id), PACKAGE))
        return _parse_answer(PackageItem, response, f"GET {PACKAGE}").to_remote()

    async def create_package(
        self,
        *,
        name: str,
        description: str | None,
        revision_name: str,
        functions: Sequence[FunctionSpec],
    ) -> tuple[RemotePackage, str | None]:
        """Create a package with its initial revision (the API does both in one call).

        ``ApiAmbiguous`` when the package may exist anyway (no answer, a 5xx, an unreadable
        2xx): look it up by name before trying again.
        """
        body: dict[str, Any] = {
            "name": name,
            "description": description or "",
            "revisionName": revision_name,
            "functions": [fn.to_api() for fn in functions],
            "apiManaged": True,
        }
        response = await self.request(Call("POST", PACKAGES, PACKAGES, body=body))
        package = _parse_write(PackageItem, response, f"POST {PACKAGES}").to_remote()
        return package, response.correlation_id

    # ---- revisions ------------------------------------------------------------------------
    async def list_revisions(
        self,
        package_id: str,
        *,
        complete: bool = False,
        page_size: int | None = None,
        sort: str | None = NEWEST_FIRST,
        search: str | None = None,
    ) -> tuple[list[RemoteRevision], str | None]:
        """The revisions of a package, newest first when the server honours ``sort``.

        The order of a list is undocumented, so it is never trusted blindly: only when the first
        page really is sorted by ``createdDttm`` descending does it hold the latest revision,
        and the other pages are skipped (one request instead of one per 100 revisions). Any
        other order makes us read every page.

        ``complete=True`` is the second opinion after a 409 showed that a listing missed a
        name: it reads every page (50 at a time unless ``page_size`` says otherwise) and ignores
        ``meta.paging``, stopping only at an empty or short page. It guarantees that every
        revision the API's pages return is in the result, or an ``ApiInconsistentList`` if the
        pages repeat or never end; it cannot see a revision the API leaves out of every page.
        Returns the correlation id of the first page.
        """
        params: dict[str, str] = {}
        if sort:
            params["sort"] = sort
        if search:
            params["search"] = search
        strategy = ListStrategy(
            page_size=page_size or (COMPLETE_PAGE_SIZE if complete else ListStrategy().page_size),
            trust_paging=not complete,
        )
        listing = await self.listing(
            faas_path("packages", package_id, "package-revisions"),
            endpoint=PACKAGE_REVISIONS,
            params=params,
            noun="revision list",
            strategy=strategy,
            enough=None if complete or sort != NEWEST_FIRST else _newest_first,
        )
        call = f"GET {PACKAGE_REVISIONS}"
        revisions = [parse(RevisionItem, i, call, cid).to_remote() for i, cid in listing.pairs()]
        return revisions, listing.first_correlation_id

    async def get_revision(self, revision_id: str) -> RemoteRevision:
        """A revision with its functions; falls back to the functions list if code is missing."""
        response = await self.request(
            Call("GET", faas_path("package-revisions", revision_id), REVISION)
        )
        revision = _parse_answer(RevisionItem, response, f"GET {REVISION}").to_remote()
        if revision.functions is None:
            functions = await self.list_revision_functions(revision_id)
            revision = dataclasses.replace(revision, functions=functions)
        return revision

    async def list_revision_functions(self, revision_id: str) -> tuple[FunctionSpec, ...]:
        call = f"GET {REVISION_FUNCTIONS}"
        listing = await self.listing(
            faas_path("package-revisions", revision_id, "functions"),
            endpoint=REVISION_FUNCTIONS,
            noun="function list",
        )
        specs = [parse(FunctionItem, i, call, cid).to_spec() for i, cid in listing.pairs()]
        if any(spec is None for spec in specs):
            raise ApiBadResponse(
                call,
                "function items carry no code; cannot compare revisions",
                correlation_id=listing.first_correlation_id,
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
        """Create a revision; ``ApiAmbiguous`` when it may exist anyway (look, then retry)."""
        body = {
            "packageId": package_id,
            "name": name,
            "description": description,
            "functions": [fn.to_api() for fn in functions],
        }
        response = await self.request(Call("POST", REVISIONS, REVISIONS, body=body))
        revision = _parse_write(RevisionItem, response, f"POST {REVISIONS}").to_remote()
        return revision, response.correlation_id


def _parse_answer(model: type[_M], response: ApiResponse, call: str) -> _M:
    return parse(model, response.data, call, response.correlation_id)


def _parse_write(model: type[_M], response: ApiResponse, call: str) -> _M:
    """A write's 2xx that we cannot read still happened: ambiguous, with that answer's id."""
    try:
        return parse(model, response.data, call, response.correlation_id)
    except ApiBadResponse as exc:
        raise ApiAmbiguous(
            call,
            f"{exc.message}; the write may have landed",
            status=response.status,
            correlation_id=response.correlation_id,
        ) from None


def _newest_first(items: list[Any]) -> bool:
    """Whether a page of revisions is really sorted by ``createdDttm``, newest first."""
    try:
        created = [datetime.fromisoformat(str(item["createdDttm"])) for item in items]
    except (KeyError, TypeError, ValueError):
        return False
    return len(created) > 1 and all(a >= b for a, b in itertools.pairwise(created))
