"""Frozen value types that flow through the pipeline: desired state, remote state, plan, outcome.

They hold no behaviour that touches the outside world, so ``planning`` can be a pure function of
them and tests can build them by hand. Dataclasses (not pydantic) because a 1,000-package sync
builds tens of thousands of them and validation already happened at the edges.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

DEFAULT_LANGUAGE = "JAVASCRIPT"

# The API's vocabulary, shared by the manifest schema and the emulator's validation. Only
# BEFORE_PUBLISH and JAVASCRIPT appear literally in the docs; the other types are the trigger
# names of the docs' prose (REFERENCE.md §6).
FUNCTION_TYPES: tuple[str, ...] = (
    "BEFORE_PUBLISH",
    "AFTER_PUBLISH",
    "BEFORE_PUBLISH_FILE",
    "AFTER_PUBLISH_FILE",
    "BEFORE_SIGNAL",
    "AFTER_SIGNAL",
    "AFTER_PRESENCE",
    "ON_INTERVAL",
    "ON_REQUEST",
    "SUBSCRIBE_ON_INTERVAL",
)
LANGUAGES: tuple[str, ...] = (DEFAULT_LANGUAGE,)


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    """One function as the API stores it; the fields ``plan()`` compares, and nothing else."""

    name: str
    type: str
    code: str
    language: str = DEFAULT_LANGUAGE
    sort_order: int = 0
    config: Mapping[str, Any] = field(default_factory=dict)

    def to_api(self) -> dict[str, Any]:
        """The function item of a create-revision body (field names as the API spells them)."""
        return {
            "name": self.name,
            "type": self.type,
            "language": self.language,
            "sortOrder": self.sort_order,
            "code": self.code,
            "config": dict(self.config),
        }


@dataclass(frozen=True, slots=True)
class CommitInfo:
    """The commit being synced: what revision names and descriptions are made of.

    ``name`` is the branch or tag the commit was reached by (``main``, ``v1.2``), found where
    the ref is resolved (``Repository.resolve``); ``ref`` is what every record and message
    calls the synced ref, so none of them says ``HEAD`` when a name is known.
    """

    sha: str
    subject: str
    tags: tuple[str, ...] = ()
    name: str = ""

    @property
    def ref(self) -> str:
        """The branch or tag name; without one (a detached HEAD, a bare sha), the short commit."""
        return self.name or self.sha[:12]


@dataclass(frozen=True, slots=True)
class DesiredPackage:
    """A package as the commit says it should be.

    ``path`` is the package directory relative to the repository root (POSIX, ``.`` for the
    root itself); ``tree_id`` is git's tree id of that directory, which changes whenever any file
    below it does, so an unchanged package can be recognised without reading its files.
    """

    path: str
    package_id: str | None
    name: str | None
    description: str | None
    functions: tuple[FunctionSpec, ...]
    tree_id: str = ""
    # ``environments`` in package.yaml: where this package may be deployed (``None``: every
    # environment of faas-gitops.yaml); ``pins``: environment -> revision name to run there.
    environments: tuple[str, ...] | None = None
    pins: tuple[tuple[str, str], ...] = ()

    @property
    def label(self) -> str:
        """How a person recognises the package in output: its id, else its name."""
        return self.package_id or self.name or self.path


@dataclass(frozen=True, slots=True)
class PackageFailure:
    """A package directory that could not be read into a ``DesiredPackage`` (bad manifest...)."""

    path: str
    error: str
    package_id: str | None = None


@dataclass(frozen=True, slots=True)
class RemotePackage:
    id: str
    name: str
    description: str | None = None


@dataclass(frozen=True, slots=True)
class RemoteRevision:
    """A package revision as listed or fetched: what both stages read of it.

    ``functions`` is ``None`` when the answer did not embed function code (list items may not:
    the docs are silent), meaning "unknown", never "empty". ``running`` and ``total`` are the
    API's counters of its deployments (``packageDeploymentsRunning``, ``...Total``), ``None``
    when the answer did not carry them ("unknown": list its deployments to know).
    """

    id: str
    package_id: str
    name: str
    created: datetime
    description: str | None = None
    functions: tuple[FunctionSpec, ...] | None = None
    running: int | None = None
    total: int | None = None


@dataclass(frozen=True, slots=True)
class PlannedRevisions:
    """A package the revision stage planned, with the revision list the API gave for it: what
    the release stage's reads ahead start from (``reconcile.stages`` -> ``deploy.ahead``).

    ``revision_id``: the revision the commit wants when it already exists (in sync), ``None``
    when the write stage is yet to create it. ``digest``: the content digest the revision stage
    planned with (``None``: not known), so a plan made ahead compares content without hashing
    the package again.
    """

    desired: DesiredPackage
    package_id: str
    revisions: tuple[RemoteRevision, ...]
    revision_id: str | None
    digest: str | None = None


class ChangeKind(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    MODIFIED = "modified"


@dataclass(frozen=True, slots=True)
class FunctionChange:
    """How one function differs between the latest remote revision and the commit."""

    function: str
    change: ChangeKind
    before: FunctionSpec | None = None
    after: FunctionSpec | None = None


class Action(StrEnum):
    CREATE = "create"
    NOOP = "noop"


@dataclass(frozen=True, slots=True)
class PackagePlan:
    """What to do for one package; computed by ``planning.plan_package`` without any I/O."""

    package: DesiredPackage
    remote_package_id: str
    action: Action
    revision_name: str
    description: str
    changes: tuple[FunctionChange, ...] = ()
    latest_revision_id: str | None = None
    digest: str = ""  # content digest of the desired functions (the stamp, the journal)


class Status(StrEnum):
    """A package's outcome in one run (a sync, a promotion, a rollback).

    ``created``: this run's create got an answer naming the new revision. ``adopted``: this run
    (or a killed one) tried to create, and the revision with the desired functions turned out to
    exist (a lost answer, a 409 race, another replica); only ``created`` counts as a creation.
    ``unchanged``: the latest revision already holds the commit's package (or ``promote`` left
    the package alone). ``promoted``/``rolled-back``: ``promote``/``rollback`` acted on the
    package, creating no revision; what each environment got is its deployments' status.
    ``removed``: the commit no longer holds the package, which is still known to run somewhere
    (its deployments say where: ``orphaned``, ``pruned``...); never counted as ``unchanged``.
    """

    CREATED = "created"
    ADOPTED = "adopted"
    UNCHANGED = "unchanged"
    WOULD_CREATE = "would-create"
    PROMOTED = "promoted"
    ROLLED_BACK = "rolled-back"
    REMOVED = "removed"
    FAILED = "failed"


#: Statuses of a package whose revisions this run left as they were: the rows ``history``
#: hides in a sync in which nothing happened.
NO_NEW_REVISION = frozenset({Status.UNCHANGED, Status.PROMOTED, Status.ROLLED_BACK, Status.REMOVED})

#: Statuses after which the package's latest revision is its commit's: the daemon's memory for
#: telling drift (a change made by hand) from a change of the commit.
IN_SYNC = frozenset(
    {Status.CREATED, Status.ADOPTED, Status.UNCHANGED, Status.PROMOTED, Status.ROLLED_BACK}
)


class DeployStatus(StrEnum):
    """A package's outcome on one environment (keyset) in one sync.

    ``frozen``: a change is due but the environment's policy (``frozen:``, a window) forbids it;
    ``held``: a rollback holds what runs; ``skipped``: promote left it alone (restricted,
    pinned); ``orphaned``: the commit no longer declares the package (or no environment names
    the keyset) but it still runs there; ``would-prune``/``pruned``: ``--prune`` stops it.
    """

    DEPLOYED = "deployed"
    IN_SYNC = "in-sync"
    WOULD_DEPLOY = "would-deploy"
    WOULD_PRUNE = "would-prune"
    FROZEN = "frozen"
    HELD = "held"
    SKIPPED = "skipped"
    PRUNED = "pruned"
    ORPHANED = "orphaned"
    FAILED = "failed"


#: Statuses after which ``revision_*`` is what runs there (the others leave ``previous_*``).
_RUNS_DESIRED = frozenset({DeployStatus.DEPLOYED, DeployStatus.IN_SYNC})


@dataclass(frozen=True, slots=True)
class DeploymentOutcome:
    """What the deployment stage did for one package on one environment.

    ``previous_*`` name what ran there before (the rolled-over deployment), for the
    ``staging: v1.3.0 -> v1.4.0 deployed`` line; ``correlation_id`` is that of the last write.
    """

    environment: str
    keyset_id: int
    status: DeployStatus
    revision_name: str | None = None
    revision_id: str | None = None
    deployment_id: str | None = None
    previous_deployment_id: str | None = None
    previous_revision_name: str | None = None
    correlation_id: str | None = None
    error: str | None = None
    note: str | None = None  # the human reason of a frozen, held, skipped or orphaned status
    pinned: bool = False  # a pin in package.yaml chose the revision

    @property
    def running_revision_name(self) -> str | None:
        """What runs there after this outcome, as last read from the API (never the wish)."""
        if self.status in _RUNS_DESIRED:
            return self.revision_name
        if self.status is DeployStatus.PRUNED:
            return None
        return self.previous_revision_name

    @property
    def running_deployment_id(self) -> str | None:
        if self.status in _RUNS_DESIRED:
            return self.deployment_id
        if self.status is DeployStatus.PRUNED:
            return None
        return self.previous_deployment_id


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of syncing one package: what the ledger records and the report prints."""

    path: str
    status: Status
    package_id: str | None = None
    revision_name: str | None = None
    revision_id: str | None = None
    correlation_id: str | None = None
    changes: tuple[FunctionChange, ...] = ()
    error: str | None = None
    name: str | None = None  # the manifest's ``name``, for people
    # The correlation ID of the GET (or 409) that found an adopted revision; never reported as
    # ``correlation_id``, which is only ever that of the answer to our own create.
    lookup_correlation_id: str | None = None
    deployments: tuple[DeploymentOutcome, ...] = ()


@dataclass(frozen=True, slots=True)
class SyncResult:
    """One whole sync: the commit, and an outcome per package (sorted by path)."""

    commit: str
    ref: str
    dry_run: bool
    outcomes: tuple[Outcome, ...]
    started_at: datetime
    finished_at: datetime
    fatal_error: str | None = None
    notes: tuple[str, ...] = ()  # for people, after the table (e.g. a tag on a synced commit)

    @property
    def summary(self) -> dict[str, int]:
        counts = {status.value: 0 for status in Status}
        for outcome in self.outcomes:
            counts[outcome.status.value] += 1
        counts["total"] = len(self.outcomes)
        return counts

    @property
    def ok(self) -> bool:
        return self.fatal_error is None and all(
            outcome.status is not Status.FAILED
            and all(d.status is not DeployStatus.FAILED for d in outcome.deployments)
            for outcome in self.outcomes
        )

    @property
    def failure_line(self) -> str:
        """One line for a run that did not end well, the same for readiness, the page and the
        ``recovered`` event: the fatal error, else only what did fail (never ``0 ...``)."""
        if self.fatal_error is not None:
            return self.fatal_error
        packages = sum(1 for o in self.outcomes if o.status is Status.FAILED)
        deployments = sum(
            1 for o in self.outcomes for d in o.deployments if d.status is DeployStatus.FAILED
        )
        parts = [f"{packages} package(s) failed"] if packages else []
        parts += [f"{deployments} deployment(s) failed"] if deployments else []
        return "; ".join(parts) or "the sync failed"


@dataclass(frozen=True, slots=True)
class PackageRef:
    """A package directory found in a commit's tree, before anything in it is read.

    Cheap to list (trees only), so a sync can tell unchanged packages by ``(path, tree_id)``
    and read only the others. ``commit`` is the sha the directory was found in (error messages
    name it); ``size`` is the bytes of every file below the directory, from blob headers;
    ``nested_in`` is the path of the package this one sits inside (such a package fails).
    """

    path: str
    tree_id: str
    commit: str
    size: int = 0
    nested_in: str | None = None
