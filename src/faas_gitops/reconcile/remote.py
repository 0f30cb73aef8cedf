"""Reading what the API holds for a package: its id, its revisions, the latest one's functions.

Reads only; the writer never starts before every package's remote state was read (and the whole
commit was read and checked), so a repository-wide problem still writes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from faas_gitops.api import ApiClient
from faas_gitops.errors import ApiNotFound, FaasGitopsError
from faas_gitops.models import DesiredPackage, FunctionSpec, RemotePackage, RemoteRevision
from faas_gitops.reconcile import plan as planning

#: The functions a revision is known to hold without asking the API (see ``RemoteReader``).
EarlierContent = Callable[
    [DesiredPackage, RemoteRevision], Awaitable[tuple[FunctionSpec, ...] | None]
]


class RevisionCache(Protocol):
    """Functions of revisions by id. Revisions are immutable, so an entry never goes stale."""

    def get(self, revision_id: str) -> tuple[FunctionSpec, ...] | None: ...

    def put(self, revision_id: str, functions: Sequence[FunctionSpec]) -> None: ...


@dataclass(frozen=True, slots=True)
class RemoteState:
    """What the API holds for one desired package.

    ``package_id`` is ``None`` when no remote package has the manifest's name (only reachable
    with ``--create-packages``). ``latest_functions`` is ``None`` when there is no revision, or
    when the latest revision's content stamp vouches that it equals the desired functions.
    """

    package_id: str | None
    revisions: tuple[RemoteRevision, ...] = ()
    latest_functions: tuple[FunctionSpec, ...] | None = None
    lookup_correlation_id: str | None = None


class PackageIndex:
    """All remote packages by name, listed once per run and only if some manifest needs it."""

    def __init__(self, api: ApiClient) -> None:
        self._api = api
        self._lock = asyncio.Lock()
        self._by_name: dict[str, list[RemotePackage]] | None = None

    async def find(self, name: str, *, fresh: bool = False) -> list[RemotePackage]:
        """Packages with that exact name; ``fresh`` lists again (after an ambiguous create)."""
        async with self._lock:
            if self._by_name is None or fresh:
                by_name: dict[str, list[RemotePackage]] = {}
                for package in await self._api.list_packages():
                    by_name.setdefault(package.name, []).append(package)
                self._by_name = by_name
            return list(self._by_name.get(name, ()))

    async def add(self, package: RemotePackage) -> None:
        async with self._lock:
            if self._by_name is not None and package not in self._by_name.get(package.name, []):
                self._by_name.setdefault(package.name, []).append(package)


class RemoteReader:
    """Reads remote state for desired packages; one per sync, shared by its tasks.

    ``earlier`` may name, from git, what the latest revision holds when the state dir recorded
    that a package directory was in sync with exactly that revision: a changed package then
    needs no fetch of the revision it replaces. It is trusted as far as the warm shortcut is,
    so it is never consulted with ``verify_content`` (``--verify-content``, the drift resync).
    """

    def __init__(
        self,
        api: ApiClient,
        cache: RevisionCache,
        *,
        create_packages: bool = False,
        verify_content: bool = False,
        earlier: EarlierContent | None = None,
    ) -> None:
        self.api = api
        self.cache = cache
        self.index = PackageIndex(api)
        self._create_packages = create_packages
        self._verify_content = verify_content
        self._earlier = None if verify_content else earlier

    async def read(self, desired: DesiredPackage) -> RemoteState:
        package_id = await self.package_id(desired)
        if package_id is None:
            return RemoteState(package_id=None)
        revisions, correlation = await self.list_revisions(desired, package_id)
        latest = planning.latest_revision(revisions)
        functions = None
        if latest is not None and not self._trusted(latest, desired):
            functions = await self._from_earlier_sync(latest, desired)
            if functions is None:
                functions = await self.functions_of(latest)
        return RemoteState(package_id, tuple(revisions), functions, correlation)

    def _trusted(self, latest: RemoteRevision, desired: DesiredPackage) -> bool:
        """A stamp equal to the desired digest spares fetching the functions (unless told not
        to trust stamps: ``--verify-content`` and the daemon's drift resync)."""
        if self._verify_content or latest.functions is not None:
            return False
        return planning.stamp_of(latest.description) == planning.content_digest(desired.functions)

    async def _from_earlier_sync(
        self, latest: RemoteRevision, desired: DesiredPackage
    ) -> tuple[FunctionSpec, ...] | None:
        """``earlier``'s answer, asked only when neither the list item nor the cache of
        fetched revisions has the functions (those are cheaper and never less sure)."""
        if self._earlier is None or latest.functions is not None:
            return None
        if self.cache.get(latest.id) is not None:
            return None
        return await self._earlier(desired, latest)

    async def package_id(self, desired: DesiredPackage) -> str | None:
        """The remote id: the manifest's ``packageId``, else the one package with that name."""
        if desired.package_id:
            return desired.package_id
        if desired.name is None:  # pragma: no cover - the manifest guarantees one of the two
            raise FaasGitopsError(f"{manifest_of(desired.path)}: needs packageId or name")
        matches = await self.index.find(desired.name)
        if len(matches) > 1:
            ids = ", ".join(sorted(pkg.id for pkg in matches))
            raise FaasGitopsError(
                f"{manifest_of(desired.path)}: name: {len(matches)} remote packages are named "
                f"{desired.name!r} ({ids}); set packageId to pick one"
            )
        if matches:
            return matches[0].id
        if not self._create_packages:
            raise FaasGitopsError(
                f"{manifest_of(desired.path)}: name: no remote package is named "
                f"{desired.name!r}; create it, set packageId, or run with --create-packages"
            )
        return None

    async def list_revisions(
        self, desired: DesiredPackage, package_id: str, *, complete: bool = False
    ) -> tuple[list[RemoteRevision], str | None]:
        try:
            return await self.api.list_revisions(package_id, complete=complete)
        except ApiNotFound as exc:
            raise ApiNotFound(
                exc.call,
                f"packageId {package_id} does not exist for this API key; fix packageId in "
                f"{manifest_of(desired.path)} or use 'name' with --create-packages",
                status=exc.status,
                code=exc.code,
                correlation_id=exc.correlation_id,
            ) from None

    async def functions_of(self, revision: RemoteRevision) -> tuple[FunctionSpec, ...]:
        if revision.functions is not None:
            self.cache.put(revision.id, revision.functions)
            return revision.functions
        cached = self.cache.get(revision.id)
        if cached is not None:
            return cached
        full = await self.api.get_revision(revision.id)
        functions = full.functions or ()
        self.cache.put(revision.id, functions)
        return functions

    async def holding(
        self,
        revisions: Sequence[RemoteRevision],
        functions: Sequence[FunctionSpec],
        *,
        named: str | None = None,
    ) -> RemoteRevision | None:
        """A revision that already holds exactly ``functions``: the one named ``named`` (the
        name this run tried), else the latest. Used to adopt instead of creating twice."""
        digest = planning.content_digest(functions)
        candidates = [rev for rev in revisions if named is not None and rev.name == named]
        latest = planning.latest_revision(revisions)
        if latest is not None and latest not in candidates:
            candidates.append(latest)
        for revision in candidates:
            if planning.stamp_of(revision.description) == digest and not self._verify_content:
                return revision
            if not planning.diff_functions(await self.functions_of(revision), functions):
                return revision
        return None


def manifest_of(path: str) -> str:
    """The manifest file a person opens to fix a package."""
    return "package.yaml" if path in ("", ".") else f"{path}/package.yaml"
