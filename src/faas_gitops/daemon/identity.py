"""What a sync depends on in git, so the daemon can tell "already synced" from "changed".

A sync's outcome is decided by more than the synced commit: the tags on it pick the
environments (``tags: ["v*"]`` deploys a tagged commit to production), the branch HEAD is on
picks others, and the environment policy is read from the tip of a configuration branch
(``--config-ref``, default the repository's default branch). ``watched_identity`` gathers all of
that in one comparable value; a watch or poll wake-up whose identity equals the last successful
sync's does nothing, any difference (a tag on an already-synced commit, a moved config branch)
syncs. ``resolve_watched`` also keeps the commit it resolved: a wake-up resolves its ref once,
and the sync syncs that very commit.

The same module answers two more questions the loop asks when a sync starts, from the same
reads: how many deployments the sync may make at most (its ``/healthz`` deadline depends on
it) and whether HEAD is on a branch no environment lists (``BranchAdvisor``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import structlog

from faas_gitops.errors import ConfigError, SourceError
from faas_gitops.models import CommitInfo
from faas_gitops.settings import Settings
from faas_gitops.source import Repository
from faas_gitops.source.environments import EnvironmentsConfig, active_environments
from faas_gitops.source.policy import default_config_ref, load_environments

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class WatchedIdentity:
    """Everything in git a sync's outcome depends on; equal identities sync to the same result.

    ``commit`` is None when the ref does not resolve (the sync itself will then say why);
    ``config_commit`` is None when no configuration branch resolves.
    """

    commit: str | None
    tags: tuple[str, ...] = ()
    branch: str | None = None
    config_commit: str | None = None


def config_commit(repository: Repository, config_ref: str | None) -> str | None:
    """The commit the environment policy is read from: ``config_ref``'s, else the default
    branch's, found by the same rule the sync reads the policy with (``default_config_ref``);
    None when nothing resolves."""
    ref = config_ref or default_config_ref(repository)
    return None if ref is None else repository.rev_parse(ref)


@dataclass(frozen=True, slots=True)
class Resolved:
    """One wake-up's reading of git: the ref resolved once, and the identity built on it.

    ``commit`` is what the sync then syncs (it is not resolved again); ``None`` with ``error``
    (git's one line) when the ref does not resolve.
    """

    identity: WatchedIdentity
    commit: CommitInfo | None = None
    error: str | None = None

    def to_sync(self) -> CommitInfo:
        """The commit to sync; ``SourceError`` with git's own line when the ref did not
        resolve (what the sync would have said, had it resolved the ref again)."""
        if self.commit is None:
            raise SourceError(self.error or "the ref does not resolve")
        return self.commit


def resolve_watched(repository: Repository, settings: Settings) -> Resolved:
    """Resolve ``settings.git.ref`` once and read what a sync of it depends on (blocking git).

    Cheap enough for every wake-up: a ``rev-parse``, a ``for-each-ref --points-at`` and one
    ``rev-parse`` per configuration ref tried.
    """
    ref = settings.git.ref or "HEAD"
    config_ref = settings.deploy.config_ref
    try:
        commit = repository.resolve(ref)
    except SourceError as exc:
        identity = WatchedIdentity(None, config_commit=config_commit(repository, config_ref))
        return Resolved(identity, None, str(exc))
    identity = WatchedIdentity(
        commit=commit.sha,
        tags=commit.tags,
        branch=repository.branch_of(settings.git.ref),
        config_commit=config_commit(repository, config_ref),
    )
    return Resolved(identity, commit)


def named_by_new_tag(
    commit: CommitInfo, identity: WatchedIdentity, last: WatchedIdentity | None
) -> CommitInfo:
    """``commit`` named by the tag that woke the daemon, when one did: the last sync was of
    this very commit and the commit has gained a tag since (``v1.2`` pushed on the synced
    ``main``), so this sync is that tag's release and its records and messages say ``v1.2``.
    Otherwise ``commit`` as resolved (its branch)."""
    if last is None or last.commit != identity.commit or last.commit != commit.sha:
        return commit
    new = [tag for tag in commit.tags if tag not in last.tags]  # highest version first
    return replace(commit, name=new[0]) if new else commit


def watched_identity(repository: Repository, settings: Settings) -> WatchedIdentity:
    """The identity of what a sync of ``settings.git.ref`` would read right now."""
    return resolve_watched(repository, settings).identity


def environment_configs(
    repository: Repository, identity: WatchedIdentity, path: str
) -> list[EnvironmentsConfig]:
    """``faas-gitops.yaml`` of the configuration commit and of the synced commit, those present.

    Both, because which of them a sync reads a given key from is the deployment stage's
    business; the loop only needs upper bounds and "is this branch listed anywhere". A file
    that cannot be read or parsed counts as absent here: the sync reports it with one line.
    """
    configs: list[EnvironmentsConfig] = []
    for sha in dict.fromkeys((identity.config_commit, identity.commit)):
        if sha is None:
            continue
        try:
            config = load_environments(repository, sha, path)
        except (ConfigError, SourceError):
            continue
        if config is not None:
            configs.append(config)
    return configs


@dataclass(frozen=True, slots=True)
class DeployScope:
    """At most how many packages and environments this sync's deployment stage acts on."""

    packages: int = 0
    environments: int = 0


def deploy_scope(
    repository: Repository,
    identity: WatchedIdentity,
    settings: Settings,
    configs: Sequence[EnvironmentsConfig],
) -> DeployScope:
    """Upper bounds, known before the sync starts, of what its deployment stage may do.

    The package directories in the synced commit, and the environments defined in ``configs``
    (``environment_configs``: the larger count of the two files, or the number of
    ``--environment`` names given). With ``--prune`` the packages removed since are acted on
    too; the caller counts those. No environments: nothing to deploy, and no tree is walked.
    """
    if identity.commit is None:
        return DeployScope()
    defined = max((len(config.environments) for config in configs), default=0)
    names = len(settings.deploy.environments)
    environments = min(defined, names) if names else defined
    if environments == 0:
        return DeployScope()
    try:
        refs = repository.package_refs(
            identity.commit, settings.git.path, settings.limits, check_total=False
        )
    except SourceError:
        return DeployScope()  # the sync fails on the same error, long before any deadline
    return DeployScope(len(refs), environments)


class BranchAdvisor:
    """Warns once per branch when the daemon follows HEAD onto a branch no environment lists.

    ``--ref HEAD`` (the default) of a working clone syncs whatever branch is checked out: an
    unmerged feature branch gets revisions (and deployments wherever its tags match). That is
    worth one ``daemon.branch_not_deployed`` warning with the way out, not one per wake-up.
    """

    def __init__(self) -> None:
        self._warned: set[str] = set()

    def check(
        self,
        identity: WatchedIdentity,
        settings: Settings,
        configs: Sequence[EnvironmentsConfig],
    ) -> bool:
        """True when it warned now; ``configs`` as ``environment_configs`` returns them."""
        branch = identity.branch
        if (
            branch is None
            or branch in self._warned
            or settings.git.ref not in (None, "HEAD")
            or settings.deploy.environments
        ):
            return False
        if not configs:
            return False  # no environments at all: nothing is deployed anywhere, by design
        if any(active_environments(config, branch=branch, tags=()) for config in configs):
            return False
        self._warned.add(branch)
        log.warning(
            "daemon.branch_not_deployed",
            branch=branch,
            commit=identity.commit,
            detail=f"HEAD is on branch {branch}, which no environment in faas-gitops.yaml "
            "lists: its commits get revisions but no branch deployment; pass --ref BRANCH "
            "(the branch you deploy, e.g. --ref main) to follow that branch instead of HEAD",
        )
        return True


__all__ = [
    "BranchAdvisor",
    "DeployScope",
    "Resolved",
    "WatchedIdentity",
    "config_commit",
    "deploy_scope",
    "environment_configs",
    "resolve_watched",
    "watched_identity",
]
