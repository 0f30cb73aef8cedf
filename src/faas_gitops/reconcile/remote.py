"""Reading what the API holds for a package: its id, its revisions, the latest one's functions.

Reads only; the writer never starts before every package's remote state was read (and the whole
commit was read and checked), so a repository-wide problem still writes nothing.

``RemoteLookups`` holds the questions every stage may ask the API (list a package's revisions,
fetch a revision's functions, is some revision already holding these functions, which package
has this name): the read stage, the recovery of a killed run's creates and the writer each use
it, and none of them calls into another stage.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from faas_gitops.api import ApiClient
from faas_gitops.content import content_digest, stamp_of
from faas_gitops.errors import ApiNotFound, FaasGitopsError
from faas_gitops.models import DesiredPackage, FunctionSpec, RemotePackage, RemoteRevision
from faas_gitops.reconcile import plan as planning


@dataclass(frozen=True, slots=True)
class EarlierSync:
    """What revision ``revision_id`` holds, read from git before any question is asked.

    The git stage reads it from the tree a package directory had when the state dir last
    recorded it in sync with that very revision (a warm run's changed package: the diff needs
    the old functions, and git still has them). The reader uses it only when that revision is
    still the remote's latest.
    """

    revision_id: str
    functions: tuple[FunctionSpec, ...]


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


class RemoteLookups:
    """The API questions shared by the stages of one sync (see the module docstring).

    With ``verify_content`` (``--verify-content``, the drift resync) no content stamp is
    trusted: functions are fetched and compared.

    With ``keep_lists`` (the sync has a release stage), ``listed`` keeps the last revision list
    read of each package (by package id, without the functions' code), for the release stage:
    its items carry the running counters it needs, so it reads no list twice.
    """

    def __init__(
        self,
        api: ApiClient,
        cache: RevisionCache,
        *,
        verify_content: bool = False,
        keep_lists: bool = False,
    ):
        self.api = api
        self.cache = cache
        self.index = PackageIndex(api)
        self.verify_content = verify_content
        self.listed: dict[str, tuple[RemoteRevision, ...]] = {}
        self._keep_lists = keep_lists

    async def list_revisions(
        self, path: str, package_id: str, *, complete: bool = False
    ) -> tuple[list[RemoteRevision], str | None]:
        """The package's revisions; a 404 names the manifest to fix (``path``'s)."""
        try:
            revisions, correlation = await self.api.list_revisions(package_id, complete=complete)
        except ApiNotFound as exc:
            raise ApiNotFound(
                exc.call,
                f"packageId {package_id} does not exist for this API key; fix packageId in "
                f"{manifest_of(path)} or use 'name' with --create-packages",
                status=exc.status,
                code=exc.code,
                correlation_id=exc.correlation_id,
            ) from None
        if self._keep_lists:
            self.listed[package_id] = tuple(
                rev if rev.functions is None else replace(rev, functions=None) for rev in revisions
            )
        return revisions, correlation

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

    async def holds(self, revision: RemoteRevision, digest: str) -> bool:
        """Whether ``revision`` holds the functions whose content digest is ``digest``: its
        functions when the list gave them, else its stamp (unless ``verify_content``), else
        the fetched functions."""
        stamp = stamp_of(revision.description)
        if revision.functions is None and stamp is not None and not self.verify_content:
            return stamp == digest
        return content_digest(await self.functions_of(revision)) == digest

    async def holding(
        self,
        revisions: Sequence[RemoteRevision],
        functions: Sequence[FunctionSpec],
        *,
        named: str | None = None,
    ) -> RemoteRevision | None:
        """A revision that already holds exactly ``functions``: the one named ``named`` (the
        name this run tried), else the latest. Used to adopt instead of creating twice."""
        digest = content_digest(functions)
        candidates = [rev for rev in revisions if named is not None and rev.name == named]
        latest = planning.latest_revision(revisions)
        if latest is not None and latest not in candidates:
            candidates.append(latest)
        for revision in candidates:
            if stamp_of(revision.description) == digest and not self.verify_content:
                return revision
            if not planning.diff_functions(await self.functions_of(revision), functions):
                return revision
        return None


class RemoteReader:
    """The read stage: remote state for desired packages; one per sync, shared by its tasks.

    ``earlier`` (``EarlierSync``, read from git by the git stage) names what the latest revision
    holds when the state dir recorded that a package directory was in sync with exactly that
    revision: a changed package then needs no fetch of the revision it replaces. It is trusted
    as far as the warm shortcut is, so it is never used with ``verify_content``.
    """

    def __init__(self, lookups: RemoteLookups, *, create_packages: bool = False) -> None:
        self.lookups = lookups
        self._create_packages = create_packages

    async def read(
        self, desired: DesiredPackage, earlier: EarlierSync | None = None
    ) -> RemoteState:
        lookups = self.lookups
        package_id = await self.package_id(desired)
        if package_id is None:
            return RemoteState(package_id=None)
        revisions, correlation = await lookups.list_revisions(desired.path, package_id)
        latest = planning.latest_revision(revisions)
        functions = None
        if latest is not None and not self._trusted(latest, desired):
            functions = self._from_earlier_sync(latest, earlier)
            if functions is None:
                functions = await lookups.functions_of(latest)
        return RemoteState(package_id, tuple(revisions), functions, correlation)

    def _trusted(self, latest: RemoteRevision, desired: DesiredPackage) -> bool:
        """A stamp equal to the desired digest spares fetching the functions (unless told not
        to trust stamps: ``--verify-content`` and the daemon's drift resync)."""
        if self.lookups.verify_content or latest.functions is not None:
            return False
        return stamp_of(latest.description) == content_digest(desired.functions)

    def _from_earlier_sync(
        self, latest: RemoteRevision, earlier: EarlierSync | None
    ) -> tuple[FunctionSpec, ...] | None:
        """``earlier``'s functions when they are the latest revision's, and neither the list
        item nor the cache of fetched revisions has them (those are cheaper and never less
        sure)."""
        if earlier is None or self.lookups.verify_content or latest.functions is not None:
            return None
        if earlier.revision_id != latest.id or self.lookups.cache.get(latest.id) is not None:
            return None
        return earlier.functions

    async def package_id(self, desired: DesiredPackage) -> str | None:
        """The remote id: the manifest's ``packageId``, else the one package with that name."""
        if desired.package_id:
            return desired.package_id
        if desired.name is None:  # pragma: no cover - the manifest guarantees one of the two
            raise FaasGitopsError(f"{manifest_of(desired.path)}: needs packageId or name")
        matches = await self.lookups.index.find(desired.name)
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


def manifest_of(path: str) -> str:
    """The manifest file a person opens to fix a package."""
    return "package.yaml" if path in ("", ".") else f"{path}/package.yaml"
