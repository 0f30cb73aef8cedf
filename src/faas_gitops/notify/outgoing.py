"""The contract between the notifier (which sends) and the targets (which decide what to send).

A target turns "a sync of this commit started" and "this sync finished with these events" into
``Outgoing`` requests, asking ``claim`` first for every notification it would make, so
de-duplication is the notifier's job and a target stays a pure function of its inputs (and
testable without a network). The notifier then sends each request with retries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol
from urllib.parse import quote

from faas_gitops.links import commit_link
from faas_gitops.models import SyncResult
from faas_gitops.notify.events import Event
from faas_gitops.state.sent import Queued

Claim = Callable[[str], bool]
"""``claim(key)``: True when this notification was not sent to this target before."""

USER_AGENT = "faas-gitops-notify"
_JSON_HEADERS = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
#: The same for every attempt of one notification, in every run (receivers de-duplicate on it).
DELIVERY_HEADER = "X-Faas-Gitops-Delivery"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One HTTP request to make: ``letter``, what may be kept, and what only this run adds.

    ``letter`` is the request as the outbox keeps it for a later run (body, headers, ids; see
    ``Queued``). Around it this run adds the ``url`` (it may hold a token: logs print
    ``shown_url``) and ``credentials``, headers that prove who sends (a bearer token, a
    webhook's signature). Being separate fields, they cannot reach the state directory: the
    outbox is handed the letter alone, never a copy filtered by header names.

    ``letter.delivery_id`` is the same for every attempt, in this run and in later ones (the
    ``X-Faas-Gitops-Delivery`` header), so a receiver can drop a repeat; ``letter.order`` names
    a sequence where only the newest matters (a GitHub status context of one commit): a newer
    request with the same ``order`` stops the older one from retrying and is sent after it.
    """

    letter: Queued
    url: str
    shown_url: str
    credentials: Mapping[str, str] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        """Every header sent: the letter's, then the credentials."""
        return {**self.letter.headers, **self.credentials}

    def queued(self, now: float) -> Queued:
        """What the outbox keeps of this request: the letter, stamped with when."""
        return replace(self.letter, queued_at=now)


@dataclass(frozen=True, slots=True)
class Links:
    """Where a person reads more: ``--commit-url``'s template and ``--public-url`` (the status
    page, whose ``packages/<path>`` is a package's own page)."""

    commit_template: str | None = None
    page_url: str | None = None

    def commit(self, sha: str) -> str | None:
        """The commit's link (``faas_gitops.links.commit_link``: a git object id only)."""
        return commit_link(self.commit_template, sha)

    def page(self, path: str | None = None) -> str | None:
        """The status page, or the page of the package at ``path`` on it."""
        if self.page_url is None or path is None:
            return self.page_url
        return self.page_url.rstrip("/") + "/packages/" + quote(path, safe="/")

    def stamp(self, event: Event) -> Event:
        """``event`` with its links (both ``None`` when nothing is configured)."""
        return event.linked(commit_url=self.commit(event.commit), page_url=self.page(event.path))


@dataclass(frozen=True, slots=True)
class Finished:
    """A finished sync as targets see it: its result (``None`` when it raised), its events
    (links stamped) and the sync's own links, for a target that writes one message per sync."""

    commit: str
    ref: str
    events: Sequence[Event]
    result: SyncResult | None = None
    error: str | None = None  # why it raised, when ``result`` is None
    commit_url: str | None = None
    page_url: str | None = None


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

    def redeliver(self, queued: Queued) -> Outgoing:
        """The request again, from what an earlier run queued: this target's URL and
        credentials (and a webhook's signature) around the stored body and headers."""
        ...


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

    def _fresh(self, sync: Finished, claim: Claim) -> list[tuple[str, Event]]:
        """The events of ``sync`` this target was not told yet, each with its claimed key (one
        per event and target, so one that was told is never told again)."""
        keyed = ((f"{self.ident}|{event.key}", event) for event in sync.events)
        return [(key, event) for key, event in keyed if claim(key)]

    def _post(
        self,
        body: bytes,
        what: str,
        headers: Mapping[str, str],
        *,
        credentials: Mapping[str, str] | None = None,
    ) -> Outgoing:
        """The POST of ``body`` (JSON) to this target's URL, with ``headers`` (which carry the
        ``DELIVERY_HEADER``) after the usual, and ``credentials`` sent but never kept."""
        merged = {**_JSON_HEADERS, **headers}
        letter = Queued(merged[DELIVERY_HEADER], self.ident, self.kind, what, body, merged)
        return Outgoing(letter, self._url, self.shown_url, credentials or {})

    def redeliver(self, queued: Queued) -> Outgoing:
        return Outgoing(queued, self._url, self.shown_url)


def delivery_id(*keys: str) -> str:
    """The delivery id of the notification claimed under ``keys`` (a Slack message claims one
    key per event): stable across attempts and runs, and secret-free."""
    return hashlib.sha256("\n".join(keys).encode()).hexdigest()[:32]


def url_ident(kind: str, url: str) -> str:
    """``kind:<hash>``: tells two targets apart without writing their URL (a secret) anywhere."""
    return f"{kind}:{hashlib.sha256(url.encode()).hexdigest()[:16]}"
