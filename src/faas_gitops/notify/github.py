"""GitHub commit statuses: ``pending`` when a sync of a commit starts, then what it ended as.

``faas-gitops`` is the sync as a whole; once deployments exist each environment gets its own
context ``faas-gitops/<environment>``, so a branch protection rule can require "staging is
green". A status is claimed by commit + context + state + description: a daemon re-syncing the
same commit every minute posts nothing new until something changes (GitHub keeps at most 1,000
statuses per commit and context).

The final state, for an environment and for the whole sync alike, is the worst of:

- ``failure``: the run exits 1 (a package or a deployment failed) or stopped (``sync-failed``);
  an environment: one of its deployments failed.
- ``pending``: the commit did not ship everywhere git says it should, and no one has to fix
  anything for it to ship later: a deployment ``frozen`` (a change freeze) or ``held`` (a
  rollback holds what runs). The description starts with the freeze's or the hold's note.
  Never ``success`` for a release that did not ship; it turns ``success`` when a later sync of
  the same commit deploys it.
- ``success`` otherwise (``orphaned`` rows, packages the commit no longer holds, are left out:
  they say nothing about this commit, and their environment may be ``keyset:<id>``).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from urllib.parse import quote

from faas_gitops.errors import ConfigError
from faas_gitops.models import DeploymentOutcome, DeployStatus, Status, SyncResult
from faas_gitops.notify.outgoing import (
    DELIVERY_HEADER,
    USER_AGENT,
    Claim,
    Finished,
    Outgoing,
    delivery_id,
)
from faas_gitops.notify.secrets import mask_url
from faas_gitops.state.sent import Queued

DEFAULT_API_URL = "https://api.github.com"
CONTEXT = "faas-gitops"
MAX_DESCRIPTION = 140  # GitHub refuses longer descriptions
_OWNER_REPO = re.compile(r"^([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)$")
_SHA = re.compile(r"^[0-9a-fA-F]{7,64}$")


def parse_repo(repo: str) -> tuple[str, str]:
    """``OWNER/NAME`` -> (owner, name); ``ConfigError`` naming the flag otherwise."""
    match = _OWNER_REPO.match(repo.strip())
    if not match or match.group(2) in (".", ".."):
        raise ConfigError(f"--github-repo {repo!r} is not OWNER/NAME (for example acme/functions)")
    return match.group(1), match.group(2)


def clip(text: str, limit: int = MAX_DESCRIPTION) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class GitHubStatusTarget:
    """Posts ``/repos/{owner}/{repo}/statuses/{sha}`` with a Bearer token (never shown)."""

    kind = "github"

    def __init__(
        self,
        repo: str,
        token: bytes | str,
        api_url: str = DEFAULT_API_URL,
        public_url: str | None = None,
    ) -> None:
        self._owner, self._name = parse_repo(repo)
        self._token = token.decode() if isinstance(token, bytes) else token
        self._api_url = api_url.rstrip("/")
        self._public_url = public_url
        self.ident = f"github:{self._owner}/{self._name}"
        # Environments given a ``pending`` per commit, so a sync that dies before deploying
        # still resolves them (a pending status would otherwise block a protected branch).
        self._pending_envs: dict[str, tuple[str, ...]] = {}

    def __repr__(self) -> str:
        return f"GitHubStatusTarget({self._owner}/{self._name}, {mask_url(self._api_url)!r})"

    def started(
        self, commit: str, ref: str, environments: Sequence[str], claim: Claim
    ) -> list[Outgoing]:
        envs = tuple(sorted(set(environments)))
        self._pending_envs[commit] = envs
        while len(self._pending_envs) > 64:
            del self._pending_envs[next(iter(self._pending_envs))]
        contexts = [CONTEXT, *(f"{CONTEXT}/{env}" for env in envs)]
        return [
            request
            for context in contexts
            if (request := self._status(commit, context, "pending", f"syncing {ref}", claim))
        ]

    def finished(self, sync: Finished, claim: Claim) -> list[Outgoing]:
        if sync.result is None:
            state, description = "failure", f"sync failed: {sync.error or 'unknown error'}"
            environments: dict[str, tuple[str, str]] = {}
        else:
            state, description = overall(sync.result)
            environments = per_environment(sync.result)
        for env in self._pending_envs.pop(sync.commit, ()):
            if env not in environments:  # started pending, and nothing happened there
                environments[env] = (
                    ("failure", description) if state == "failure" else ("success", "no changes")
                )
        statuses = [(CONTEXT, state, description)]
        statuses += [(f"{CONTEXT}/{env}", *s) for env, s in sorted(environments.items())]
        return [
            request
            for context, state, description in statuses
            if (request := self._status(sync.commit, context, state, description, claim))
        ]

    def _status(
        self, commit: str, context: str, state: str, description: str, claim: Claim
    ) -> Outgoing | None:
        if not _SHA.match(commit):
            return None  # not a commit GitHub could know (a dry run of a working tree...)
        description = clip(description)
        key = f"{self.ident}|status|{commit}|{context}|{state}|{description}"
        if not claim(key):
            return None
        path = (
            f"/repos/{quote(self._owner, safe='')}/{quote(self._name, safe='')}"
            f"/statuses/{quote(commit, safe='')}"
        )
        document = {"state": state, "context": context, "description": description}
        if self._public_url:
            document["target_url"] = self._public_url
        queued = Queued(
            delivery_id=delivery_id(key),
            target=self.ident,
            kind=self.kind,
            what=f"status {state} {context}",
            body=json.dumps(document).encode(),
            headers={
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                DELIVERY_HEADER: delivery_id(key),
            },
            suffix=path,
            order=f"{self.ident}|{commit}|{context}",
        )
        return self.redeliver(queued)

    def redeliver(self, queued: Queued) -> Outgoing:
        """The status POST with this run's token (never stored) around the queued letter."""
        return Outgoing(
            queued,
            url=self._api_url + queued.suffix,
            shown_url=mask_url(self._api_url) + queued.suffix,
            credentials={"Authorization": f"Bearer {self._token}"},
        )


#: Deployment statuses that leave the commit not shipped there, with nothing to fix: pending.
NOT_SHIPPED = (DeployStatus.FROZEN, DeployStatus.HELD)


def overall(result: SyncResult) -> tuple[str, str]:
    """State and description of the ``faas-gitops`` context (``2 created, 9 unchanged``; then
    ``; 1 deploy failed, 1 frozen`` when deployments failed or did not ship)."""
    if result.fatal_error is not None:
        return "failure", f"sync failed: {result.fatal_error}"
    counts = Counter(outcome.status for outcome in result.outcomes)
    order = (
        Status.CREATED,
        Status.ADOPTED,
        Status.WOULD_CREATE,
        Status.PROMOTED,
        Status.ROLLED_BACK,
        Status.REMOVED,
        Status.FAILED,
        Status.UNCHANGED,
    )
    parts = [f"{counts[s]} {s.value.replace('-', ' ')}" for s in order if counts[s]]
    description = ", ".join(parts) or "no packages"
    deployments = Counter(d.status for d in _release_rows(result))
    unusual = [
        f"{deployments[s]} {'deploy failed' if s is DeployStatus.FAILED else s.value}"
        for s in (DeployStatus.FAILED, *NOT_SHIPPED)
        if deployments[s]
    ]
    if unusual:
        description += "; " + ", ".join(unusual)
    if result.dry_run:
        description = "dry run: " + description
    if not result.ok:  # exactly when the run exits 1
        return "failure", description
    return ("pending" if any(deployments[s] for s in NOT_SHIPPED) else "success"), description


def per_environment(result: SyncResult) -> dict[str, tuple[str, str]]:
    """One (state, description) per environment that any package of the commit deploys to."""
    rows: dict[str, list[DeploymentOutcome]] = {}
    for deployment in _release_rows(result):
        rows.setdefault(deployment.environment, []).append(deployment)
    answer: dict[str, tuple[str, str]] = {}
    for env, deployments in sorted(rows.items()):
        by_status = Counter(d.status for d in deployments)
        parts = ", ".join(sorted(f"{n} {s.value.replace('-', ' ')}" for s, n in by_status.items()))
        if by_status[DeployStatus.FAILED]:
            answer[env] = ("failure", parts)
            continue
        waiting = [d for d in deployments if d.status in NOT_SHIPPED]
        if not waiting:
            answer[env] = ("success", parts)
            continue
        why = next((d.note for d in waiting if d.note), None)
        answer[env] = ("pending", f"{why}: {parts}" if why else parts)
    return answer


def _release_rows(result: SyncResult) -> list[DeploymentOutcome]:
    """The deployments of the commit's release: orphaned rows (packages it no longer holds,
    maybe on a keyset no environment names) are not about this commit."""
    return [
        d
        for outcome in result.outcomes
        for d in outcome.deployments
        if d.status is not DeployStatus.ORPHANED
    ]
