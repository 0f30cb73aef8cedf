"""What runs for a package, on which keysets: the reads the deployment plan is made of.

The API has no "deployments of a package on a keyset" query. The revision list counts each
revision's running deployments (``packageDeploymentsRunning``), so only revisions that run
somewhere have their deployments listed (5.12: one list per revision, every keyset at once).

The revision list is read once per run: the revision stage's read is handed over (``listed``)
when it has one, else it is read here. What a read of the deployments found is remembered
(``KnownDeployments``: the state dir) with the counters it was read under, every revision's
``(running, total)``; a later run whose list shows the same counters trusts it instead of
listing again (``trust``). Any deployment stopped, started, created or replaced by hand changes
a counter, so the package is read again. Remembered views only ever plan writes-free outcomes:
the stage reads again before anything is written (``deploy/stage.py``).

A sync reads ahead (``deploy/ahead.py``): the deployment lists a read would make are listed
(``lists_to_read``, the one decision both use) while the revision stage still runs, and handed
to the first read as ``ReadAhead``; that read lists only what is missing from it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from faas_gitops.content import stamp_of
from faas_gitops.deploy import api as deploy_api
from faas_gitops.deploy.api import Deployment, Requester
from faas_gitops.deploy.plan import RevisionRef
from faas_gitops.deploy.writer import Timing
from faas_gitops.errors import ApiError
from faas_gitops.models import RemoteRevision

#: ``(revision id, running, total)`` of every revision with deployments, sorted by id.
Counters = tuple[tuple[str, int, int], ...]


@dataclass(frozen=True, slots=True)
class Remembered:
    """What one read of a package's deployments found, and the counters it was read under.

    ``listed``: the revisions whose deployments were listed; a later run that needs another
    one listed (the revision it now wants has a stopped deployment) reads again. ``settled``
    is false for what a run wrote (``after_writes``): never trusted, only a hint of which
    revisions to list on the next read (one of them may be stopping, uncounted).
    """

    counters: Counters
    listed: frozenset[str]
    deployments: tuple[Deployment, ...]
    settled: bool = True

    @classmethod
    def after_writes(cls, deployments: Sequence[Deployment]) -> Remembered:
        """What a run's writes left running: a hint for the next read, never trusted."""
        return cls((), frozenset(), tuple(deployments), settled=False)

    def hints(self, revisions: Sequence[RemoteRevision]) -> set[str]:
        """Revisions to list besides the running ones when this memory is not trusted: those
        whose counters changed since (a deployment created, stopped, starting), and those
        remembered running or in flight (one stopping is counted as running by no one)."""
        before = {rid: (running, total) for rid, running, total in self.counters}
        active = {d.revision_id for d in self.deployments if d.running or d.in_transition}
        return {
            rev.id
            for rev in revisions
            if rev.total != 0
            and (rev.id in active or before.get(rev.id, (0, 0)) != (rev.running, rev.total))
        }

    def to_json(self) -> str:
        return json.dumps(
            {
                "counters": [list(c) for c in self.counters],
                "listed": sorted(self.listed),
                "deployments": [
                    [d.id, d.revision_id, d.keyset_id, d.state, d.updated] for d in self.deployments
                ],
                "settled": self.settled,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> Remembered | None:
        """The remembered view, or ``None`` if ``text`` is not one (then the package is read)."""
        try:
            data = json.loads(text)
            return cls(
                tuple((str(r), int(n), int(t)) for r, n, t in data["counters"]),
                frozenset(str(r) for r in data["listed"]),
                tuple(
                    Deployment(str(i), str(r), int(k), str(s), str(u))
                    for i, r, k, s, u in data["deployments"]
                ),
                bool(data.get("settled", True)),
            )
        except (ValueError, TypeError, KeyError):
            return None


class KnownDeployments(Protocol):
    """Remembered reads of deployments per package id, e.g. in the state dir."""

    def recall(self, package_id: str) -> Remembered | None: ...
    def keep(self, package_id: str, remembered: Remembered | None) -> None: ...


#: In ``observe_package``'s ``also``: list the deployments of every revision that has any.
EVERY_DEPLOYED = "*"


@dataclass(frozen=True, slots=True)
class ReadAhead:
    """One package's deployment lists, read while the revision stage ran: by revision id.

    ``error`` is what that read raised: the package's first read raises it as its own (that
    package fails, as it would have had the stage read the lists itself; the others go on).
    """

    lists: Mapping[str, tuple[Deployment, ...]] = field(default_factory=dict)
    error: ApiError | None = None


def lists_to_read(
    revisions: Sequence[RemoteRevision],
    also: Collection[str],
    recalled: Remembered | None,
    *,
    trust: bool,
) -> set[str] | None:
    """The revisions whose deployments a read of ``revisions`` lists, or ``None`` when what is
    remembered is trusted instead (``trust``, settled, the same counters, nothing more wanted).

    The one decision of ``observe_package`` and of the reads made ahead, so a read ahead never
    lists what the stage would not (the request counts are the same, only earlier).
    """
    wanted = _to_list(revisions, also)
    if recalled is None:
        return wanted
    if (
        trust
        and recalled.settled
        and recalled.counters == _counters(revisions)
        and wanted <= recalled.listed
    ):
        return None
    return wanted | recalled.hints(revisions)


@dataclass(frozen=True, slots=True)
class PackageView:
    """A package's revisions and every deployment known of its running revisions.

    ``listing`` is the revision list it was made of (to read the deployments again without
    listing the revisions twice); ``remembered`` says the deployments came from memory.
    """

    package_id: str
    revisions: tuple[RevisionRef, ...]
    deployments: tuple[Deployment, ...]
    listing: tuple[RemoteRevision, ...] = ()
    remembered: bool = False

    def on(self, keyset_id: int) -> tuple[Deployment, ...]:
        return tuple(d for d in self.deployments if d.keyset_id == keyset_id)

    def running_on(self, keyset_id: int) -> tuple[Deployment, ...]:
        return tuple(sorted((d for d in self.on(keyset_id) if d.running), key=lambda d: d.id))

    def name_of(self, revision_id: str) -> str | None:
        return next((r.name for r in self.revisions if r.id == revision_id), None)

    def digest_of(self, revision_id: str) -> str | None:
        return next((r.digest for r in self.revisions if r.id == revision_id), None)

    def in_transition_on(self, keysets: Collection[int]) -> tuple[Deployment, ...]:
        return tuple(d for d in self.deployments if d.keyset_id in keysets and d.in_transition)

    def active_keysets(self) -> list[int]:
        """Keysets where something of the package runs or is starting."""
        return sorted({d.keyset_id for d in self.deployments if d.running or d.in_transition})


async def observe_package(
    api: Requester,
    package_id: str,
    keysets: Collection[int],
    known: KnownDeployments | None = None,
    also: Collection[str] = (),
    *,
    listed: Sequence[RemoteRevision] | None = None,
    trust: bool = False,
    ahead: ReadAhead | None = None,
) -> PackageView:
    """Read what runs for ``package_id``; raises ``ApiError`` when a read fails.

    ``also``: revisions (the one the commit wants) whose deployments are listed whenever they
    have any, running or not: one STARTING is not counted as running by the API, and a run
    must see it in flight rather than start a second one. ``EVERY_DEPLOYED`` in ``also``:
    every revision that has deployments (a removed package: its only deployment may be one
    that is still starting, and a prune must not miss it).

    ``listed``: the package's complete revision list, already read this run (not read again).
    ``known``: what is read is remembered there, unless something is starting or stopping on
    ``keysets``; with ``trust`` a remembered read is used instead of listing deployments when
    the list's counters are the ones it was read under (no request at all).
    ``ahead``: deployment lists already read this run (``ReadAhead``): only the others are
    listed; its error is raised if anything is to be listed.
    """
    if listed is None:
        listed, _ = await api.list_revisions(package_id, sort=None)  # every page, any order
    revisions = tuple(listed)
    recalled = known.recall(package_id) if known is not None else None
    wanted = lists_to_read(revisions, also, recalled, trust=trust)
    if wanted is None and recalled is not None:
        return remembered_view(package_id, revisions, recalled)
    wanted = wanted or set()
    if ahead is not None and ahead.error is not None and wanted:
        raise ahead.error
    by_revision: dict[str, Sequence[Deployment]] = dict(ahead.lists) if ahead is not None else {}
    missing = sorted(wanted - by_revision.keys())
    fetched = await asyncio.gather(
        *(deploy_api.list_revision_deployments(api, rev_id) for rev_id in missing)
    )
    by_revision.update(zip(missing, fetched, strict=True))
    view = view_of(package_id, revisions, wanted, by_revision)
    if known is not None:
        keep = to_remember(view, wanted, keysets)
        if keep is not None:
            known.keep(package_id, keep)
    return view


def view_of(
    package_id: str,
    revisions: tuple[RemoteRevision, ...],
    wanted: Collection[str],
    lists: Mapping[str, Sequence[Deployment]],
) -> PackageView:
    """The view a read makes of ``revisions`` and the deployment lists of ``wanted`` (all in
    ``lists``): pure, so the reads ahead build the very view the stage would (``ahead.py``)."""
    found = {d.id: d for rev_id in sorted(wanted) for d in lists[rev_id]}
    return PackageView(package_id, _refs(revisions), tuple(found.values()), revisions)


def remembered_view(
    package_id: str, revisions: tuple[RemoteRevision, ...], recalled: Remembered
) -> PackageView:
    """The view of a package whose remembered deployments are trusted (no list read)."""
    return PackageView(
        package_id, _refs(revisions), recalled.deployments, revisions, remembered=True
    )


def to_remember(
    view: PackageView, wanted: Collection[str], keysets: Collection[int]
) -> Remembered | None:
    """What a read that made ``view`` leaves in ``KnownDeployments``: ``None`` (nothing) when
    something is starting or stopping on ``keysets`` or the list lacks a counter."""
    counters = _counters(view.listing)
    if counters is None or view.in_transition_on(keysets):
        return None
    return Remembered(counters, frozenset(wanted), view.deployments)


def _refs(revisions: Sequence[RemoteRevision]) -> tuple[RevisionRef, ...]:
    return tuple(RevisionRef(rev.id, rev.name, stamp_of(rev.description)) for rev in revisions)


def _to_list(revisions: Sequence[RemoteRevision], also: Collection[str]) -> set[str]:
    """The revisions whose deployments a read lists: those running (or of unknown count),
    and those of ``also`` that have any deployment."""
    wanted = set()
    for rev in revisions:
        if rev.running == 0:
            if (rev.id in also or EVERY_DEPLOYED in also) and rev.total != 0:
                wanted.add(rev.id)
            continue
        wanted.add(rev.id)
    return wanted


def _counters(revisions: Sequence[RemoteRevision]) -> Counters | None:
    """Every revision's ``(running, total)`` where it has deployments; ``None`` when the list
    lacks a counter (nothing can then be trusted)."""
    found = []
    for rev in revisions:
        if rev.running is None or rev.total is None:
            return None
        if rev.running or rev.total:
            found.append((rev.id, rev.running, rev.total))
    return tuple(sorted(found))


async def observe_settled(
    api: Requester,
    package_id: str,
    keysets: Collection[int],
    known: KnownDeployments | None,
    timing: Timing,
    *,
    also: Collection[str] = (),
    listed: Sequence[RemoteRevision] | None = None,
    trust: bool = False,
    ahead: ReadAhead | None = None,
) -> PackageView:
    """``observe_package``, read again until nothing of the package is starting or stopping on
    ``keysets`` (or ``timing``'s deploy timeout passes: then the view with the transition is
    returned and the plan says ``wait``). A run never plans over a deployment in flight.

    ``listed``, ``trust`` and ``ahead`` apply to the first read only: a read after a wait
    reads it all.
    """
    pacer = timing.pacer()
    view = await observe_package(
        api, package_id, keysets, known, also, listed=listed, trust=trust, ahead=ahead
    )
    while view.in_transition_on(keysets) and await pacer.pause():
        view = await observe_package(api, package_id, keysets, known, also)
    return view
