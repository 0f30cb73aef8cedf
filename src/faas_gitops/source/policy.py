"""Where the environment policy is read: ``faas-gitops.yaml`` from a commit, or from the tip of
the configuration branch.

The policy (keysets, freezes, windows, owner) is read from the tip of a configuration branch
(``--config-ref``, default the repository's default branch), not from the commit being synced:
a tag cut before a freeze must still see today's freeze (``load_policy``). ``load_environments``
reads it from any one commit. What the file may say is ``environments``' business.
"""

from __future__ import annotations

from faas_gitops.errors import ConfigError, SourceError
from faas_gitops.models import CommitInfo
from faas_gitops.source.environments import (
    CONFIG_NAME,
    MAX_CONFIG_BYTES,
    EnvironmentsConfig,
    parse_environments,
)
from faas_gitops.source.repository import Repository
from faas_gitops.source.walk import normalise_path
from faas_gitops.source.yaml_loader import shown


def load_environments(
    repository: Repository, commit: CommitInfo | str, path: str = ""
) -> EnvironmentsConfig | None:
    """``faas-gitops.yaml`` at the root of ``path`` in the commit; None when there is none."""
    return _load(repository, commit, path, where=None)


def _load(
    repository: Repository, commit: CommitInfo | str, path: str, where: str | None
) -> EnvironmentsConfig | None:
    root = normalise_path(path)
    file = f"{root}/{CONFIG_NAME}" if root else CONFIG_NAME
    try:
        data = repository.read_file(commit, file, MAX_CONFIG_BYTES)
    except SourceError as exc:  # a link or a directory where the file should be, too big
        raise ConfigError(str(exc)) from None
    if data is None:
        return None
    # Read from a configuration branch, the message says which one holds the line to fix.
    return parse_environments(data, file if where is None else f"{file} on {where}")


# -- the configuration branch -----------------------------------------------------------------

SYNCED_COMMIT = "the synced commit"
# Tried in this order after origin's HEAD (and a bare mirror's own HEAD): the remote-tracking
# branch first, as it is what the server holds; a local one may not be pushed yet.
_DEFAULT_BRANCHES = (
    "refs/remotes/origin/main",
    "refs/heads/main",
    "refs/remotes/origin/master",
    "refs/heads/master",
)


def _short(full: str) -> str:
    return full.removeprefix("refs/heads/").removeprefix("refs/remotes/")


def _default_branch(repository: Repository) -> str | None:
    """The full ref of the repository's default branch that exists here, or None."""
    candidates: list[str] = []
    origin_head = repository.symbolic_target("refs/remotes/origin/HEAD")
    if origin_head is not None:
        candidates.append(origin_head)
    if repository.is_bare:
        # A --repo URL's mirror (``clone --mirror``) has no remote-tracking refs: its branches
        # are the remote's, and its HEAD is the remote's default branch.
        head = repository.symbolic_target("HEAD")
        if head is not None:
            candidates.append(head)
    candidates.extend(_DEFAULT_BRANCHES)
    for full in candidates:
        if full.startswith(("refs/heads/", "refs/remotes/")) and repository.rev_parse(full):
            return full
    return None


def default_config_ref(repository: Repository) -> str | None:
    """Where the policy is read without ``--config-ref``: the default branch's short name.

    origin's HEAD (``refs/remotes/origin/HEAD`` -> ``origin/main``), a mirror's HEAD, else a
    remote-tracking or local ``main``, else ``master``; None when none of them exists (a
    git-sync worktree that fetched only a commit).
    """
    full = _default_branch(repository)
    return None if full is None else _short(full)


def load_policy(
    repository: Repository,
    commit: CommitInfo | str,
    path: str,
    config_ref: str | None,
) -> tuple[EnvironmentsConfig | None, str]:
    """The environment policy and where it was read (``"main@1a2b3c4d5e6f"``).

    From the tip of ``config_ref`` when given (``--config-ref``; a name that does not resolve
    is a ConfigError), else of the default branch (``default_config_ref``), so a tag cut
    before a freeze still sees today's freeze. Only a repository without any default branch
    falls back to the synced ``commit`` (``"the synced commit"``). A branch without the file
    means no environment, as a commit without it does.
    """
    if config_ref is not None:
        sha = repository.rev_parse(config_ref)
        if sha is None:
            raise ConfigError(
                f"--config-ref {shown(config_ref)}: not found in the repository (no such "
                "branch, tag or commit); fetch that branch or fix the name"
            )
        where = f"{config_ref}@{sha[:12]}"
    else:
        full = _default_branch(repository)
        sha = None if full is None else repository.rev_parse(full)
        if full is None or sha is None:
            return _load(repository, commit, path, where=None), SYNCED_COMMIT
        where = f"{_short(full)}@{sha[:12]}"
    return _load(repository, sha, path, where=where), where


__all__ = ["SYNCED_COMMIT", "default_config_ref", "load_environments", "load_policy"]
