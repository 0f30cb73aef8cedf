"""GitHub commit statuses: ``pending`` when a sync of a commit starts, then success or failure.

``faas-gitops`` is the sync as a whole; once deployments exist each environment gets its own
context ``faas-gitops/<environment>``, so a branch protection rule can require "staging is
green". A status is claimed by commit + context + state + description: a daemon re-syncing the
same commit every minute posts nothing new until something changes (GitHub keeps at most 1,000
statuses per commit and context).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from urllib.parse import quote

from faas_gitops.errors import ConfigError
from faas_gitops.models import DeployStatus, Status, SyncResult
from faas_gitops.notify.outgoing import USER_AGENT, Claim, Finished, Outgoing
from faas_gitops.notify.secrets import mask_url

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
                environments[env] = (state, description if state == "failure" else "no changes")
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
        if not claim(f"{self.ident}|status|{commit}|{context}|{state}|{description}"):
            return None
        path = (
            f"/repos/{quote(self._owner, safe='')}/{quote(self._name, safe='')}"
            f"/statuses/{quote(commit, safe='')}"
        )
        document = {"state": state, "context": context, "description": description}
        if self._public_url:
            document["target_url"] = self._public_url
        return Outgoing(
            url=self._api_url + path,
            body=json.dumps(document).encode(),
            shown_url=mask_url(self._api_url) + path,
            what=f"status {state} {context}",
            headers={
                "Authorization": f"Bearer {self._token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
            },
            order=f"{self.ident}|{commit}|{context}",
        )


def overall(result: SyncResult) -> tuple[str, str]:
    """State and description of the ``faas-gitops`` context (``2 created, 9 unchanged``)."""
    if result.fatal_error is not None:
        return "failure", f"sync failed: {result.fatal_error}"
    counts = Counter(outcome.status for outcome in result.outcomes)
    order = (Status.CREATED, Status.ADOPTED, Status.WOULD_CREATE, Status.FAILED, Status.UNCHANGED)
    parts = [f"{counts[s]} {s.value.replace('-', ' ')}" for s in order if counts[s]]
    description = ", ".join(parts) or "no packages"
    if result.dry_run:
        description = "dry run: " + description
    state = "failure" if counts[Status.FAILED] else "success"
    return state, description


def per_environment(result: SyncResult) -> dict[str, tuple[str, str]]:
    """One (state, description) per environment that any package deploys to."""
    counts: dict[str, Counter[DeployStatus]] = {}
    for outcome in result.outcomes:
        for deployment in outcome.deployments:
            counts.setdefault(deployment.environment, Counter())[deployment.status] += 1
    answer: dict[str, tuple[str, str]] = {}
    for env, by_status in sorted(counts.items()):
        parts = [f"{n} {s.value.replace('-', ' ')}" for s, n in by_status.items()]
        state = "failure" if by_status[DeployStatus.FAILED] else "success"
        answer[env] = (state, ", ".join(sorted(parts)))
    return answer
