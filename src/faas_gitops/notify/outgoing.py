"""The contract between the notifier (which sends) and the targets (which decide what to send).

A target turns "a sync of this commit started" and "this sync finished with these events" into
``Outgoing`` requests, asking ``claim`` first for every notification it would make, so
de-duplication is the notifier's job and a target stays a pure function of its inputs (and
testable without a network). The notifier then sends each request with retries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from faas_gitops.models import SyncResult
from faas_gitops.notify.events import Event

Claim = Callable[[str], bool]
"""``claim(key)``: True when this notification was not sent to this target before."""

USER_AGENT = "faas-gitops-notify"
_JSON_HEADERS = {"Content-Type": "application/json", "User-Agent": USER_AGENT}


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One HTTP request to make.

    ``shown_url`` is what logs print (the real ``url`` may hold a token); ``order`` names a
    sequence where only the newest matters (a GitHub status context of one commit): a newer
    request with the same ``order`` stops the older one from retrying and is sent after it.
    """

    url: str
    body: bytes
    shown_url: str
    what: str  # for logs: "revision-created", "status success faas-gitops"...
    headers: Mapping[str, str] = field(default_factory=dict)
    order: str | None = None


@dataclass(frozen=True, slots=True)
class Finished:
    """A finished sync as targets see it: its result (``None`` when it raised) and its events."""

    commit: str
    ref: str
    events: Sequence[Event]
    result: SyncResult | None = None
    error: str | None = None  # why it raised, when ``result`` is None


class Target(Protocol):
    """A place notifications go. ``kind`` labels metrics (``webhook``, ``slack``, ``github``)."""

    @property
    def kind(self) -> str: ...

    @property
    def ident(self) -> str:
        """Stable and secret-free: part of every de-duplication key of this target."""
        ...

    def started(
        self, commit: str, ref: str, environments: Sequence[str], claim: Claim
    ) -> list[Outgoing]: ...

    def finished(self, sync: Finished, claim: Claim) -> list[Outgoing]: ...


class PostsJson:
    """A target told about outcomes only, that POSTs JSON to one URL (a webhook, a Slack
    channel): a sync starting is no news to it, and the URL, a credential, is only ever
    shown as ``shown_url`` and told apart by its hash (``ident``)."""

    kind: str

    def __init__(self, url: str, shown_url: str) -> None:
        self._url = url
        self.ident = url_ident(self.kind, url)
        self.shown_url = shown_url

    def started(
        self, commit: str, ref: str, environments: Sequence[str], claim: Claim
    ) -> list[Outgoing]:
        del commit, ref, environments, claim
        return []

    def _post(self, body: bytes, what: str, headers: Mapping[str, str] | None = None) -> Outgoing:
        """The POST of ``body`` (JSON) to this target's URL, with ``headers`` after the usual."""
        return Outgoing(
            url=self._url,
            body=body,
            shown_url=self.shown_url,
            what=what,
            headers={**_JSON_HEADERS, **(headers or {})},
        )


def url_ident(kind: str, url: str) -> str:
    """``kind:<hash>``: tells two targets apart without writing their URL (a secret) anywhere."""
    return f"{kind}:{hashlib.sha256(url.encode()).hexdigest()[:16]}"
